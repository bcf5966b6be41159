"""Read views of orders, tickets and payments, as the buyer (and delivery) sees them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session as Db

from box_office.catalog.cache import SessionFacts
from box_office.context import Context
from box_office.core.orders import (
    effective_order_status,
)
from box_office.errors import Forbidden, NotFound
from box_office.feed import service as feed
from box_office.store.models import (
    Order,
    OrderRefundTerms,
    Payment,
    SessionGa,
    Ticket,
)


def order_view(ctx: Context, db: Db, order: Order) -> dict[str, Any]:
    tickets = db.scalars(
        select(Ticket).where(Ticket.order_id == order.id).order_by(Ticket.seat_label, Ticket.id)
    ).all()
    payments = db.scalars(select(Payment).where(Payment.order_id == order.id).order_by(Payment.id)).all()
    facts = ctx.catalog.session(db, order.session_id)
    if any(t.ga_id is not None and t.ga_id not in facts.areas for t in tickets):
        facts = ctx.catalog.session(db, order.session_id, fresh=True)
    terms = db.get(OrderRefundTerms, order.id)
    view = render_order(ctx, order, tickets, payments, facts)
    return view | {"refund_policy": terms.policy} if terms is not None else view


def render_order(
    ctx: Context, order: Order, tickets: Sequence[Ticket], payments: Sequence[Payment], facts: SessionFacts
) -> dict[str, Any]:
    """The buyer's view of an order, from rows already at hand (no queries)."""
    return {
        "id": order.id,
        "session_id": order.session_id,
        "event_id": facts.event_id,
        "status": effective_order_status(order.status, order.expires_at, ctx.now()),
        "total_cents": order.total_cents,
        "currency": order.currency,
        "email": order.email,
        "expires_at": order.expires_at,
        "created_at": order.created_at,
        "paid_at": order.paid_at,
        "ticketed_at": order.ticketed_at,
        "reason": order.reason,
        "tickets": [
            ticket_view(t, facts.areas[t.ga_id].code if t.ga_id is not None else None) for t in tickets
        ],
        "payments": [
            {
                "id": p.id,
                "provider": p.provider,
                "status": p.status,
                "amount_cents": p.amount_cents,
                "pay_url": p.pay_url,
            }
            for p in payments
        ],
    }


def ticket_view(ticket: Ticket, area: str | None) -> dict[str, Any]:
    return {
        "id": ticket.id,
        "order_id": ticket.order_id,
        "event_id": ticket.event_id,
        "session_id": ticket.session_id,
        "seat": ticket.seat_label,
        "area": area,
        "zone": ticket.zone,
        "ticket_type": ticket.ticket_type,
        "price_cents": ticket.price_cents,
        "status": ticket.status,
        "version": ticket.version,
        "holder": ticket.holder_masked,
        "token": ticket.token if ticket.status == "valid" else None,
        "checked_in_at": ticket.checked_in_at,
        "checked_in_gate": ticket.checked_in_gate,
        "inside": ticket.inside,
    }


def order_statuses(ctx: Context, order_ids: list[int]) -> dict[int, str]:
    """Effective status of each of these orders (one query): what :mod:`order_watch` looks at."""
    now = ctx.now()
    with ctx.db.read() as db:
        rows = (
            db.connection()
            .execute(select(Order.id, Order.status, Order.expires_at).where(Order.id.in_(order_ids)))
            .all()
        )
    return {row[0]: effective_order_status(row[1], row[2], now) for row in rows}


def get_order(ctx: Context, account_id: int, order_id: int) -> dict[str, Any]:
    with ctx.db.read() as db:
        return order_view(ctx, db, own_order(db, account_id, order_id))


def own_order(db: Db, account_id: int, order_id: int) -> Order:
    order = db.get(Order, order_id)
    if order is None:
        raise NotFound(f"no order {order_id}")
    if order.account_id != account_id:
        raise Forbidden(f"order {order_id} belongs to another buyer")
    return order


def list_orders(ctx: Context, account_id: int) -> list[dict[str, Any]]:
    with ctx.db.read() as db:
        orders = db.scalars(
            select(Order).where(Order.account_id == account_id).order_by(Order.id.desc()).limit(200)
        ).all()
        return [order_view(ctx, db, o) for o in orders]


def list_tickets(ctx: Context, account_id: int) -> list[dict[str, Any]]:
    with ctx.db.read() as db:
        rows = db.scalars(
            select(Ticket)
            .join(Order, Order.id == Ticket.order_id)
            .where(Order.account_id == account_id, Ticket.status != "pending")
            .order_by(Ticket.order_id.desc(), Ticket.seat_label)
            .limit(1000)
        ).all()
        areas = {
            g.id: g.code
            for g in db.scalars(select(SessionGa).where(SessionGa.id.in_({t.ga_id for t in rows if t.ga_id})))
        }
        return [ticket_view(t, areas.get(t.ga_id) if t.ga_id else None) for t in rows]


def get_ticket(
    ctx: Context, account_id: int | None, ticket_id: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    with ctx.db.read() as db:
        ticket = db.get(Ticket, ticket_id)
        if ticket is None or ticket.status == "pending":
            raise NotFound(f"no ticket {ticket_id}")
        order = db.get(Order, ticket.order_id)
        assert order is not None
        if account_id is not None and order.account_id != account_id:
            raise Forbidden("this ticket belongs to another buyer")
        area = db.scalar(select(SessionGa.code).where(SessionGa.id == ticket.ga_id)) if ticket.ga_id else None
        return ticket_view(ticket, area), feed.ticket_checkins(db, ticket_id)


def payment_view(p: Payment) -> dict[str, Any]:
    return {
        "id": p.id,
        "order_id": p.order_id,
        "provider": p.provider,
        "status": p.status,
        "amount_cents": p.amount_cents,
        "currency": p.currency,
        "pay_url": p.pay_url,
        "qr_text": p.pay_url,
    }


def require_session(ctx: Context, session_id: int) -> None:
    """Nothing, or NotFound for a session that does not exist (routes hold no SQL)."""
    with ctx.db.read() as db:
        ctx.catalog.session(db, session_id)
