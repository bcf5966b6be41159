"""Which buyer actions need a step-up: the promoter's amount for payments, and always for
refunds, transfers and holder changes (``accounts.spend_step_up`` lets them through)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session as Db

from box_office.buyers.accounts import spend_step_up
from box_office.catalog.ownership import owned_event
from box_office.context import Context
from box_office.core.orders import SOLD
from box_office.store.models import Order, Session, StepUpRule


def set_rule(ctx: Context, organiser_id: int, event_id: int, above_cents: int) -> None:
    def work(db: Db) -> None:
        owned_event(db, organiser_id, event_id)
        rule = db.get(StepUpRule, event_id)
        if rule is None:
            db.add(StepUpRule(event_id=event_id, above_cents=above_cents))
        else:
            rule.above_cents = above_cents

    ctx.db.write(work)


def payment_needs_step_up(ctx: Context, account_id: int, order_id: int) -> bool:
    """An order of the buyer's whose total is above its event's step-up amount (if one is set)."""
    with ctx.db.read() as db:
        row = db.execute(
            select(Order.total_cents, StepUpRule.above_cents)
            .join(Session, Session.id == Order.session_id)
            .join(StepUpRule, StepUpRule.event_id == Session.event_id)
            .where(Order.id == order_id, Order.account_id == account_id)
        ).one_or_none()
    return row is not None and row.total_cents > row.above_cents


def check_payment(ctx: Context, account_id: int, order_id: int, proof: str | None) -> None:
    if payment_needs_step_up(ctx, account_id, order_id):
        spend_step_up(ctx, account_id, proof, "paying this amount")


def check_cancel(ctx: Context, account_id: int, order_id: int, proof: str | None) -> None:
    """Cancelling an unpaid order is free; refunding a paid one needs a step-up."""
    with ctx.db.read() as db:
        state = db.scalar(select(Order.status).where(Order.id == order_id, Order.account_id == account_id))
    if state is not None and state in SOLD:
        spend_step_up(ctx, account_id, proof, "a refund")
