"""One-request checkout: ``POST /api/orders`` with ``pay_with`` creates the order and starts its
payment; a retry with the same Idempotency-Key gets the same order and the same payment."""

from __future__ import annotations

import uuid

import httpx

from tests.box_office.conftest import Server
from tests.box_office.helpers import Concert, hold


def test_order_and_payment_in_one_request(server: Server) -> None:
    concert = Concert(server)
    buyer = concert.buyer()
    held = hold(buyer, concert.session_id, seats=["A-3-1", "A-3-2"]).json()
    key = uuid.uuid4().hex
    body = {"hold_id": held["id"], "email": "one@example.test", "pay_with": "sandbox"}
    made = buyer.post("/api/orders", json=body, headers={"Idempotency-Key": key})
    assert made.status_code == 201, made.text
    payment = made.json()["payment"]
    assert payment["status"] == "created" and payment["amount_cents"] == made.json()["total_cents"]
    again = buyer.post("/api/orders", json=body, headers={"Idempotency-Key": key})
    assert again.status_code == 200 and again.json()["id"] == made.json()["id"]
    assert again.json()["payment"]["pay_url"] == payment["pay_url"], "a retry must not start a second payment"
    assert httpx.post(payment["pay_url"], timeout=30).status_code == 200
    done = buyer.get(f"/api/orders/{made.json()['id']}", params={"wait": 10}).json()
    assert done["status"] == "ticketed" and len(done["payments"]) == 1


def test_unknown_provider_is_refused(server: Server) -> None:
    concert = Concert(server)
    buyer = concert.buyer()
    held = hold(buyer, concert.session_id, seats=["A-3-4"]).json()
    made = buyer.post(
        "/api/orders",
        json={"hold_id": held["id"], "email": "x@example.test", "pay_with": "cash"},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert made.status_code == 422 and "pay_with" in made.json()["detail"]
