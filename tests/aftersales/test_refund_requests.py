"""Refund requests over HTTP on SQLite and PostgreSQL: the snapshotted policy, preview, approval
within policy, the promoter's queue, reason codes, money back through the sandbox provider, and
concurrent requests that can never refund more than was paid."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import sqlalchemy as sa

from tests.box_office.conftest import Server
from tests.box_office.helpers import Concert, buy

CHINA = {
    "tiers": [{"hours_before": 720, "percent": 80}, {"hours_before": 12, "percent": 70}],
    "grace_hours": 0,
    "cutoff_hours": 6,
    "fee_cents": 500,
    "scope": "ticket",
    "once_per_account": False,
}


def money(server: Server, order_id: int) -> tuple[int, int, list[str]]:
    """(paid, refunded at the sandbox bank, refund rows' statuses) read from the database."""
    engine = sa.create_engine(server.settings.database_url)
    try:
        with engine.connect() as conn:
            paid, ref = conn.execute(
                sa.text("SELECT amount_cents, provider_ref FROM payments WHERE order_id = :o"),
                {"o": order_id},
            ).one()
            bank = conn.execute(
                sa.text("SELECT refunded_cents FROM sandbox_payments WHERE ref = :r"), {"r": ref}
            ).scalar_one()
            rows = conn.execute(
                sa.text("SELECT status FROM refunds WHERE order_id = :o ORDER BY id"), {"o": order_id}
            ).scalars()
            return int(paid), int(bank), list(rows)
    finally:
        engine.dispose()


def concert_with(server: Server, policy: dict[str, Any]) -> Concert:
    concert = Concert(server)
    set_ = concert.org.put(f"/api/events/{concert.event_id}/refund-policy", json=policy)
    assert set_.status_code == 200, set_.text
    return concert


def test_policy_is_snapshotted_on_the_order_and_shown_before_paying(server: Server) -> None:
    concert = concert_with(server, CHINA)
    public = server.client().get(f"/api/events/{concert.event_id}/refund-policy")
    assert public.status_code == 200 and public.json()["policy"]["tiers"][0] == {
        "hours_before": 720.0,
        "percent": 80,
    }
    buyer = concert.buyer()
    held = buyer.post(f"/api/sessions/{concert.session_id}/holds", json={"seats": ["A-2-1"]}).json()
    made = buyer.post(
        "/api/orders",
        json={"hold_id": held["id"], "email": "a@example.test"},
        headers={"Idempotency-Key": "k1"},
    )
    assert made.status_code == 201 and made.json()["refund_policy"]["fee_cents"] == 500  # before paying
    # the promoter changes the terms: the order keeps the ones it was bought under
    changed = CHINA | {"fee_cents": 9000}
    assert concert.org.put(f"/api/events/{concert.event_id}/refund-policy", json=changed).status_code == 200
    assert buyer.get(f"/api/orders/{made.json()['id']}").json()["refund_policy"]["fee_cents"] == 500
    # another promoter cannot touch this event's policy; nonsense terms are a 422
    other = Concert(server)
    assert other.org.put(f"/api/events/{concert.event_id}/refund-policy", json=CHINA).status_code == 403
    bad = CHINA | {"tiers": [{"hours_before": 1, "percent": 90}, {"hours_before": 10, "percent": 50}]}
    refused = concert.org.put(f"/api/events/{concert.event_id}/refund-policy", json=bad)
    assert refused.status_code == 422 and refused.json()["code"] == "bad_policy"


def test_preview_then_per_ticket_refunds_within_policy(server: Server) -> None:
    concert = concert_with(server, CHINA)  # the show is 24 h away: the 70 % tier
    buyer = concert.buyer()
    done = buy(concert, buyer, seats=["A-3-1", "A-3-2"])
    first, second = (t["id"] for t in done["tickets"])
    preview = buyer.get(f"/api/orders/{done['id']}/refund-preview", params={"ticket": first})
    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert (body["percent"], body["fee_cents"], body["amount_cents"]) == (70, 500, 20000 * 70 // 100 - 500)
    assert body["within_policy"] and body["reason"] is None and body["ticket_ids"] == [first]
    assert concert.buyer().get(f"/api/orders/{done['id']}/refund-preview").status_code == 403

    made = buyer.post(f"/api/orders/{done['id']}/refund-requests", json={"ticket_ids": [first]})
    assert made.status_code == 201, made.text
    assert made.json()["status"] == "approved" and made.json()["amount_cents"] == 13500
    assert made.json()["refunds"] == [
        {"refund_no": f"R{done['id']}-1", "amount_cents": 13500, "provider": "sandbox", "status": "succeeded"}
    ]
    order = buyer.get(f"/api/orders/{done['id']}").json()
    assert order["status"] == "ticketed"
    assert {t["id"]: t["status"] for t in order["tickets"]} == {first: "revoked", second: "valid"}
    # the refunded seat is on sale again, the other one is not
    seats = {
        s["label"]: s["status"]
        for s in server.client().get(f"/api/sessions/{concert.session_id}").json()["seats"]
    }
    assert seats["A-3-1"] == "available" and seats["A-3-2"] == "sold"
    again = buyer.post(f"/api/orders/{done['id']}/refund-requests", json={"ticket_ids": [first]})
    assert again.status_code == 409 and again.json()["code"] == "nothing_to_refund"
    # the old whole-order cancel no longer applies to a partly refunded order
    assert buyer.post(f"/api/orders/{done['id']}/cancel").json()["code"] == "has_refund_requests"

    rest = buyer.post(f"/api/orders/{done['id']}/refund-requests", json={})
    assert rest.status_code == 201 and rest.json()["ticket_ids"] == [second]
    order = buyer.get(f"/api/orders/{done['id']}").json()
    assert order["status"] == "refunded"
    assert money(server, done["id"]) == (40000, 27000, ["succeeded", "succeeded"])


def test_outside_policy_goes_to_the_promoters_queue(server: Server) -> None:
    late = CHINA | {"cutoff_hours": 48}  # the show is 24 h away: past the deadline
    concert = concert_with(server, late)
    buyer = concert.buyer()
    done = buy(concert, buyer, seats=["A-1-1"])
    preview = buyer.get(f"/api/orders/{done['id']}/refund-preview").json()
    assert (preview["reason"], preview["needs_approval"], preview["amount_cents"]) == (
        "past_deadline",
        True,
        0,
    )
    asked = buyer.post(f"/api/orders/{done['id']}/refund-requests", json={})
    assert asked.status_code == 201 and asked.json()["status"] == "pending_approval"
    assert asked.json()["reason"] == "past_deadline" and asked.json()["refunds"] == []
    # the ticket still admits while the promoter decides
    assert buyer.get(f"/api/orders/{done['id']}").json()["tickets"][0]["status"] == "valid"

    queue = concert.org.get(f"/api/events/{concert.event_id}/refund-requests").json()
    assert [r["id"] for r in queue] == [asked.json()["id"]]
    other = Concert(server)
    assert other.org.get(f"/api/events/{concert.event_id}/refund-requests").status_code == 403
    assert other.org.post(f"/api/refund-requests/{asked.json()['id']}/approve", json={}).status_code == 403

    approved = concert.org.post(f"/api/refund-requests/{asked.json()['id']}/approve", json={"percent": 50})
    assert approved.status_code == 200, approved.text
    assert (approved.json()["status"], approved.json()["amount_cents"]) == ("approved", 25000)
    assert approved.json()["basis"] == "exception"
    twice = concert.org.post(f"/api/refund-requests/{asked.json()['id']}/deny", json={})
    assert twice.status_code == 409 and twice.json()["code"] == "already_decided"
    assert money(server, done["id"]) == (50000, 25000, ["succeeded"])
    assert buyer.get(f"/api/orders/{done['id']}").json()["status"] == "refunded"

    # denied: the ticket stays valid, and the buyer sees why
    done2 = buy(concert, buyer, seats=["A-1-2"])
    asked2 = buyer.post(f"/api/orders/{done2['id']}/refund-requests", json={}).json()
    denied = concert.org.post(f"/api/refund-requests/{asked2['id']}/deny", json={"note": "no exceptions"})
    assert denied.json()["status"] == "denied"
    seen = buyer.get(f"/api/refund-requests/{asked2['id']}").json()
    assert (seen["status"], seen["note"]) == ("denied", "no exceptions")
    assert buyer.get(f"/api/orders/{done2['id']}").json()["tickets"][0]["status"] == "valid"


def test_entered_ticket_is_refused_and_one_right_per_account(server: Server) -> None:
    concert = concert_with(server, CHINA | {"once_per_account": True})
    buyer = concert.buyer()
    done = buy(concert, buyer, seats=["A-2-5"])
    feed = concert.feed_client()
    scan = {
        "scan_id": f"s-{done['id']}",
        "ticket_id": done["tickets"][0]["id"],
        "gate": "n1",
        "scanned_at": time.time(),
    }
    assert feed.post("/api/feed/checkins", json={"checkins": [scan]}).status_code == 200
    refused = buyer.post(f"/api/orders/{done['id']}/refund-requests", json={})
    assert refused.status_code == 409 and refused.json()["code"] == "entered"

    first = buy(concert, buyer, seats=["A-2-6"])
    assert buyer.post(f"/api/orders/{first['id']}/refund-requests", json={}).json()["status"] == "approved"
    second = buy(concert, buyer, seats=["A-2-7"])
    used = buyer.post(f"/api/orders/{second['id']}/refund-requests", json={}).json()
    assert (used["status"], used["reason"]) == ("pending_approval", "refund_right_used")


def test_concurrent_requests_never_refund_more_than_paid(server: Server) -> None:
    concert = concert_with(server, CHINA | {"fee_cents": 0, "tiers": [{"hours_before": 0, "percent": 100}]})
    buyer = concert.buyer()
    done = buy(concert, buyer, seats=["A-1-3", "A-1-4", "A-1-5", "A-1-6"])
    ids = [t["id"] for t in done["tickets"]]

    def ask(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        client = server.client(buyer.headers["Authorization"].split()[1])
        response = client.post(f"/api/orders/{done['id']}/refund-requests", json=body)
        return response.status_code, response.json()

    # 12 requests at once: whole order, single tickets, pairs; overlapping on every ticket
    bodies = [{}, {}, {}] + [{"ticket_ids": [t]} for t in ids] * 2 + [{"ticket_ids": ids[:2]}]
    with ThreadPoolExecutor(len(bodies)) as pool:
        results = list(pool.map(ask, bodies))
    won = [body for code, body in results if code == 201]
    assert all(code in (201, 409) for code, _ in results), results
    assert all(
        body["code"] in ("nothing_to_refund", "already_refunded") for code, body in results if code == 409
    )
    refunded = [t for body in won for t in body["ticket_ids"]]
    assert sorted(refunded) == sorted(ids)  # every ticket refunded exactly once
    paid, bank, rows = money(server, done["id"])
    assert paid == 50000 * 4 and bank == paid and rows == ["succeeded"] * len(won)
    assert sum(body["amount_cents"] for body in won) == paid
    assert buyer.get(f"/api/orders/{done['id']}").json()["status"] == "refunded"
