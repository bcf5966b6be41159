"""Postponement and the console's cancel button over HTTP, on SQLite and PostgreSQL: tickets
re-issued at a higher version for the new date (the feed tells the gates), every buyer told
by e-mail and SMS, a full refund granted in the window whatever the policy; a cancelled
session refunds every order and shows its live counter."""

from __future__ import annotations

import time
import uuid
from typing import Any

from tests.aftersales.test_exchange import feed_for
from tests.aftersales.test_refund_requests import CHINA, concert_with, money
from tests.box_office.conftest import Server
from tests.box_office.helpers import Concert, buy
from ticket_format import verify
from ticket_format.keys import Keyring


def wait_job(concert: Concert, job_id: int, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = concert.org.get(f"/api/bulk-jobs/{job_id}").json()
        if job["status"] == "done" or time.monotonic() > deadline:
            return job
        time.sleep(0.05)


def test_postpone_reissues_tells_and_opens_a_refund_window(server: Server) -> None:
    late = CHINA | {"cutoff_hours": 48}  # no refunds under the policy now
    concert = concert_with(server, late)
    phone = "+86 139 0000 " + str(uuid.uuid4().int % 10000).zfill(4)
    buyer = concert.buyer(email=f"pp-{uuid.uuid4().hex[:6]}@example.test", phone=phone)
    done = buy(concert, buyer, seats=["A-2-2"])
    ticket = done["tickets"][0]
    assert buyer.get(f"/api/orders/{done['id']}/refund-preview").json()["reason"] == "past_deadline"
    new_start = time.time() + 30 * 86400
    body = {"starts_at": new_start, "ends_at": new_start + 7200, "refund_days": 7}
    assert (
        Concert(server).org.post(f"/api/sessions/{concert.session_id}/postpone", json=body).status_code == 403
    )
    started = concert.org.post(f"/api/sessions/{concert.session_id}/postpone", json=body)
    assert started.status_code == 202, started.text
    job = wait_job(concert, started.json()["id"])
    assert job["status"] == "done" and job["counts"]["done"] == job["total"] == 1

    fresh = buyer.get(f"/api/tickets/{ticket['id']}").json()
    assert (fresh["version"], fresh["seat"], fresh["status"]) == (2, "A-2-2", "valid")
    assert fresh["token"] != ticket["token"]
    entries = feed_for(concert, ticket["id"])
    assert (entries[-1]["kind"], entries[-1]["ticket"]["version"]) == ("changed", 2)
    ring = Keyring.from_json(concert.feed_client().get("/api/feed/keyring").json()["keyring"])
    claims = verify(fresh["token"], ring, new_start)  # valid at the new date
    assert claims.version == 2 and claims.valid_until > new_start > claims.valid_from

    deadline = time.monotonic() + 10
    mails: list[Any] = []
    while not mails and time.monotonic() < deadline:
        mails = [
            m for m in server.smtp.messages if m["To"] == done["email"] and "postponed" in str(m["Subject"])
        ]
        time.sleep(0.05)
    assert mails, "no postponement e-mail"
    text = mails[0].get_body(("plain",)).get_content()
    assert (
        "改期" in text and "postponed" in text and time.strftime("%Y-%m-%d", time.gmtime(new_start)) in text
    )
    assert any(to == phone and "改期" in sms and "postponed" in sms for to, sms in server.sms.sent)

    # in the window, a full refund whatever the policy
    preview = buyer.get(f"/api/orders/{done['id']}/refund-preview").json()
    assert (preview["reason"], preview["percent"], preview["amount_cents"]) == (None, 100, 20000)
    refunded = buyer.post(f"/api/orders/{done['id']}/refund-requests", json={})
    assert refunded.json()["status"] == "approved"
    assert money(server, done["id"]) == (20000, 20000, ["succeeded"])


def test_cancel_button_refunds_every_order_with_a_live_counter(server: Server) -> None:
    concert = concert_with(server, CHINA | {"cutoff_hours": 48})
    buyers = [concert.buyer() for _ in range(3)]
    orders = [buy(concert, b, seats=[f"A-3-{i + 1}"]) for i, b in enumerate(buyers)]
    queued = buyers[0].post(f"/api/orders/{orders[0]['id']}/refund-requests", json={})
    assert queued.json()["status"] == "pending_approval"  # overtaken by the cancellation
    # a ticket given away: its payer gets the money back, its new holder's ticket is revoked
    email = f"gift-{uuid.uuid4().hex[:6]}@example.test"
    friend = concert.buyer(email=email)
    gift = orders[1]["tickets"][0]["id"]
    offer = buyers[1].post(f"/api/tickets/{gift}/transfers", json={"to_email": email}).json()
    assert friend.post(f"/api/transfers/{offer['id']}/accept", json={}).status_code == 200
    started = concert.org.post(f"/api/sessions/{concert.session_id}/cancel")
    assert started.status_code == 202, started.text
    assert started.json()["total"] == 4  # the three orders and the recipient's zero-amount one
    job = wait_job(concert, started.json()["id"])
    assert job["counts"] == {"todo": 0, "refunding": 0, "notifying": 0, "done": 4}
    assert [t["status"] for t in friend.get("/api/tickets").json()] == ["revoked"]
    for buyer, made in zip(buyers, orders, strict=True):
        assert buyer.get(f"/api/orders/{made['id']}").json()["status"] == "refunded"
        assert money(server, made["id"]) == (20000, 20000, ["succeeded"])
    again = concert.org.post(f"/api/sessions/{concert.session_id}/cancel")
    assert again.json()["id"] == started.json()["id"]  # the same job, nothing done twice
