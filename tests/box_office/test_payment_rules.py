"""Payment settlement rules seen from outside: a notification must match the payment in amount
AND currency, and money that arrives after the hold was lost goes back to the buyer.

Black-box over HTTP against a real box office (SQLite and PostgreSQL); the only look inside
is one UPDATE that makes the hold lapse while its order is still open, which no HTTP call can
do without waiting for a real clock."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
from sqlalchemy import text

from box_office.payments.sandbox.client import signed_headers
from box_office.store.db import Database
from tests.box_office.conftest import Server
from tests.box_office.helpers import Concert, buy, hold, order, wait_status


def _notification(server: Server, ref: str, **fields: Any) -> httpx.Response:
    body = json.dumps(
        {"ref": ref, "merchant_order": "x", "status": "paid", "currency": "CNY"} | fields
    ).encode()
    return httpx.post(
        f"{server.url}/api/payments/sandbox/notify",
        content=body,
        headers=signed_headers(server.settings.sandbox_secret, body),
        timeout=30,
    )


def _open_payment(concert: Concert, buyer: httpx.Client, seat: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """An order with a started sandbox payment; the order view carries its ``hold_id``."""
    held = hold(buyer, concert.session_id, seats=[seat])
    assert held.status_code == 201, held.text
    made = order(buyer, held.json()["id"])
    assert made.status_code == 201, made.text
    payment = buyer.post(f"/api/orders/{made.json()['id']}/payments", json={"provider": "sandbox"})
    assert payment.status_code == 201, payment.text
    return made.json() | {"hold_id": held.json()["id"]}, payment.json()


def test_wrong_currency_notification_is_refused_and_the_order_stays_unpaid(server: Server) -> None:
    concert = Concert(server)
    buyer = concert.buyer()
    made, payment = _open_payment(concert, buyer, "A-1-1")
    ref = payment["pay_url"].rsplit("/", 1)[1].split("?", 1)[0]
    assert payment["currency"] == "CNY"
    # The right number of cents, in another currency: as much "money" as a token.
    dollars = _notification(server, ref, notify_id="usd-1", amount_cents=made["total_cents"], currency="USD")
    # refused before settle: the sandbox client checks it against the bank's own record
    assert dollars.status_code == 401, dollars.text
    assert dollars.json()["code"] == "bad_notification"
    now = buyer.get(f"/api/orders/{made['id']}").json()
    assert now["status"] == "pending_payment"
    assert [p["status"] for p in now["payments"]] == ["created"]
    # Paid for real at the bank, in the right currency: the order settles.
    paid = httpx.post(payment["pay_url"], timeout=30)
    assert paid.status_code == 200, paid.text
    assert wait_status(buyer, made["id"], "ticketed")["status"] == "ticketed"


def _wait_payment(buyer: httpx.Client, order_id: int, wanted: str) -> dict[str, Any]:
    """The order once its payment reached ``wanted`` (the refund follows the notification's
    answer), or as it stands after 30 s: a guard against a hang, not a timing assertion."""
    deadline = time.monotonic() + 30
    while True:
        current: dict[str, Any] = buyer.get(f"/api/orders/{order_id}").json()
        if [p["status"] for p in current["payments"]] == [wanted] or time.monotonic() > deadline:
            return current
        time.sleep(0.05)


def _lapse_hold(server: Server, hold_id: int) -> None:
    """The hold's time runs out while its order is still open (as when a sweeper or another
    worker reclaimed the seats between the order and the payment)."""
    db = Database(server.settings.database_url)
    try:
        with db.engine.begin() as conn:
            conn.execute(
                text("UPDATE holds SET expires_at = :past WHERE id = :id"),
                {"past": time.time() - 60, "id": hold_id},
            )
            conn.execute(
                text("UPDATE session_seats SET hold_expires_at = :past WHERE hold_id = :id"),
                {"past": time.time() - 60, "id": hold_id},
            )
    finally:
        db.dispose()


def test_payment_after_the_hold_was_lost_is_refunded(server: Server) -> None:
    concert = Concert(server)
    late, quick = concert.buyer(), concert.buyer()
    made, payment = _open_payment(concert, late, "A-1-2")
    _lapse_hold(server, made["hold_id"])
    assert late.get(f"/api/orders/{made['id']}").json()["status"] == "pending_payment"
    # Another buyer takes the seat the lapsed hold no longer protects ...
    sold = buy(concert, quick, seats=["A-1-2"])
    # ... and then the first buyer's money arrives.
    confirmed = httpx.post(payment["pay_url"], timeout=30)
    assert confirmed.status_code == 200, confirmed.text
    final = _wait_payment(late, made["id"], "refunded")
    assert final["status"] == "expired"
    assert [p["status"] for p in final["payments"]] == ["refunded"]
    assert all(t["status"] != "valid" for t in final["tickets"])
    seats = {
        s["label"]: s["status"]
        for s in server.client().get(f"/api/sessions/{concert.session_id}").json()["seats"]
    }
    assert seats["A-1-2"] == "sold"
    assert sold["tickets"][0]["seat"] == "A-1-2" and sold["tickets"][0]["status"] == "valid"


def test_payment_after_the_hold_lapsed_with_the_seat_still_free_is_refunded(server: Server) -> None:
    """The hold lapsed but nobody took the seat: still refunded, never sold on a dead hold."""
    concert = Concert(server)
    late = concert.buyer()
    made, payment = _open_payment(concert, late, "A-1-3")
    _lapse_hold(server, made["hold_id"])
    confirmed = httpx.post(payment["pay_url"], timeout=30)
    assert confirmed.status_code == 200, confirmed.text
    final = _wait_payment(late, made["id"], "refunded")
    assert final["status"] == "expired"
    assert [p["status"] for p in final["payments"]] == ["refunded"]
    seats = {
        s["label"]: s["status"]
        for s in server.client().get(f"/api/sessions/{concert.session_id}").json()["seats"]
    }
    assert seats["A-1-3"] == "available"
