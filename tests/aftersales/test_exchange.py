"""Exchanges over HTTP on SQLite and PostgreSQL: the ticket moves seat, is re-issued at a higher
version (the feed tells the gates, which refuse lower versions: contract 5), the cheaper seat's
difference goes back through the provider with a 红字 credit; a dearer seat is refused."""

from __future__ import annotations

from typing import Any

from tests.aftersales.test_refund_requests import money
from tests.box_office.conftest import Server
from tests.box_office.helpers import Concert, buy


def seats(server: Server, session_id: int) -> dict[str, str]:
    return {
        s["label"]: s["status"] for s in server.client().get(f"/api/sessions/{session_id}").json()["seats"]
    }


def feed_for(concert: Concert, ticket_id: str) -> list[dict[str, Any]]:
    entries = concert.feed_client().get("/api/feed").json()["entries"]
    return [e for e in entries if e["ticket"]["ticket_id"] == ticket_id]


def test_exchange_to_a_cheaper_seat_reissues_and_refunds_the_difference(server: Server) -> None:
    concert = Concert(server)
    buyer = concert.buyer()
    done = buy(concert, buyer, seats=["A-1-2"])  # row 1 is VIP: 500.00
    ticket = done["tickets"][0]
    invoice = buyer.post(
        f"/api/orders/{done['id']}/invoice",
        json={"title_type": "individual", "title": "张三", "email": "z@example.test"},
    )
    assert invoice.status_code == 201, invoice.text

    dearer = concert.buyer()
    other = buy(concert, dearer, seats=["A-3-1"])
    refused = dearer.post(f"/api/tickets/{other['tickets'][0]['id']}/exchange", json={"seat": "A-1-9"})
    assert refused.status_code == 409 and refused.json()["code"] == "top_up_required"
    assert seats(server, concert.session_id)["A-1-9"] == "available"  # nothing was kept
    assert (
        concert.buyer().post(f"/api/tickets/{ticket['id']}/exchange", json={"seat": "A-3-9"}).status_code
        == 403
    )
    taken = buyer.post(f"/api/tickets/{ticket['id']}/exchange", json={"seat": "A-3-1"})
    assert taken.status_code == 409 and taken.json()["code"] == "seat_unavailable"

    moved = buyer.post(f"/api/tickets/{ticket['id']}/exchange", json={"seat": "A-3-9"})
    assert moved.status_code == 200, moved.text
    body = moved.json()
    assert (body["old_seat"], body["seat"], body["version"], body["refunded_cents"]) == (
        "A-1-2",
        "A-3-9",
        2,
        30000,
    )
    assert body["refund"]["refunds"][0]["status"] == "succeeded"
    now_seats = seats(server, concert.session_id)
    assert now_seats["A-1-2"] == "available" and now_seats["A-3-9"] == "sold"

    fresh = buyer.get(f"/api/tickets/{ticket['id']}").json()
    assert (fresh["version"], fresh["seat"], fresh["zone"], fresh["price_cents"]) == (2, "A-3-9", "A", 20000)
    assert fresh["token"] and fresh["token"] != ticket["token"]
    # the gates learn the new version from the feed (and so refuse version 1)
    entries = feed_for(concert, ticket["id"])
    assert entries[-1]["kind"] == "changed"
    assert (entries[-1]["ticket"]["version"], entries[-1]["ticket"]["seat"]) == (2, "A-3-9")
    assert money(server, done["id"]) == (50000, 30000, ["succeeded"])
    listed = buyer.get(f"/api/orders/{done['id']}/invoices").json()
    assert [(i["kind"], i["amount_cents"], i["reason"]) for i in listed] == [
        ("blue", 50000, None),
        ("red", -30000, "sales_discount"),
    ]
    # still refundable afterwards, for what is left
    rest = buyer.post(f"/api/orders/{done['id']}/refund-requests", json={})
    assert rest.status_code == 201 and rest.json()["amount_cents"] == 20000
    assert money(server, done["id"]) == (50000, 50000, ["succeeded", "succeeded"])
