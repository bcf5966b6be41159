"""Refunds through WeChat Pay (asynchronous at the emulator): full and partial, never beyond what
was paid (pending ones counting), the same refund number on every retry, failure and closure
visible; a payment for an order that expired meanwhile refunded automatically; the sweeper
settling a payment whose notification never came."""

from __future__ import annotations

import time
from typing import Any

import httpx
from sqlalchemy import text

from box_office.sales.refunding import retry_refunds
from box_office.sales.settle import query_pending
from box_office.store.db import Database
from tests.box_office.helpers import Concert
from tests.payments.conftest import WeChatWorld, wait_for
from tests.payments.wechat_helpers import (
    buyer_pays,
    count,
    lapse_hold,
    open_order,
    order_now,
    start,
    wait_order,
)


def _bought(wx: WeChatWorld) -> tuple[Concert, httpx.Client, dict[str, Any]]:
    concert = Concert(wx.server)
    buyer = concert.buyer()
    made = open_order(concert, buyer, "A-1-1")
    payment = start(buyer, made["id"]).json()
    buyer_pays(wx, payment["pay_url"])
    return concert, buyer, wait_order(buyer, made["id"], "ticketed")


def _refund(concert: Concert, order_id: int, amount: int) -> httpx.Response:
    return concert.org.post(
        f"/api/organiser/orders/{order_id}/payment-refunds", json={"amount_cents": amount, "reason": "test"}
    )


def _refunds(concert: Concert, order_id: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = concert.org.get(f"/api/organiser/orders/{order_id}/payment-refunds").json()
    return found


def _settled(concert: Concert, order_id: int, statuses: list[str]) -> list[dict[str, Any]]:
    def check() -> list[dict[str, Any]] | None:
        found = _refunds(concert, order_id)
        return found if [r["status"] for r in found] == statuses else None

    result: list[dict[str, Any]] = wait_for(check, what=f"refunds {statuses}")
    return result


def _make_due(wx: WeChatWorld) -> None:
    db = Database(wx.server.settings.database_url)
    try:
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE payment_refunds SET next_try_at = 0 WHERE status = 'pending'"))
    finally:
        db.dispose()


def test_partial_refunds_never_exceed_what_was_paid(wx: WeChatWorld) -> None:
    wx.switches(refund_spacing=0.0)
    concert, buyer, done = _bought(wx)
    total = done["total_cents"]
    first = _refund(concert, done["id"], 1000)
    assert first.status_code == 201, first.text
    assert first.json()["status"] in ("pending", "succeeded")
    _settled(concert, done["id"], ["succeeded"])
    # a refund that stays PROCESSING at WeChat Pay still counts against what is left
    wx.switches(refund_delay=500.0)
    second = _refund(concert, done["id"], 2000)
    assert second.status_code == 201 and second.json()["status"] == "pending"
    too_much = _refund(concert, done["id"], total - 3000 + 1)
    assert too_much.status_code == 409 and too_much.json()["code"] == "refund_exceeds_payment"
    wx.switches(refund_delay=2.0)
    rest = _refund(concert, done["id"], total - 3000)
    assert rest.status_code == 201, rest.text
    refunds = _settled(concert, done["id"], ["succeeded", "pending", "succeeded"])
    # the PROCESSING one completes (its notification), then the payment is wholly refunded
    pending_no = refunds[1]["refund_no"]
    wait_for(
        lambda: [r["status"] for r in _refunds(concert, done["id"])][1] == "succeeded", 30, "slow refund"
    )
    assert {r["refund_no"] for r in _refunds(concert, done["id"])} >= {pending_no}
    assert wait_for(
        lambda: order_now(buyer, done["id"])["payments"][0]["status"] == "refunded", what="refunded"
    )
    at_wechat = [r for r in wx.emulator.refunds.values() if r.out_trade_no == refunds[0]["refund_no"][:-3]]
    assert sum(r.refund for r in at_wechat) == total and len(at_wechat) == 3
    assert _refund(concert, done["id"], 1).status_code == 409  # nothing left
    assert buyer.get(f"/api/orders/{done['id']}/refunds").json()[0]["amount_cents"] == 1000


def test_refund_retried_with_the_same_number_after_5xx_and_frequency_limit(wx: WeChatWorld) -> None:
    concert, _, done = _bought(wx)
    wx.switches(fail_5xx=1)
    first = _refund(concert, done["id"], 500)
    assert first.status_code == 201
    row = first.json()
    assert row["status"] == "pending" and row["attempts"] == 1 and "unavailable" in row["last_error"]
    assert row["next_try_at"] > time.time()  # backed off
    _make_due(wx)
    assert retry_refunds(wx.state.ctx, wx.state.providers) == 1
    _settled(concert, done["id"], ["succeeded"])
    assert wx.emulator.refunds[row["refund_no"]].refund == 500
    # a second partial refund within WeChat Pay's minute: FREQUENCY_LIMITED, retried no sooner than a minute
    second = _refund(concert, done["id"], 700).json()
    assert second["status"] == "pending" and "FREQUENCY_LIMITED" in second["last_error"]
    assert second["next_try_at"] >= time.time() + 55
    assert second["refund_no"] not in wx.emulator.refunds
    wait_for(lambda: time.time() - max(r.created for r in wx.emulator.refunds.values()) > 0.7, what="spacing")
    _make_due(wx)
    retry_refunds(wx.state.ctx, wx.state.providers)
    _settled(concert, done["id"], ["succeeded", "succeeded"])
    assert wx.emulator.refunds[second["refund_no"]].refund == 700


def test_refund_abnormal_and_closed_are_visible_and_change_nothing_else(wx: WeChatWorld) -> None:
    wx.switches(refund_spacing=0.0)
    concert, buyer, done = _bought(wx)
    wx.switches(refund_outcome="ABNORMAL")
    assert _refund(concert, done["id"], 300).status_code == 201
    _settled(concert, done["id"], ["failed"])
    wx.switches(refund_outcome="CLOSED")
    assert _refund(concert, done["id"], 300).status_code == 201
    _settled(concert, done["id"], ["failed", "closed"])
    current = order_now(buyer, done["id"])
    assert current["status"] == "ticketed" and current["payments"][0]["status"] == "succeeded"
    # neither counts: the whole amount can still be refunded
    wx.switches(refund_outcome="SUCCESS")
    assert _refund(concert, done["id"], done["total_cents"]).status_code == 201
    _settled(concert, done["id"], ["failed", "closed", "succeeded"])


def test_out_of_order_payment_notification_after_a_refund_changes_nothing(wx: WeChatWorld) -> None:
    wx.switches(out_of_order=True, refund_spacing=0.0)
    concert, buyer, done = _bought(wx)
    assert _refund(concert, done["id"], 100).status_code == 201
    _settled(concert, done["id"], ["succeeded"])
    ref = _refunds(concert, done["id"])[0]["refund_no"][:-3]
    late = wait_for(
        lambda: [
            d
            for d in wx.emulator.deliveries
            if d.event_type == "TRANSACTION.SUCCESS" and wx.emulator.sent_refs.get(d.notification_id) == ref
        ][1:],
        what="the late payment notification",
    )
    assert late[0].status == 200  # accepted, and ignored: the payment is already settled
    current = order_now(buyer, done["id"])
    assert current["status"] == "ticketed" and [t["status"] for t in current["tickets"]] == ["valid"]
    assert count(wx, "SELECT count(*) FROM tickets WHERE order_id = :o", o=done["id"]) == 1


def test_paid_after_the_order_expired_is_refunded_through_wechat(wx: WeChatWorld) -> None:
    wx.switches(refund_spacing=0.0)
    concert = Concert(wx.server)
    buyer = concert.buyer()
    made = open_order(concert, buyer, "A-1-1")
    payment = start(buyer, made["id"]).json()
    lapse_hold(wx, made["id"])
    buyer_pays(wx, payment["pay_url"])
    final = wait_for(
        lambda: (o := order_now(buyer, made["id"]))["payments"][0]["status"] == "refunded" and o,
        what="the automatic refund",
    )
    assert final["status"] == "expired"
    ref = next(t for t in wx.emulator.trades.values() if t.out_trade_no.startswith(f"EO{made['id']}T"))
    refunds = [r for r in wx.emulator.refunds.values() if r.out_trade_no == ref.out_trade_no]
    assert [(r.refund, r.status) for r in refunds] == [(made["total_cents"], "SUCCESS")]
    assert buyer.get(f"/api/orders/{made['id']}/refunds").json()[0]["status"] == "succeeded"


def test_sweeper_settles_a_payment_whose_notification_never_came(wx: WeChatWorld) -> None:
    concert = Concert(wx.server)
    buyer = concert.buyer()
    made = open_order(concert, buyer, "A-1-1")
    start(buyer, made["id"])
    trade = next(t for t in wx.emulator.trades.values() if t.out_trade_no.startswith(f"EO{made['id']}T"))
    wx.emu.call(wx.emulator.mark_paid, trade)  # paid at WeChat Pay; the notification is lost
    assert order_now(buyer, made["id"])["status"] == "pending_payment"
    assert query_pending(wx.state.ctx, wx.state.providers, older_than=0) >= 1
    wait_order(buyer, made["id"], "ticketed")
    assert query_pending(wx.state.ctx, wx.state.providers, older_than=0) == 0  # settled once


def test_forged_refund_notification_is_refused(wx: WeChatWorld) -> None:
    wx.switches(refund_spacing=0.0, refund_delay=500.0)
    concert, _, done = _bought(wx)
    row = _refund(concert, done["id"], 100).json()
    refund = wx.emulator.refunds[row["refund_no"]]
    resource = wx.emulator.refund_resource(refund) | {"refund_status": "SUCCESS"}
    body = wx.emulator.notification("REFUND.SUCCESS", "退款成功", "refund", resource)
    url = f"{wx.server.url}/api/payments/wechat/refund-notify"
    bad = wx.emulator.signed_headers(body) | {"Wechatpay-Serial": "PUB_KEY_ID_0000000000000000"}
    assert httpx.post(url, content=body, headers=bad, timeout=30).status_code == 401
    stale = wx.emulator.signed_headers(body, stamp=int(time.time()) - 400)
    assert httpx.post(url, content=body, headers=stale, timeout=30).status_code == 401
    assert _refunds(concert, done["id"])[0]["status"] == "pending"
    good = httpx.post(url, content=body, headers=wx.emulator.signed_headers(body), timeout=30)
    assert good.status_code == 200, good.text
    assert _refunds(concert, done["id"])[0]["status"] == "succeeded"


def test_another_organiser_cannot_refund_or_see_refunds(wx: WeChatWorld) -> None:
    concert, _, done = _bought(wx)
    stranger = Concert(wx.server)
    path = f"/api/organiser/orders/{done['id']}/payment-refunds"
    assert stranger.org.post(path, json={"amount_cents": 100}).status_code == 403
    assert stranger.org.get(path).status_code == 403
    assert _refunds(concert, done["id"]) == []


def test_cancelled_or_expired_orders_close_their_wechat_payment(wx: WeChatWorld) -> None:
    concert = Concert(wx.server)
    buyer = concert.buyer()
    cancelled = open_order(concert, buyer, "A-1-1")
    start(buyer, cancelled["id"])
    assert buyer.post(f"/api/orders/{cancelled['id']}/cancel").status_code == 200
    trade = next(t for t in wx.emulator.trades.values() if t.out_trade_no.startswith(f"EO{cancelled['id']}T"))
    assert trade.state == "CLOSED"  # it can no longer be paid
    assert order_now(buyer, cancelled["id"])["payments"][0]["status"] == "closed"
    lapsing = open_order(concert, buyer, "A-3-1")
    start(buyer, lapsing["id"])
    lapse_hold(wx, lapsing["id"])
    query_pending(wx.state.ctx, wx.state.providers, older_than=0)
    trade = next(t for t in wx.emulator.trades.values() if t.out_trade_no.startswith(f"EO{lapsing['id']}T"))
    assert trade.state == "CLOSED"
    assert order_now(buyer, lapsing["id"])["payments"][0]["status"] == "closed"


def test_refund_notification_before_the_refund_answer(wx: WeChatWorld) -> None:
    wx.switches(refund_spacing=0.0)
    concert, buyer, done = _bought(wx)
    wx.switches(notify_before_answer=True)
    answer = _refund(concert, done["id"], done["total_cents"])
    assert answer.status_code == 201, answer.text
    # the notification (SUCCESS) came first; the late PROCESSING answer does not undo it
    assert answer.json()["status"] == "succeeded"
    refund_no = answer.json()["refund_no"]
    first = [d for d in wx.emulator.deliveries if d.event_type == "REFUND.SUCCESS"][-1]
    assert first.status == 200
    assert order_now(buyer, done["id"])["payments"][0]["status"] == "refunded"
    assert [r.out_refund_no for r in wx.emulator.refunds.values() if r.out_refund_no == refund_no] == [
        refund_no
    ]


def test_the_sweeper_asks_about_an_open_payment_at_most_once_a_minute(wx: WeChatWorld) -> None:
    concert = Concert(wx.server)
    buyer = concert.buyer()
    made = open_order(concert, buyer, "A-1-1")
    start(buyer, made["id"])
    before = wx.emulator.requests_seen
    query_pending(wx.state.ctx, wx.state.providers, older_than=0)
    asked = wx.emulator.requests_seen - before
    assert asked >= 1
    query_pending(wx.state.ctx, wx.state.providers, older_than=0)
    assert wx.emulator.requests_seen - before == asked  # not again within the minute
    query_pending(wx.state.ctx, wx.state.providers, older_than=0, every=0)
    assert wx.emulator.requests_seen - before > asked
    assert order_now(buyer, made["id"])["payments"][0]["status"] == "created"


def test_partial_refunds_through_the_sandbox_too(wx: WeChatWorld) -> None:
    concert = Concert(wx.server)
    buyer = concert.buyer()
    made = open_order(concert, buyer, "A-1-1")
    payment = buyer.post(f"/api/orders/{made['id']}/payments", json={"provider": "sandbox"}).json()
    assert httpx.post(payment["pay_url"], timeout=30).status_code == 200
    wait_order(buyer, made["id"], "ticketed")
    assert _refund(concert, made["id"], 700).json()["status"] == "succeeded"
    assert _refund(concert, made["id"], made["total_cents"]).status_code == 409
    assert _refund(concert, made["id"], made["total_cents"] - 700).json()["status"] == "succeeded"
    assert order_now(buyer, made["id"])["payments"][0]["status"] == "refunded"
