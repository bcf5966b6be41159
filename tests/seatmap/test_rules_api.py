"""Selection rules the server enforces whatever the page does, and the page's own routes, over HTTP."""

from __future__ import annotations

from tests.seatmap.conftest import BoxOffice, hall, make_concert


def test_orphan_seat_refused_by_the_server_all_or_nothing(any_box_office: BoxOffice) -> None:
    concert = make_concert(any_box_office)
    buyer = concert.buyer()
    url = f"/api/sessions/{concert.session_id}/holds"
    refused = buyer.post(url, json={"seats": ["A-2-2", "A-2-3"]})
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "orphan_seat"
    assert "A-2-1" in refused.json()["detail"]
    statuses = concert.statuses()
    assert statuses["A-2-2"] == statuses["A-2-3"] == "available"  # nothing was kept
    # a gap of one inside the pick is refused too
    gap = buyer.post(url, json={"seats": ["A-3-1", "A-3-3"]})
    assert gap.status_code == 409 and gap.json()["code"] == "orphan_seat"
    # from the row's end it is fine, and then the next pair may start right after it
    assert buyer.post(url, json={"seats": ["A-2-1", "A-2-2"]}).status_code == 201
    other = concert.buyer()
    assert other.post(url, json={"seats": ["A-2-3", "A-2-4"]}).status_code == 201
    # next to a held seat, leaving one between is refused for another buyer as well
    assert other.post(url, json={"seats": ["A-2-6", "A-2-7"]}).json()["code"] == "orphan_seat"


def test_unavoidable_orphan_and_best_available_are_allowed(any_box_office: BoxOffice) -> None:
    concert = make_concert(any_box_office, hall(seats=5))
    first, second = concert.buyer(), concert.buyer()
    url = f"/api/sessions/{concert.session_id}/holds"
    assert first.post(url, json={"seats": ["A-4-1"]}).status_code == 201
    assert first.post(url, json={"seats": ["A-4-5"]}).status_code == 201
    # three free seats between taken ones, two wanted: one is always left
    assert second.post(url, json={"seats": ["A-4-2", "A-4-3"]}).status_code == 201
    best = second.post(url, json={"best_available": {"zone": "A", "quantity": 3}})
    assert best.status_code == 201, best.text


def test_box_sells_whole_and_limits_apply(any_box_office: BoxOffice) -> None:
    concert = make_concert(any_box_office, limit_per_account=4)
    buyer = concert.buyer()
    url = f"/api/sessions/{concert.session_id}/holds"
    part = buyer.post(url, json={"seats": ["BOX-1-1", "BOX-1-2"]})
    assert part.status_code == 409 and part.json()["code"] == "box_whole"
    too_many = buyer.post(url, json={"seats": [f"A-3-{n}" for n in range(1, 6)]})
    assert too_many.status_code == 409 and too_many.json()["code"] == "limit_account"
    whole = buyer.post(url, json={"seats": [f"BOX-1-{n}" for n in range(1, 5)]})
    assert whole.status_code == 201, whole.text


def test_seatmap_document_columns(any_box_office: BoxOffice) -> None:
    concert = make_concert(any_box_office)
    buyer = concert.buyer()
    assert (
        buyer.post(f"/api/sessions/{concert.session_id}/holds", json={"seats": ["A-1-1"]}).status_code == 201
    )
    doc = any_box_office.client().get(f"/api/sessions/{concert.session_id}/seatmap").json()
    seats = doc["seats"]
    n = len(seats["label"])
    assert n == 6 * 12 + 4
    assert all(len(seats[k]) == n for k in ("x", "y", "zone", "row", "position"))
    held = seats["label"].index("A-1-1")
    assert [[held, doc["statuses"].index("held")]] == doc["status"]  # sparse: only seats not available
    assert seats["rows"][seats["row"][held]] == ["A", "1"]
    assert doc["zones"][seats["zone"][held]]["code"] == "VIP"
    assert doc["event"]["currency"] == "CNY"
    assert doc["venue"]["stage"] == {"x": 5.5, "y": -3.0}
    assert sorted(seats["boxes"]["B1"]) == [seats["label"].index(f"BOX-1-{k}") for k in range(1, 5)]
    assert [seats["label"][i] for i in seats["accessible"]] == ["A-6-1", "A-6-2"]
    assert doc["ga"][0]["code"] == "FLOOR" and doc["ga"][0]["available"] == 50


def test_page_routes_answer_bad_requests_with_4xx(box_office: BoxOffice) -> None:
    client = box_office.client()
    assert client.get("/api/sessions/999999/seatmap").status_code == 404
    assert client.get("/api/sessions/0/seatmap").status_code == 422
    assert client.get("/api/sessions/abc/seatmap").status_code == 422
    assert client.get("/seatmap/abc").status_code == 422
    missing = client.get("/seatmap/assets/../../config.py")
    assert missing.status_code == 404
    assert client.get("/seatmap/assets/secret.txt").status_code == 404
    page = client.get("/seatmap/7")
    assert page.status_code == 200 and 'data-session="7"' in page.text
    script = client.get("/seatmap/assets/seatmap.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")


def test_seatmap_document_follows_repricing_and_removal(box_office: BoxOffice) -> None:
    """The cached geometry is rebuilt when seats change zone or leave the sale."""
    concert = make_concert(box_office)
    url = f"/api/sessions/{concert.session_id}/seatmap"
    before = box_office.client().get(url).json()
    org = concert.organiser()
    moved = org.post(
        f"/api/sessions/{concert.session_id}/seats/reprice", json={"seats": ["A-2-1"], "zone": "VIP"}
    )
    assert moved.status_code == 200, moved.text
    removed = org.post(f"/api/sessions/{concert.session_id}/seats/remove", json={"seats": ["A-6-12"]})
    assert removed.status_code == 200, removed.text
    blocked = org.post(
        f"/api/sessions/{concert.session_id}/seats/status", json={"seats": ["A-3-3"], "status": "blocked"}
    )
    assert blocked.status_code == 200, blocked.text
    after = box_office.client().get(url).json()
    seats = after["seats"]
    zone_of = {
        label: after["zones"][z]["code"] for label, z in zip(seats["label"], seats["zone"], strict=True)
    }
    assert zone_of["A-2-1"] == "VIP" and before["zones"][before["seats"]["zone"][12]]["code"] == "A"
    assert "A-6-12" not in seats["label"] and len(seats["label"]) == len(before["seats"]["label"]) - 1
    status = {seats["label"][i]: after["statuses"][k] for i, k in after["status"]}
    assert status == {"A-3-3": "blocked"}
