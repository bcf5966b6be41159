"""``box-office payments reconcile --date D``: the day's WeChat Pay trade bill, downloaded through
the SDK from the emulator (hash-checked, gzip CSV), against our books; a planted mismatch of each
kind is reported, and a clean day reports none."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest

from box_office import cli
from box_office.core.payment_rules import Entry, compare_books
from tests.box_office.helpers import Concert
from tests.payments.conftest import WeChatWorld, wait_for
from tests.payments.wechat_helpers import buyer_pays, open_order, order_now, start, wait_order

CHINA = datetime.timezone(datetime.timedelta(hours=8))


def _paid_order(wx: WeChatWorld) -> tuple[Concert, dict[str, Any], str]:
    concert = Concert(wx.server)
    buyer = concert.buyer()
    made = open_order(concert, buyer, "A-1-1")
    payment = start(buyer, made["id"]).json()
    buyer_pays(wx, payment["pay_url"])
    wait_order(buyer, made["id"], "ticketed")
    ref = next(
        t.out_trade_no for t in wx.emulator.trades.values() if t.out_trade_no.startswith(f"EO{made['id']}T")
    )
    return concert, made, ref


def _run(
    wx: WeChatWorld, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, Any]:
    for key, value in wx.kit.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("BOX_OFFICE_DATABASE_URL", wx.server.settings.database_url)
    monkeypatch.setenv("BOX_OFFICE_STATE_DIR", str(wx.server.settings.state_dir))
    # the emulator's plain-http address is accepted only beside the sandbox (a development setup)
    monkeypatch.setenv("BOX_OFFICE_SANDBOX", "on")
    monkeypatch.setenv("BOX_OFFICE_SANDBOX_SECRET", wx.server.settings.sandbox_secret)
    capsys.readouterr()
    today = datetime.datetime.now(CHINA).date().isoformat()
    code = cli.main(["payments", "reconcile", "--date", today, "--json"])
    return code, json.loads(capsys.readouterr().out)


def _kinds(report: Any) -> dict[str, str]:
    return {m["ref"]: m["kind"] for m in report["providers"]["wechat"]["mismatches"]}


def test_reconcile_reports_each_planted_mismatch(
    wx: WeChatWorld, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    wx.switches(refund_spacing=0.0)
    # a clean slate for today's bill: earlier tests' payments are left out of both sides' check
    code, report = _run(wx, monkeypatch, capsys)
    known = set(_kinds(report))
    # paid there, not here: WeChat Pay took the money, the notification never arrived
    concert = Concert(wx.server)
    buyer = concert.buyer()
    lost = open_order(concert, buyer, "A-1-1")
    start(buyer, lost["id"])
    lost_trade = next(t for t in wx.emulator.trades.values() if t.out_trade_no.startswith(f"EO{lost['id']}T"))
    wx.emu.call(wx.emulator.mark_paid, lost_trade)
    # here, not there; amounts differ; currencies differ; a refund missing from the bill
    _, _, dropped = _paid_order(wx)
    _, _, cheaper = _paid_order(wx)
    _, _, foreign = _paid_order(wx)
    refunder, refunded_order, refunded = _paid_order(wx)
    made = refunder.org.post(
        f"/api/organiser/orders/{refunded_order['id']}/payment-refunds", json={"amount_cents": 100}
    )
    assert made.status_code == 201, made.text
    wait_for(
        lambda: (
            refunder.org.get(f"/api/organiser/orders/{refunded_order['id']}/payment-refunds").json()[0][
                "status"
            ]
            == "succeeded"
        ),
        what="the refund",
    )
    _, _, clean = _paid_order(wx)

    def plant() -> None:
        wx.emulator.bill_drop.add(dropped)
        wx.emulator.bill_amounts[cheaper] = 1
        wx.emulator.bill_currency[foreign] = "USD"
        wx.emulator.bill_drop_refunds.add(refunded)

    wx.emu.call(plant)
    try:
        code, report = _run(wx, monkeypatch, capsys)
    finally:
        wx.emu.call(
            lambda: (
                wx.emulator.bill_drop.clear(),
                wx.emulator.bill_amounts.clear(),
                wx.emulator.bill_currency.clear(),
                wx.emulator.bill_drop_refunds.clear(),
            )
        )
    assert code == 1
    found = {ref: kind for ref, kind in _kinds(report).items() if ref not in known}
    assert found == {
        lost_trade.out_trade_no: "missing_here",
        dropped: "missing_there",
        cheaper: "amount",
        foreign: "currency",
        refunded: "refund_missing_there",
    }
    assert clean not in found
    assert (
        order_now(buyer, lost["id"])["status"] == "pending_payment"
    )  # reconciliation reports, never settles


def test_compare_books_refund_kinds() -> None:
    ours = [Entry("A", "refund", 100, "CNY"), Entry("B", "refund", 50, "CNY")]
    theirs = [Entry("A", "refund", 90, "CNY"), Entry("C", "refund", 10, "CNY")]
    kinds = {m.ref: m.kind for m in compare_books(ours, theirs)}
    assert kinds == {"A": "refund_amount", "B": "refund_missing_there", "C": "refund_missing_here"}
    assert compare_books(ours, ours) == []
