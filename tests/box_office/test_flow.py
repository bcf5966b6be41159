"""End to end over HTTP: set up a concert, hold, order, pay through the sandbox, get tickets."""

from __future__ import annotations

import time

from tests.box_office.conftest import Server
from tests.box_office.helpers import Concert, buy
from ticket_format import Keyring, verify


def test_buy_seats_and_ga_and_receive_signed_tickets(server: Server) -> None:
    concert = Concert(server)
    buyer = concert.buyer(phone="+8613800000000")
    done = buy(concert, buyer, seats=["A-2-1", "A-2-2"], ga=[{"area": "FLOOR", "quantity": 1}])
    assert done["total_cents"] == 20000 * 2 + 15000
    assert {t["seat"] for t in done["tickets"]} == {"A-2-1", "A-2-2", None}
    feed = concert.feed_client()
    ring = Keyring.from_json(feed.get("/api/feed/keyring").json()["keyring"])
    for ticket in done["tickets"]:
        claims = verify(ticket["token"], ring, now=time.time() + 86400)
        assert claims.ticket_id == ticket["id"]
        assert claims.seat == ticket["seat"]
        assert claims.zone == ticket["zone"]
    seat_map = server.client().get(f"/api/sessions/{concert.session_id}").json()
    status = {s["label"]: s["status"] for s in seat_map["seats"]}
    assert status["A-2-1"] == "sold" and status["A-2-3"] == "available"
    assert seat_map["ga"][0]["sold"] == 1
