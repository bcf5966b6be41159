"""The sweeper: housekeeping that keeps the books tidy; safe to run in any process, any time.

Nothing a buyer sees waits for it (an expired hold or order is treated as such the moment it
expires); it records what time already decided, retries refunds owed, and finishes issuing
left undone by a crash. Each step claims its work with conditional UPDATEs.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from sqlalchemy import select
from sqlalchemy.orm import Session as Db

from box_office.aftersales import refund_requests
from box_office.context import Context
from box_office.payments.provider import ProviderRegistry
from box_office.promotions import coupons, group_buy
from box_office.sales import issuing, ledger, order_state
from box_office.sales.notices import queue_expiry
from box_office.sales.refunding import retry_refunds
from box_office.sales.settle import query_pending, settle_refunds
from box_office.store.models import Hold, Order


def run_sweeps(ctx: Context, providers: ProviderRegistry) -> None:
    """One round of housekeeping: expire holds and orders, retry refunds (and follow pending
    ones), ask providers about payments left open, finish issuing."""
    sweep_holds(ctx)
    sweep_orders(ctx)
    coupons.sweep_returns(ctx)
    group_buy.sweep(ctx, providers)
    for provider in providers:
        settle_refunds(ctx, provider)
    retry_refunds(ctx, providers)
    query_pending(ctx, providers)
    refund_requests.retry_refunds(ctx, providers)
    issuing.issue_pending(ctx)


def sweep_orders(ctx: Context) -> int:
    """Record expiry of unpaid orders past their time (their holds are closed by :func:`sweep_holds`)."""
    now = ctx.now()

    def work(db: Db) -> int:
        expired = order_state.expire_overdue_ids(db, now)
        for order_id in expired:  # the buyer hears why the seats are gone
            order = db.get(Order, order_id)
            if order is not None:
                queue_expiry(ctx, db, order)
        return len(expired)

    return ctx.db.write(work)


def sweep_holds(ctx: Context, limit: int = 500) -> int:
    """Close expired holds (returning GA places and resetting seats); safe to run anywhere, any time."""
    now = ctx.now()
    with ctx.db.read() as db:
        ids = db.scalars(
            select(Hold.id)
            .where(Hold.status == "active", Hold.expires_at < now)
            .order_by(Hold.expires_at)
            .limit(limit)
        ).all()
    done = 0
    for start in range(0, len(ids), 50):
        batch = ids[start : start + 50]
        done += ctx.db.write(partial(_expire_batch, batch=batch, now=now))
    return done


def _expire_batch(db: Db, *, batch: Sequence[int], now: float) -> int:
    return sum(ledger.close_hold(db, h, "expired", now, only_if_expired=True) for h in batch)
