"""Payments through the provider registry: start one, settle what the provider vouches for, reconcile, refund.

One settle step, :func:`settle`, applies a :class:`~box_office.payments.provider.Capture`
whether it came from a verified notification (:func:`handle_notification`) or from the
provider's answer to a query (:func:`reconcile_payment`); nothing is ever re-signed or forged
to reach it. It sells only what the provider says was captured: state ``paid``, and the
amount and currency of the payment this box office created. The sale itself (payment
recorded, seats sold, tickets signed, delivery queued, feed written) is one transaction.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from functools import partial
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as Db
from sqlalchemy.orm.attributes import set_committed_value

from box_office.context import Context
from box_office.core.orders import EXPIRED, PAID, PENDING_PAYMENT, effective_order_status
from box_office.errors import Conflict, Invalid, NotFound, Unauthorized, Unavailable
from box_office.payments.provider import (
    Capture,
    NotificationError,
    PaymentError,
    PaymentProvider,
    ProviderRegistry,
    UnknownProvider,
)
from box_office.promotions import group_buy
from box_office.sales import issuing, ledger, order_state
from box_office.sales.views import get_order, own_order, payment_view
from box_office.store.models import Order, Payment, PaymentNotification, Ticket


def provider_named(providers: ProviderRegistry, name: str, field: str | None = None) -> PaymentProvider:
    """The configured provider of that name. If there is none: 422 ``unknown_provider`` for a
    request ``field`` that named it, else (a URL's provider) 404."""
    try:
        return providers.get(name)
    except UnknownProvider:
        if field is not None:
            configured = ", ".join(providers.names) or "none"
            raise Invalid(
                f"{field}: no payment provider {name} here (configured: {configured})", "unknown_provider"
            ) from None
        raise NotFound(f"no payment provider {name} here", "unknown_provider") from None


def notify_url(ctx: Context, provider: PaymentProvider) -> str:
    """Where the provider sends its notifications for this box office."""
    return f"{ctx.settings.public_url.rstrip('/')}/api/payments/{provider.name}/notify"


def start_payment(
    ctx: Context,
    provider: PaymentProvider,
    account_id: int,
    order_id: int,
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
            order = own_order(db, account_id, order_id)
            status = effective_order_status(order.status, order.expires_at, ctx.now())
            if status != PENDING_PAYMENT:
                raise Conflict(f"order {order_id} is {status}: nothing to pay", "bad_state")
            open_payment = db.scalar(
                select(Payment).where(
                    Payment.order_id == order_id,
                    Payment.status == "created",
                    Payment.provider == provider.name,
                )
            )
            if open_payment is not None:
                return payment_view(open_payment)
            amount, currency = order.total_cents, order.currency
    try:
        created = provider.create(f"order-{order_id}", amount, currency, notify_url(ctx, provider))
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
        return payment_view(payment) | {"qr_text": created.qr_text}

    return ctx.db.write(work)


def handle_notification(
    ctx: Context, provider: PaymentProvider, headers: dict[str, str], body: bytes
) -> dict[str, Any]:
    """Verify a provider's notification and settle what it vouches for; forged, stale or
    replayed ones are refused."""
    try:
        capture = provider.verify_notification(headers, body)
    except NotificationError as exc:
        raise Unauthorized(f"notification rejected: {exc}", "bad_notification") from None
    return settle(ctx, provider, capture)


class _HoldLost(Exception):
    pass


def settle(ctx: Context, provider: PaymentProvider, capture: Capture) -> dict[str, Any]:
    """Apply one fact the provider vouches for: a paid payment sells its order's hold and issues
    the tickets; a payment that arrives too late is marked for refund. Anything but a capture of
    the exact amount and currency sells nothing."""

    def work(db: Db) -> tuple[str, int]:
        found = db.execute(
            select(Payment, Order)
            .join(Order, Order.id == Payment.order_id)
            .where(Payment.provider_ref == capture.ref, Payment.provider == provider.name)
        ).first()
        if found is None:
            raise NotFound(f"no payment {capture.ref}", "unknown_payment")
        payment, order = found
        if capture.amount_cents != payment.amount_cents or capture.currency != payment.currency:
            raise Invalid(
                f"amount mismatch: notified {capture.amount_cents} {capture.currency}, "
                f"expected {payment.amount_cents} {payment.currency}",
                "amount_mismatch",
            )
        now = ctx.now()
        # A replayed notification id breaks the primary key: IntegrityError, answered 409 below.
        db.connection().execute(
            insert(PaymentNotification).values(
                notify_id=capture.event_id, payment_id=payment.id, received_at=now
            )
        )
        if capture.status != "paid" or payment.status != "created":
            return "ignored", payment.order_id
        if effective_order_status(order.status, order.expires_at, now) != PENDING_PAYMENT:
            _too_late(db, order, payment, now)
            return "refund", order.id
        tickets = db.scalars(select(Ticket).where(Ticket.order_id == order.id).order_by(Ticket.id)).all()
        # One ticket was made per GA place held (checkout), so the tickets say what to move.
        ga_places = Counter(t.ga_id for t in tickets if t.ga_id is not None)
        if not ledger.sell_hold(db, order.hold_id, order.id, ga_places, now):
            raise _HoldLost()
        facts = ctx.catalog.session(db, order.session_id)
        signed = issuing.sign_all(ctx, db, tickets, facts)  # before any ticket write: may fail
        if not order_state.move_if(db, order.id, PENDING_PAYMENT, PAID, paid_at=now):
            raise Conflict(f"order {order.id} changed while its payment arrived", "bad_state")
        set_committed_value(order, "status", PAID)
        set_committed_value(order, "paid_at", now)
        db.connection().execute(
            update(Payment).where(Payment.id == payment.id).values(status="succeeded", settled_at=now)
        )
        set_committed_value(payment, "status", "succeeded")
        set_committed_value(payment, "settled_at", now)
        grouped = group_buy.on_paid(db, order.id, now)  # a group-buy order waits for its group
        if signed is not None and grouped.issue_now:  # else the order stays paid (sweeper issues it)
            issuing.issue_tickets(ctx, db, order, tickets, facts, signed)
        for other in grouped.also_issue:  # this payment filled the group: everyone's tickets
            issuing.issue_in(ctx, db, other)
        return "paid", order.id

    def lost(db: Db) -> tuple[str, int]:
        """The hold lapsed and its seats went to someone else: record the payment, owe a refund."""
        payment = db.scalar(select(Payment).where(Payment.provider_ref == capture.ref))
        assert payment is not None
        if db.get(PaymentNotification, capture.event_id) is not None:
            raise Conflict("notification already processed (replay)", "replayed")
        db.add(PaymentNotification(notify_id=capture.event_id, payment_id=payment.id, received_at=ctx.now()))
        order = db.get(Order, payment.order_id)
        assert order is not None
        _too_late(db, order, payment, ctx.now())
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


def _too_late(db: Db, order: Order, payment: Payment, now: float) -> None:
    """Money for an order that can no longer be sold: close the order and its hold, owe a refund."""
    if order.status == PENDING_PAYMENT:
        order_state.move(
            db, order, PENDING_PAYMENT, EXPIRED, closed_at=now, reason="paid after expiry: refunded"
        )
    ledger.close_hold(db, order.hold_id, "expired", now)
    payment.status = "refund_due"


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
    ctx: Context, providers: ProviderRegistry, account_id: int, order_id: int
) -> dict[str, Any]:
    """Ask each open payment's provider how it stands, for a notification that never arrived;
    what it answers goes through :func:`settle` like a notification."""
    with ctx.db.read() as db:
        own_order(db, account_id, order_id)
        open_payments = db.execute(
            select(Payment.provider, Payment.provider_ref).where(
                Payment.order_id == order_id, Payment.status == "created"
            )
        ).all()
    for name, ref in open_payments:
        if name not in providers:
            continue  # a provider no longer configured: its payments wait for it to come back
        provider = providers.get(name)
        try:
            state = provider.query(ref)
        except PaymentError as exc:
            raise Unavailable(str(exc), "provider_unavailable") from None
        if state.status == "paid":
            with contextlib.suppress(Conflict):  # settled meanwhile by the notification itself
                settle(ctx, provider, state.capture())
    return get_order(ctx, account_id, order_id)


def close_open_payments(ctx: Context, providers: ProviderRegistry, order_id: int) -> None:
    """Close the unpaid provider payments of an order that will not be paid (cancelled), so that
    they can no longer be paid; a provider that cannot be reached is left for reconciliation."""
    with ctx.db.read() as db:
        open_payments = db.execute(
            select(Payment.id, Payment.provider, Payment.provider_ref).where(
                Payment.order_id == order_id, Payment.status == "created"
            )
        ).all()
    for payment_id, name, ref in open_payments:
        if name not in providers:
            continue
        with contextlib.suppress(PaymentError):
            providers.get(name).close(ref)
            ctx.db.write(partial(_mark, payment_id=payment_id, old="created", new="closed"))


def _mark(db: Db, *, payment_id: int, old: str, new: str) -> None:
    db.connection().execute(
        update(Payment).where(Payment.id == payment_id, Payment.status == old).values(status=new)
    )
