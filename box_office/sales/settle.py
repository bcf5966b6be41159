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
import secrets
from collections import Counter
from functools import partial
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as Db
from sqlalchemy.orm.attributes import set_committed_value

from box_office.context import Context
from box_office.core.orders import EXPIRED, PAID, PENDING_PAYMENT, effective_order_status
from box_office.errors import Conflict, Invalid, NotFound, ServiceError, Unauthorized, Unavailable
from box_office.payments.provider import (
    Capture,
    NotificationError,
    PaymentError,
    PaymentProvider,
    PayRequest,
    ProviderRegistry,
    UnknownProvider,
    is_full,
)
from box_office.promotions import group_buy
from box_office.sales import issuing, ledger, order_state
from box_office.sales.views import get_order, own_order, payment_view
from box_office.store.models import Event, Order, Payment, PaymentNotification, Ticket
from box_office.store.models import Session as EventSession


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


def refund_notify_url(ctx: Context, name: str) -> str:
    """Where a provider sends its refund notifications (WeChat Pay: no query string allowed)."""
    return f"{ctx.settings.public_url.rstrip('/')}/api/payments/{name}/refund-notify"


def merchant_order(order_id: int) -> str:
    """Our reference for one payment attempt of an order: unique per attempt (a closed WeChat
    ``out_trade_no`` cannot be paid again), 6 to 32 characters of ``[A-Za-z0-9_-]``."""
    return f"EO{order_id}T{secrets.token_hex(6)}"


def start_payment(
    ctx: Context,
    provider: PaymentProvider,
    account_id: int,
    order_id: int,
    new_order: dict[str, Any] | None = None,
    channel: str = "default",
    client_ip: str = "",
    payer_openid: str = "",
    return_url: str = "",
) -> dict[str, Any]:
    """Create (or return the open) provider payment for an unpaid order.

    ``new_order`` is the view of an order this request has just created (so it is the buyer's,
    unpaid, and has no payment yet): the checks that read the order are skipped.

    The provider is asked first and the payment recorded only with its answer: a provider that
    is down leaves nothing half-made (503, the hold kept until it expires). A notification that
    arrives before that answer finds no payment yet and is answered 404, which the provider
    retries on its schedule; the sweeper's query settles it in any case.
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
        if is_full(provider):
            created = provider.start(  # type: ignore[attr-defined]
                PayRequest(
                    merchant_order=merchant_order(order_id),
                    amount_cents=amount,
                    currency=currency,
                    notify_url=notify_url(ctx, provider),
                    description=_description(ctx, order_id),
                    channel=channel,
                    client_ip=client_ip,
                    payer_openid=payer_openid,
                    return_url=return_url,
                )
            )
        else:
            created = provider.create(f"order-{order_id}", amount, currency, notify_url(ctx, provider))
    except PaymentError as exc:
        raise Unavailable(
            f"{provider.name} is unavailable, try again or pay another way: {exc}", "provider_unavailable"
        ) from None

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
        view = payment_view(payment) | {"qr_text": created.qr_text, "channel": created.channel}
        if created.client_params:
            view["client_params"] = dict(created.client_params)
        return view

    return ctx.db.write(work)


def _description(ctx: Context, order_id: int) -> str:
    """What the buyer sees on the provider's page: the event's name and our order number."""
    with ctx.db.read() as db:
        found = db.execute(
            select(Event.name, EventSession.name)
            .join(EventSession, EventSession.event_id == Event.id)
            .join(Order, Order.session_id == EventSession.id)
            .where(Order.id == order_id)
        ).first()
    what = f"{found[0]} · {found[1]}" if found else "Encore"
    return f"{what} #{order_id}"[:120]


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
    """Refund every payment marked refund_due (of one order, or all): retried until the provider agrees.

    Providers with asynchronous refunds (WeChat Pay, Alipay, cards) go through
    :mod:`box_office.sales.refunding` (one refund number, retried with back-off, followed until final)."""
    if is_full(provider):
        from box_office.sales.refunding import refund_owed

        return refund_owed(ctx, provider, order_id)
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


def handle_refund_notification(
    ctx: Context, provider: PaymentProvider, headers: dict[str, str], body: bytes
) -> dict[str, Any]:
    """Verify a provider's refund notification and record the refund's new state."""
    from box_office.sales.refunding import apply_refund_state

    if not is_full(provider):
        raise NotFound(f"{provider.name} sends no refund notifications", "unknown_provider")
    try:
        state = provider.verify_refund_notification(headers, body)  # type: ignore[attr-defined]
    except NotificationError as exc:
        raise Unauthorized(f"notification rejected: {exc}", "bad_notification") from None
    return {"outcome": apply_refund_state(ctx, provider, state), "refund_no": state.refund_no}


_LAST_ASKED: dict[tuple[str, int], float] = {}
"""When this process last asked a provider about an open payment, by (database, payment id): a
process may serve more than one database (tests do), and payment ids repeat across databases."""


def query_pending(
    ctx: Context, providers: ProviderRegistry, older_than: float = 60.0, limit: int = 50, every: float = 60.0
) -> int:
    """Ask the provider about payments still open after ``older_than`` seconds (a notification
    lost or late), each at most once per ``every`` seconds (providers rate-limit queries): paid
    ones settle through :func:`settle`; unpaid ones of an order that can no longer be paid are
    closed at the provider, so they cannot be paid later. The sandbox is left out (reconciled
    on the buyer's request)."""
    now = ctx.now()
    names = [p.name for p in providers if is_full(p)]
    if not names:
        return 0
    with ctx.db.read() as db:
        rows = db.execute(
            select(Payment.id, Payment.provider, Payment.provider_ref, Order.status, Order.expires_at)
            .join(Order, Order.id == Payment.order_id)
            .where(
                Payment.status == "created",
                Payment.provider.in_(names),
                Payment.created_at < now - older_than,
            )
            .order_by(Payment.created_at)
            .limit(limit * 4)
        ).all()
    for stale in [k for k, at in _LAST_ASKED.items() if at < now - 3600]:
        _LAST_ASKED.pop(stale, None)
    settled = 0
    asked = 0
    for payment_id, name, ref, order_status, expires_at in rows:
        key = (ctx.settings.database_url, payment_id)
        if asked >= limit or _LAST_ASKED.get(key, float("-inf")) > now - every:
            continue
        _LAST_ASKED[key] = now
        asked += 1
        provider = providers.get(name)
        try:
            state = provider.query(ref)
            if state.status == "paid":
                with contextlib.suppress(Conflict):
                    settle(ctx, provider, state.capture())
                    settled += 1
            elif state.status == "closed" or (
                effective_order_status(order_status, expires_at, now) != PENDING_PAYMENT
            ):
                if state.status != "closed":
                    provider.close(ref)
                ctx.db.write(partial(_mark, payment_id=payment_id, old="created", new="closed"))
        except (PaymentError, ServiceError):
            continue  # asked again at the next sweep (a refusal is logged by settle's caller)
    return settled
