"""Reconciliation: each provider's daily bill, downloaded from the provider, against our books.

Days are China Standard Time (UTC+8), as WeChat Pay and Alipay cut their bills. A payment is
ours on the day we first received the provider's word that it was paid (notification or query
answer, recorded in ``payment_notifications``); a refund on the day it was recorded final.
The comparison itself is the pure :func:`box_office.core.payment_rules.compare_books`.
"""

from __future__ import annotations

import datetime
from dataclasses import asdict
from typing import Any

from sqlalchemy import func, select

from box_office.context import Context
from box_office.core.payment_rules import Entry, Mismatch, compare_books
from box_office.payments.provider import PaymentError, PaymentProvider, ProviderRegistry, is_full
from box_office.payments.refund_table import PaymentRefund
from box_office.store.models import Payment, PaymentNotification

CHINA = datetime.timezone(datetime.timedelta(hours=8))
PAID_HERE = ("succeeded", "refund_due", "refunded")


def day_window(day: datetime.date) -> tuple[float, float]:
    start = datetime.datetime.combine(day, datetime.time(0), CHINA).timestamp()
    return start, start + 86400.0


def our_entries(ctx: Context, provider: str, day: datetime.date) -> list[Entry]:
    start, end = day_window(day)
    first_word = (
        select(PaymentNotification.payment_id, func.min(PaymentNotification.received_at).label("at"))
        .group_by(PaymentNotification.payment_id)
        .subquery()
    )
    with ctx.db.read() as db:
        paid = db.execute(
            select(Payment.provider_ref, Payment.amount_cents, Payment.currency)
            .join(first_word, first_word.c.payment_id == Payment.id)
            .where(
                Payment.provider == provider,
                Payment.status.in_(PAID_HERE),
                first_word.c.at >= start,
                first_word.c.at < end,
            )
        ).all()
        refunded = db.execute(
            select(Payment.provider_ref, PaymentRefund.amount_cents, Payment.currency)
            .join(Payment, Payment.id == PaymentRefund.payment_id)
            .where(
                PaymentRefund.provider == provider,
                PaymentRefund.status == "succeeded",
                PaymentRefund.updated_at >= start,
                PaymentRefund.updated_at < end,
            )
        ).all()
    return [Entry(r, "payment", a, c) for r, a, c in paid] + [
        Entry(r, "refund", a, c) for r, a, c in refunded
    ]


def bill_entries(provider: PaymentProvider, day: datetime.date) -> list[Entry]:
    lines = provider.bill(day)  # type: ignore[attr-defined]
    return [
        Entry(line.ref, line.kind, line.amount_cents, line.currency)
        for line in lines
        if line.status.upper() in ("SUCCESS", "SUCCEEDED", "TRADE_SUCCESS", "PAID")
    ]


def reconcile(ctx: Context, providers: ProviderRegistry, day: datetime.date) -> dict[str, Any]:
    """For each provider with bills: its mismatches with our books (or why its bill is missing)."""
    report: dict[str, Any] = {"date": day.isoformat(), "providers": {}}
    for provider in providers:
        if not is_full(provider):
            continue  # the sandbox keeps no bills
        try:
            theirs = bill_entries(provider, day)
        except PaymentError as exc:
            report["providers"][provider.name] = {"error": str(exc), "mismatches": []}
            continue
        mismatches: list[Mismatch] = compare_books(our_entries(ctx, provider.name, day), theirs)
        report["providers"][provider.name] = {
            "bill_lines": len(theirs),
            "mismatches": [asdict(m) for m in mismatches],
        }
    return report


def format_report(report: dict[str, Any]) -> str:
    lines = [f"reconciliation for {report['date']} (China time)"]
    if not report["providers"]:
        lines.append("  no provider with daily bills is configured")
    for name, found in sorted(report["providers"].items()):
        if "error" in found:
            lines.append(f"  {name}: bill not available: {found['error']}")
            continue
        lines.append(f"  {name}: {found['bill_lines']} bill lines, {len(found['mismatches'])} mismatches")
        for m in found["mismatches"]:
            lines.append(
                f"    {m['kind']:<22} {m['ref']:<34} ours={m['ours']} theirs={m['theirs']} {m['detail']}"
            )
    return "\n".join(lines)
