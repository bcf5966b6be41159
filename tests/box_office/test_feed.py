"""The venue feed (contract 5): authenticated, ordered by cursor, paged; check-ins back, idempotent."""

from __future__ import annotations

import time

from tests.box_office.conftest import Server
from tests.box_office.helpers import Concert, buy
from wire.venue_feed import parse_page


def test_feed_is_ordered_paged_and_authenticated(server: Server) -> None:
    concert = Concert(server)
    buyer = concert.buyer()
    buy(concert, buyer, seats=["A-2-1", "A-2-2", "A-2-3"])
    buy(concert, buyer, ga=[{"area": "FLOOR", "quantity": 2}])
    feed = concert.feed_client()
    assert server.client().get("/api/feed").status_code == 401
    assert server.client("wrong").get("/api/feed").status_code == 401
    seen = []
    cursor = 0
    while True:
        page = parse_page(feed.get("/api/feed", params={"after": cursor, "limit": 2}).json())
        seen.extend(page.entries)
        cursor = page.next_cursor
        if not page.has_more:
            break
    assert len(seen) == 5 and [e.kind for e in seen] == ["issued"] * 5
    cursors = [e.cursor for e in seen]
    assert cursors == sorted(cursors) and len(set(cursors)) == 5
    assert {e.ticket.event_id for e in seen} == {concert.event_id}
    assert sum(1 for e in seen if e.ticket.seat is None) == 2
    assert feed.get("/api/feed", params={"after": cursor}).json()["entries"] == []
    # Another event's feed client sees none of this event's tickets.
    other = Concert(server).feed_client()
    assert other.get("/api/feed").json()["entries"] == []


def test_checkins_are_idempotent_and_shown_on_the_ticket(server: Server) -> None:
    concert = Concert(server)
    buyer = concert.buyer()
    ticket = buy(concert, buyer, seats=["A-3-5"])["tickets"][0]
    feed = concert.feed_client()
    at = time.time()
    batch = {
        "checkins": [
            {
                "scan_id": "s-1",
                "ticket_id": ticket["id"],
                "gate": "east-2",
                "scanned_at": at,
                "device_id": "pi-7",
            },
            {"scan_id": "s-2", "ticket_id": "not-a-ticket", "gate": "east-2", "scanned_at": at},
        ]
    }
    first = feed.post("/api/feed/checkins", json=batch).json()
    assert first == {"accepted": ["s-1"], "duplicates": [], "unknown_tickets": ["s-2"]}
    second = feed.post("/api/feed/checkins", json=batch).json()
    assert second["accepted"] == [] and second["duplicates"] == ["s-1"]
    shown = buyer.get(f"/api/tickets/{ticket['id']}").json()
    assert shown["checked_in_gate"] == "east-2" and shown["inside"] is True
    assert [c["scan_id"] for c in shown["checkins"]] == ["s-1"]
    out = {
        "scan_id": "s-3",
        "ticket_id": ticket["id"],
        "gate": "east-2",
        "direction": "out",
        "scanned_at": at + 60,
    }
    feed.post("/api/feed/checkins", json={"checkins": [out]})
    assert buyer.get(f"/api/tickets/{ticket['id']}").json()["inside"] is False
    assert feed.post("/api/feed/checkins", json={"checkins": []}).status_code == 422
    assert feed.post("/api/feed/checkins", json={"checkins": [{"scan_id": "x"}]}).status_code == 422
