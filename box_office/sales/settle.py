"""Payments: start one with a provider, settle its notification (sell, issue), reconcile, refund."""

from __future__ import annotations

import contextlib
import json
import logging
from collections import Counter
from functools import partial
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as Db
from sqlalchemy.orm.attributes import set_committed_value

from box_office.context import Context
from box_office.core.orders import (
    effective_order_status,
)
from box_office.errors import Conflict, Invalid, NotFound, Unauthorized, Unavailable
from box_office.payments.provider import NotificationError, PaymentError, PaymentProvider
from box_office.sales import issuing
from box_office.sales.holds import _finish_hold
from box_office.sales.order_state import _move
from box_office.sales.views import _own_order, _payment_view, get_order
from box_office.store.db import changed
from box_office.store.models import (
    Hold,
    Order,
    Payment,
    PaymentNotification,
    SessionGa,
    SessionSeat,
    Ticket,
)

_NO_SYNC = {"synchronize_session": False}
log = logging.getLogger(__name__)


def start_payment(
    ctx: Context,
    provider: PaymentProvider,
    account_id: int,
    order_id: int,
    notify_url: str,
    new_order: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Create (or return the open) provider payment for an unpaid order.

    ``new_order`` is the view of an order this request has just created (so it is the buyer's,
    unpaid, and has no payment yet): the checks that read the order are skipped.
    """
    if new_order is not None:
        amount, currency = new_order["total_cents"], new_order["currency"]
    else:
        with ctx.db.read() as db:
            order = _own_order(db, account_id, order_id)
            status = effective_order_status(order.status, order.expires_at, ctx.now())
            if status != "pending_payment":
                raise Conflict(f"order {order_id} is {status}: nothing to pay", "bad_state")
            open_payment = db.scalar(
                select(Payment).where(
                    Payment.order_id == order_id,
                    Payment.status == "created",
                    Payment.provider == provider.name,
                )
            )
            if open_payment is not None:
                return _payment_view(open_payment)
            amount, currency = order.total_cents, order.currency
    try:
        created = provider.create(f"order-{order_id}", amount, currency, notify_url)
    except PaymentError as exc:
        raise Unavailable(str(exc), "provider_unavailable") from None

    def work(db: Db) -> dict[str, Any]:
        payment = Payment(
            order_id=order_id,
            provider=provider.name,
            provider_ref=created.ref,
            amount_cents=amount,
            currency=currency,
            status="created",
            pay_url=created.pay_url,
            created_at=ctx.now(),
        )
        db.add(payment)
        db.flush()
        return _payment_view(payment) | {"qr_text": created.qr_text}

    return ctx.db.write(work)


class _HoldLost(Exception):
    pass


def handle_notification(
    ctx: Context, provider: PaymentProvider, headers: dict[str, str], body: bytes
) -> dict[str, Any]:
    """Verify and apply a provider's payment notification; forged, stale or replayed ones are refused."""
    try:
        note = provider.verify_notification(headers, body)
    except NotificationError as exc:
        raise Unauthorized(f"notification rejected: {exc}", "bad_notification") from None

    def record(db: Db, payment: Payment) -> None:
        if db.get(PaymentNotification, note.notify_id) is not None:
            raise Conflict("notification already processed (replay)", "replayed")
        db.add(PaymentNotification(notify_id=note.notify_id, payment_id=payment.id, received_at=ctx.now()))

    def work(db: Db) -> tuple[str, int]:
        found = db.execute(
            select(Payment, Order)
            .join(Order, Order.id == Payment.order_id)
            .where(Payment.provider_ref == note.ref, Payment.provider == provider.name)
        ).first()
        if found is None:
            raise NotFound(f"no payment {note.ref}", "unknown_payment")
        payment, order = found
        if note.amount_cents != payment.amount_cents or note.currency != payment.currency:
            raise Invalid(
                f"amount mismatch: notified {note.amount_cents} {note.currency}, "
                f"expected {payment.amount_cents} {payment.currency}",
                "amount_mismatch",
            )
        now = ctx.now()
        # A replayed notification id breaks the primary key: IntegrityError, answered 409 below.
        db.connection().execute(
            insert(PaymentNotification).values(
                notify_id=note.notify_id, payment_id=payment.id, received_at=now
            )
        )
        if note.status != "paid" or payment.status != "created":
            return "ignored", payment.order_id
        if effective_order_status(order.status, order.expires_at, now) != "pending_payment":
            if order.status == "pending_payment":
                _move(
                    db,
                    order,
                    "pending_payment",
                    "expired",
                    closed_at=now,
                    reason="paid after expiry: refunded",
                )
                _finish_hold(db, order.hold_id, "expired", now)
            payment.status = "refund_due"
            return "refund", order.id
        seat_count = (
            db.connection()
            .execute(
                update(Hold)
                .where(Hold.id == order.hold_id, Hold.status == "active", Hold.expires_at >= now)
                .values(status="converted")
                .returning(Hold.seat_count)
                .execution_options(**_NO_SYNC)
            )
            .scalar()
        )
        if seat_count is None:
            raise _HoldLost()
        sold = changed(
            db.connection().execute(
                update(SessionSeat)
                .where(SessionSeat.hold_id == order.hold_id, SessionSeat.status == "held")
                .values(status="sold", order_id=order.id, hold_expires_at=None, changed_at=now)
                .execution_options(**_NO_SYNC)
            )
        )
        if sold != seat_count:
            raise _HoldLost()
        tickets = db.scalars(select(Ticket).where(Ticket.order_id == order.id).order_by(Ticket.id)).all()
        facts = ctx.catalog.session(db, order.session_id)
        signed = issuing.sign_all(ctx, db, tickets, facts)  # before any ticket write: may fail
        # One ticket was made per GA place held (create_order), so the tickets say what to move.
        for ga_id, quantity in Counter(t.ga_id for t in tickets if t.ga_id is not None).items():
            db.connection().execute(
                update(SessionGa)
                .where(SessionGa.id == ga_id)
                .values(held=SessionGa.held - quantity, sold=SessionGa.sold + quantity, changed_at=now)
                .execution_options(**_NO_SYNC)
            )
        if not changed(
            db.connection().execute(
                update(Order)
                .where(Order.id == order.id, Order.status == "pending_payment")
                .values(status="paid", paid_at=now)
                .execution_options(**_NO_SYNC)
            )
        ):
            raise Conflict(f"order {order.id} changed while its payment arrived", "bad_state")
        set_committed_value(order, "status", "paid")
        set_committed_value(order, "paid_at", now)
        db.connection().execute(
            update(Payment).where(Payment.id == payment.id).values(status="succeeded", settled_at=now)
        )
        set_committed_value(payment, "status", "succeeded")
        set_committed_value(payment, "settled_at", now)
        if signed is not None:  # else the order stays paid and the sweeper issues it later
            issuing.issue_tickets(ctx, db, order, tickets, facts, signed)
        return "paid", order.id

    def lost(db: Db) -> tuple[str, int]:
        payment = db.scalar(select(Payment).where(Payment.provider_ref == note.ref))
        assert payment is not None
        record(db, payment)
        order = db.get(Order, payment.order_id)
        assert order is not None
        now = ctx.now()
        if order.status == "pending_payment":
            _move(
                db, order, "pending_payment", "expired", closed_at=now, reason="paid after expiry: refunded"
            )
        _finish_hold(db, order.hold_id, "expired", now)
        payment.status = "refund_due"
        return "refund", order.id

    try:
        outcome, order_id = ctx.db.write(work)
    except _HoldLost:
        outcome, order_id = ctx.db.write(lost)
    except IntegrityError:
        raise Conflict("notification already processed (replay)", "replayed") from None
    if outcome == "refund":
        settle_refunds(ctx, provider, order_id)
    return {"outcome": outcome, "order_id": order_id}


def settle_refunds(ctx: Context, provider: PaymentProvider, order_id: int | None = None) -> int:
    """Refund every payment marked refund_due (of one order, or all): retried until the provider agrees."""
    with ctx.db.read() as db:
        query = select(Payment.id, Payment.provider_ref, Payment.amount_cents).where(
            Payment.status == "refund_due", Payment.provider == provider.name
        )
        if order_id is not None:
            query = query.where(Payment.order_id == order_id)
        due = db.connection().execute(query).all()
    done = 0
    for payment_id, ref, amount in due:
        try:
            provider.refund(ref, amount)
        except PaymentError:
            continue  # the sweeper tries again later; the money is owed, not lost
        ctx.db.write(partial(_mark_refunded, payment_id=payment_id, now=ctx.now()))
        done += 1
    return done


def _mark_refunded(db: Db, *, payment_id: int, now: float) -> None:
    db.connection().execute(
        update(Payment)
        .where(Payment.id == payment_id, Payment.status == "refund_due")
        .values(status="refunded", settled_at=now)
    )


def reconcile_payment(
    ctx: Context, provider: PaymentProvider, account_id: int, order_id: int
) -> dict[str, Any]:
    """Ask the provider about the order's open payment, for a notification that never arrived."""
    with ctx.db.read() as db:
        _own_order(db, account_id, order_id)
        refs = db.scalars(
            select(Payment.provider_ref).where(Payment.order_id == order_id, Payment.status == "created")
        ).all()
    for ref in refs:
        try:
            state = provider.query(ref)
        except PaymentError as exc:
            raise Unavailable(str(exc), "provider_unavailable") from None
        if state.status == "paid":
            _apply_queried(ctx, provider, ref, state.amount_cents)
    return get_order(ctx, account_id, order_id)


def _apply_queried(ctx: Context, provider: PaymentProvider, ref: str, amount: int) -> None:
    """Apply a payment found paid by a query, through the same path as a notification."""
    from box_office.payments.sandbox.client import SandboxProvider, signed_headers

    if not isinstance(provider, SandboxProvider):  # pragma: no cover - only the sandbox exists yet
        return
    with ctx.db.read() as db:
        payment = db.scalar(select(Payment).where(Payment.provider_ref == ref))
        assert payment is not None
        currency, order_id = payment.currency, payment.order_id
    body = json.dumps(
        {
            "notify_id": f"query:{ref}",
            "ref": ref,
            "merchant_order": f"order-{order_id}",
            "status": "paid",
            "amount_cents": amount,
            "currency": currency,
        }
    ).encode()
    with contextlib.suppress(Conflict):
        handle_notification(ctx, provider, signed_headers(provider.secret, body), body)
