"""Holds over HTTP: expiry without a sweeper, the sweeper, extension, all-or-nothing groups,
best available, boxes, GA stock, and the live seat-status channel."""

from __future__ import annotations

import json
import threading
import time

import httpx

from box_office.context import Context
from box_office.sales.sweeper import sweep_holds
from tests.box_office.conftest import Server
from tests.box_office.helpers import Concert, grid, hold, order


def seat_status(server: Server, session_id: int) -> dict[str, str]:
    data = server.client().get(f"/api/sessions/{session_id}").json()
    return {s["label"]: s["status"] for s in data["seats"]}


def test_expired_hold_is_free_without_any_sweeper(server: Server) -> None:
    concert = Concert(server, session={"hold_seconds": 1})
    first, second = concert.buyer(), concert.buyer()
    held = hold(first, concert.session_id, seats=["A-3-1"], ga=[{"area": "FLOOR", "quantity": 20}])
    assert held.status_code == 201, held.text
    assert hold(second, concert.session_id, seats=["A-3-1"]).status_code == 409
    assert (
        hold(second, concert.session_id, ga=[{"area": "FLOOR", "quantity": 1}]).json()["code"] == "sold_out"
    )
    time.sleep(1.3)  # the server's sweeper runs hourly in tests: nothing reset these rows
    assert seat_status(server, concert.session_id)["A-3-1"] == "available"
    again = hold(second, concert.session_id, seats=["A-3-1"], ga=[{"area": "FLOOR", "quantity": 20}])
    assert again.status_code == 201, again.text
    late = order(first, held.json()["id"])
    assert late.status_code == 409 and late.json()["code"] == "hold_expired"


def test_sweeper_closes_expired_holds(server: Server) -> None:
    concert = Concert(server, session={"hold_seconds": 1})
    buyer = concert.buyer()
    held = hold(buyer, concert.session_id, seats=["A-3-5"], ga=[{"area": "FLOOR", "quantity": 3}]).json()
    time.sleep(1.2)
    ctx = Context.from_settings(server.settings)
    try:
        assert sweep_holds(ctx) >= 1
    finally:
        ctx.db.dispose()
    assert buyer.get(f"/api/holds/{held['id']}").json()["status"] == "expired"
    ga = server.client().get(f"/api/sessions/{concert.session_id}").json()["ga"][0]
    assert ga["held"] == 0 and ga["available"] == 20


def test_hold_extends_once(server: Server) -> None:
    concert = Concert(server)
    buyer = concert.buyer()
    held = hold(buyer, concert.session_id, seats=["A-2-9"]).json()
    extended = buyer.post(f"/api/holds/{held['id']}/extend")
    assert extended.status_code == 200 and extended.json()["expires_at"] >= held["expires_at"]
    again = buyer.post(f"/api/holds/{held['id']}/extend")
    assert again.status_code == 409 and again.json()["code"] == "already_extended"


def test_group_hold_is_all_or_nothing(server: Server) -> None:
    concert = Concert(server)
    first, second = concert.buyer(), concert.buyer()
    assert hold(first, concert.session_id, seats=["A-3-2"]).status_code == 201
    refused = hold(second, concert.session_id, seats=["A-3-3", "A-3-2", "A-3-4"])
    assert refused.status_code == 409 and "A-3-2" in refused.json()["detail"]
    status = seat_status(server, concert.session_id)
    assert status["A-3-3"] == "available" and status["A-3-4"] == "available"


def test_unknown_seat_and_release(server: Server) -> None:
    concert = Concert(server)
    buyer = concert.buyer()
    assert hold(buyer, concert.session_id, seats=["Z-9-9"]).status_code == 404
    held = hold(buyer, concert.session_id, seats=["A-2-5"]).json()
    assert buyer.delete(f"/api/holds/{held['id']}").json()["status"] == "released"
    assert seat_status(server, concert.session_id)["A-2-5"] == "available"
    other = concert.buyer()
    assert other.get(f"/api/holds/{held['id']}").status_code == 403


def test_best_available_adjacent_nearest_stage(server: Server) -> None:
    concert = Concert(server)
    buyer = concert.buyer()
    # Row 1 is VIP; take its middle so the best block is on one side without orphans.
    assert hold(buyer, concert.session_id, seats=["A-1-4", "A-1-5", "A-1-6"]).status_code == 201
    best = hold(buyer, concert.session_id, best_available={"zone": "VIP", "quantity": 3}).json()
    labels = [s["label"] for s in best["seats"]]
    numbers = sorted(int(label.rsplit("-", 1)[1]) for label in labels)
    assert all(label.startswith("A-1-") for label in labels)
    assert numbers == list(range(numbers[0], numbers[0] + 3))
    assert numbers == [1, 2, 3]  # 7-9 or 8-10 would strand a single seat
    best_a = hold(buyer, concert.session_id, best_available={"zone": "A", "quantity": 4}).json()
    assert all(s["label"].startswith("A-2-") for s in best_a["seats"])  # row 2 is nearest in zone A
    too_many = hold(buyer, concert.session_id, best_available={"zone": "VIP", "quantity": 5})
    assert too_many.status_code == 409 and too_many.json()["code"] == "sold_out"


def test_box_sells_all_or_nothing(server: Server) -> None:
    concert = Concert(server, layout=grid(ga=0, box=True))
    buyer = concert.buyer()
    part = hold(buyer, concert.session_id, seats=["BOX-1-1", "BOX-1-2"])
    assert part.status_code == 409 and part.json()["code"] == "box_whole"
    whole = hold(buyer, concert.session_id, seats=[f"BOX-1-{n}" for n in range(1, 5)])
    assert whole.status_code == 201, whole.text
    made = order(buyer, whole.json()["id"])
    assert made.status_code == 201, made.text
    assert made.json()["total_cents"] == 4 * 100000
    assert {t["ticket_type"] for t in made.json()["tickets"]} == {"box"}


def test_bad_hold_requests_get_4xx(server: Server) -> None:
    concert = Concert(server)
    buyer = concert.buyer()
    assert hold(buyer, concert.session_id).status_code == 422
    assert hold(buyer, concert.session_id, seats=["A-2-1", "A-2-1"]).status_code == 422
    assert hold(buyer, 999999, seats=["A-2-1"]).status_code == 404
    assert buyer.post(f"/api/sessions/{concert.session_id}/holds", content=b"{not json").status_code == 422
    assert (
        server.client()
        .post(f"/api/sessions/{concert.session_id}/holds", json={"seats": ["A-2-1"]})
        .status_code
        == 401
    )
    assert hold(buyer, concert.session_id, ga=[{"area": "NOPE", "quantity": 1}]).status_code == 404


def test_sale_window_is_enforced(server: Server) -> None:
    concert = Concert(server, session={"sale_starts_at": time.time() + 3600})
    refused = hold(concert.buyer(), concert.session_id, seats=["A-2-1"])
    assert refused.status_code == 409 and refused.json()["code"] == "sale_not_started"


def test_live_channel_pushes_changes(server: Server) -> None:
    """Push latency is measured in bench/, not asserted here (no timing assertions in tests)."""
    concert = Concert(server, session={"hold_seconds": 4})
    events: list[tuple[str, dict[str, object], float]] = []
    ready = threading.Event()

    def listen() -> None:
        with httpx.stream(
            "GET", f"{server.url}/api/sessions/{concert.session_id}/live", timeout=10
        ) as response:
            name = ""
            for line in response.iter_lines():
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: "):
                    events.append((name, json.loads(line[6:]), time.monotonic()))
                    if name == "snapshot":
                        ready.set()
                    if sum(1 for e in events if e[0] == "seats") >= 2:
                        return

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    assert ready.wait(10)
    buyer = concert.buyer()
    assert hold(buyer, concert.session_id, seats=["A-3-7"]).status_code == 201
    thread.join(timeout=30)
    seats = [data for name, data, _ in events if name == "seats"]
    assert seats and seats[0] == {"A-3-7": "held"}
    assert len(seats) == 2 and seats[1] == {"A-3-7": "available"}  # the hold ran out: pushed too
