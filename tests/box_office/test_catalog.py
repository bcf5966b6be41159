"""Catalog over HTTP: seat-map import/export (JSON and CSV), and safe changes after on-sale."""

from __future__ import annotations

from tests.box_office.conftest import Server
from tests.box_office.helpers import Concert, buy, grid, hold


def test_layout_import_export_json_and_csv(server: Server) -> None:
    concert = Concert(server)
    layout = grid(sections=2, rows=2, seats=3, ga=50)
    layout["sections"][0]["rows"][0]["seats"][0]["accessible"] = True
    made = concert.org.post("/api/venues", json=layout)
    assert made.status_code == 201 and made.json()["seats"] == 12
    venue = made.json()["id"]
    exported = concert.org.get(f"/api/venues/{venue}/layout").json()
    assert exported["sections"][0]["rows"][0]["seats"][0]["accessible"] is True
    assert exported["ga_areas"] == [{"code": "FLOOR", "name": "Floor", "capacity": 50}]
    csv_text = concert.org.get(f"/api/venues/{venue}/layout.csv").text
    assert csv_text.startswith("section,row,number")
    again = concert.org.post(
        "/api/venues/csv",
        params={"name": "Copy"},
        content=csv_text.encode(),
        headers={"content-type": "text/csv"},
    )
    assert again.status_code == 201, again.text
    copy = concert.org.get(f"/api/venues/{again.json()['id']}/layout").json()
    assert copy["sections"] == exported["sections"] and copy["ga_areas"] == exported["ga_areas"]
    bad = concert.org.post("/api/venues/csv", content=b"section,row,number,x\nA,1,1,left\n")
    assert bad.status_code == 422 and "line 2" in bad.json()["detail"]
    assert concert.org.post("/api/venues", json={"sections": "nope"}).status_code == 422
    assert server.client().post("/api/venues", json=layout).status_code == 401
    stranger = server.client(server.client().post("/api/organisers", json={"name": "Other"}).json()["token"])
    assert stranger.get(f"/api/venues/{venue}/layout").status_code == 403


def test_safe_changes_after_on_sale(server: Server) -> None:
    concert = Concert(server)
    buyer = concert.buyer()
    buy(concert, buyer, seats=["A-2-1"], ga=[{"area": "FLOOR", "quantity": 5}])
    assert hold(buyer, concert.session_id, ga=[{"area": "FLOOR", "quantity": 3}]).status_code == 201
    base = f"/api/sessions/{concert.session_id}"
    removed = concert.org.post(f"{base}/seats/remove", json={"seats": ["A-2-1", "A-2-2"]})
    assert removed.status_code == 409 and "A-2-1" in removed.json()["detail"]
    assert concert.org.post(f"{base}/seats/remove", json={"seats": ["A-2-2"]}).json() == {"removed": 1}
    repriced = concert.org.post(f"{base}/seats/reprice", json={"seats": ["A-2-3"], "zone": "VIP"})
    assert repriced.json() == {"repriced": 1}
    assert (
        concert.org.post(f"{base}/seats/reprice", json={"seats": ["A-2-1"], "zone": "VIP"}).status_code == 409
    )
    seats = {s["label"]: s for s in server.client().get(base).json()["seats"]}
    assert "A-2-2" not in seats and seats["A-2-3"]["zone"] == "VIP" and seats["A-2-1"]["zone"] == "A"
    reserved = concert.org.post(
        f"{base}/seats/status", json={"seats": ["A-3-1", "A-3-2"], "status": "reserved"}
    )
    assert reserved.json() == {"changed": 2}
    assert hold(buyer, concert.session_id, seats=["A-3-1"]).status_code == 409
    lowered = concert.org.put(f"{base}/ga/FLOOR", json={"capacity": 7})
    assert lowered.status_code == 409 and "5 sold and 3 held" in lowered.json()["detail"]
    assert concert.org.put(f"{base}/ga/FLOOR", json={"capacity": 8}).json()["capacity"] == 8
    assert concert.org.put(f"{base}/ga/FLOOR", json={"capacity": 21}).status_code == 409  # the area holds 20
    assert concert.org.put(f"{base}/ga/NOPE", json={"capacity": 1}).status_code == 404


def test_demo_concert_in_one_call(server: Server) -> None:
    org = server.client(server.client().post("/api/organisers", json={"name": "Demo"}).json()["token"])
    demo = org.post("/api/demo", json={"sections": 2, "rows": 4, "seats_per_row": 5, "ga_capacity": 30})
    assert demo.status_code == 201, demo.text
    seat_map = server.client().get(f"/api/sessions/{demo.json()['session_id']}").json()
    assert len(seat_map["seats"]) == 40 and seat_map["ga"][0]["available"] == 30
    assert {s["zone"] for s in seat_map["seats"]} == {"VIP", "A"}
    feed = server.client(demo.json()["feed_token"])
    # The token reads this event's feed (nothing sold yet) and its keys, and is nothing more.
    entries = feed.get("/api/feed")
    assert entries.status_code == 200 and entries.json()["entries"] == [], entries.text
    keyring = feed.get("/api/feed/keyring")
    assert keyring.status_code == 200 and keyring.json()["identity_key"], keyring.text
    assert server.client("not-a-feed-token").get("/api/feed").status_code == 401
    assert feed.post("/api/events", json={}).status_code in (401, 403)
