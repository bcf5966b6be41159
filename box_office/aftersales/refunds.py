"""Refunds: cancel an unpaid order, or refund a paid one before entry (tickets revoked, seats back)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session as Db

from box_office.aftersales import invoices
from box_office.catalog.ownership import load_session
from box_office.context import Context
from box_office.core.invoice_rules import SALES_RETURN
from box_office.core.orders import CANCELLED, PENDING_PAYMENT, REFUNDED, SOLD, effective_order_status
from box_office.errors import Conflict, Forbidden, NotFound
from box_office.feed import service as feed
from box_office.payments.provider import ProviderRegistry
from box_office.sales import ledger, order_state
from box_office.sales.notices import queue_refund
from box_office.sales.settle import close_open_payments, settle_refunds
from box_office.sales.views import order_view
from box_office.store.models import (
    Event,
    Order,
    Payment,
    RefundRequest,
    Ticket,
)

_NO_SYNC = {"synchronize_session": False}


def cancel_order(
    ctx: Context,
    providers: ProviderRegistry,
    order_id: int,
    *,
    account_id: int | None,
    organiser_id: int | None,
) -> dict[str, Any]:
    """Cancel an unpaid order (hold released) or refund a paid one (tickets revoked, seats back on sale).

    A refund is refused once any ticket of the order has been checked in at the venue.
    """

    def work(db: Db) -> str:
        order = db.get(Order, order_id)
        if order is None:
            raise NotFound(f"no order {order_id}")
        if account_id is not None and order.account_id != account_id:
            raise Forbidden(f"order {order_id} belongs to another buyer")
        if organiser_id is not None:
            session = load_session(db, order.session_id)
            event = db.get(Event, session.event_id)
            if event is None or event.organiser_id != organiser_id:
                raise Forbidden(f"order {order_id} is for another organiser's event")
        now = ctx.now()
        status = effective_order_status(order.status, order.expires_at, now)
        if status == PENDING_PAYMENT:
            order_state.move(db, order, PENDING_PAYMENT, CANCELLED, closed_at=now, reason="cancelled")
            ledger.close_hold(db, order.hold_id, "released", now)
            return "cancelled"
        if status not in SOLD:
            raise Conflict(f"order {order_id} is {status}: nothing to cancel", "bad_state")
        if db.scalar(select(RefundRequest.id).where(RefundRequest.order_id == order_id).limit(1)) is not None:
            # Part of it is refunded or waiting for the promoter: a whole refund here would count
            # that money twice. The refund requests (aftersales/refund_requests.py) take it from here.
            raise Conflict(
                f"order {order_id} has refund requests: refund it through them", "has_refund_requests"
            )
        tickets = db.scalars(select(Ticket).where(Ticket.order_id == order_id)).all()
        used = [t.seat_label or t.id for t in tickets if t.checked_in_at is not None]
        if used:
            raise Conflict(
                f"refund refused: ticket(s) already used at the venue ({', '.join(used[:5])})", "already_used"
            )
        order_state.move(db, order, SOLD, REFUNDED, closed_at=now, reason="refunded")
        session = load_session(db, order.session_id)
        changes: list[tuple[str, Ticket, bool]] = []
        per_area: dict[int, int] = {}
        for ticket in tickets:
            if ticket.ga_id is not None:
                per_area[ticket.ga_id] = per_area.get(ticket.ga_id, 0) + 1
            if ticket.status == "valid":
                changes.append(("revoked", ticket, session.real_name))
            ticket.status = "revoked"
        ledger.return_sold(db, order_id, per_area, now)
        db.connection().execute(
            update(Payment)
            .where(Payment.order_id == order_id, Payment.status == "succeeded")
            .values(status="refund_due")
            .execution_options(**_NO_SYNC)
        )
        captured = ("refund_due", "succeeded", "refunded")
        paid = sum(
            db.scalars(
                select(Payment.amount_cents).where(Payment.order_id == order_id, Payment.status.in_(captured))
            )
        )
        # the 红字 credit of a whole refund, if the order was invoiced (after-sales, issue 21)
        invoices.credit_in(ctx, db, order_id, [t.id for t in tickets], paid, SALES_RETURN)
        feed.append(ctx, db, changes)
        queue_refund(ctx, db, order)
        return "refunded"

    outcome = ctx.db.write(work)
    if outcome == "refunded":
        for provider in providers:
            settle_refunds(ctx, provider, order_id)
    else:
        close_open_payments(ctx, providers, order_id)
    with ctx.db.read() as db:
        order = db.get(Order, order_id)
        assert order is not None
        return order_view(ctx, db, order)
