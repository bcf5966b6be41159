"""Refunds through the providers: asked once under our own refund number, retried with back-off,
their state followed by query or notification until it is final, visible through the API.

A refund row is written *before* the provider is asked, with its number (WeChat
``out_refund_no``, Alipay ``out_request_no``); every retry sends that same number, so a retry
after a timeout can never refund twice. The limits (never more than was paid, pending refunds
counting; at most 50 per payment) are the pure rules of :mod:`box_office.core.payment_rules`.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session as Db

from box_office.context import Context
from box_office.core.errors import RuleError
from box_office.core.payment_rules import check_refund, refund_backoff, refund_transition
from box_office.errors import Conflict, Invalid, NotFound
from box_office.payments.provider import (
    PaymentError,
    PaymentProvider,
    ProviderRegistry,
    RefundState,
    is_full,
)
from box_office.payments.refund_table import PaymentRefund
from box_office.store.models import Event, Order, Payment

log = logging.getLogger(__name__)
REFUNDABLE = ("succeeded", "refund_due", "refunded")


def refund_view(row: PaymentRefund) -> dict[str, Any]:
    return {
        "refund_no": row.refund_no,
        "payment_id": row.payment_id,
        "provider": row.provider,
        "amount_cents": row.amount_cents,
        "status": row.status,
        "attempts": row.attempts,
        "next_try_at": row.next_try_at if row.status == "pending" else None,
        "last_error": row.last_error or None,
        "provider_refund_id": row.provider_refund_id or None,
    }


def refunds_of(ctx: Context, payment_ids: list[int]) -> list[dict[str, Any]]:
    with ctx.db.read() as db:
        rows = db.scalars(
            select(PaymentRefund)
            .where(PaymentRefund.payment_id.in_(payment_ids))
            .order_by(PaymentRefund.created_at, PaymentRefund.refund_no)
        ).all()
        return [refund_view(r) for r in rows]


def order_refunds(
    ctx: Context, order_id: int, *, account_id: int | None = None, organiser_id: int | None = None
) -> list[dict[str, Any]]:
    """The refunds of an order's payments (its buyer or its event's organiser only)."""
    from box_office.sales.views import own_order

    with ctx.db.read() as db:
        if account_id is not None:
            own_order(db, account_id, order_id)
        else:
            _organisers_order(db, order_id, organiser_id)
        ids = list(db.scalars(select(Payment.id).where(Payment.order_id == order_id)))
    return refunds_of(ctx, ids)


def _organisers_order(db: Db, order_id: int, organiser_id: int | None) -> Order:
    from box_office.catalog.ownership import load_session
    from box_office.errors import Forbidden

    order = db.get(Order, order_id)
    if order is None:
        raise NotFound(f"no order {order_id}")
    event = db.get(Event, load_session(db, order.session_id).event_id)
    if event is None or event.organiser_id != organiser_id:
        raise Forbidden(f"order {order_id} is for another organiser's event")
    return order


def refund_order_payment(
    ctx: Context,
    providers: ProviderRegistry,
    organiser_id: int,
    order_id: int,
    amount_cents: int,
    reason: str,
) -> dict[str, Any]:
    """An organiser refunds part (or all) of an order's paid payment, through its provider."""
    with ctx.db.read() as db:
        _organisers_order(db, order_id, organiser_id)
        payment = db.scalar(
            select(Payment)
            .where(Payment.order_id == order_id, Payment.status.in_(REFUNDABLE))
            .order_by(Payment.id)
        )
        if payment is None:
            raise Conflict(f"order {order_id} has no paid payment to refund", "not_paid")
        name, payment_id = payment.provider, payment.id
    if name not in providers:
        raise Conflict(f"provider {name} is not configured here", "unknown_provider")
    return request_refund(ctx, providers.get(name), payment_id, amount_cents, reason or "partial refund")


def request_refund(
    ctx: Context, provider: PaymentProvider, payment_id: int, amount_cents: int, reason: str
) -> dict[str, Any]:
    """Refund ``amount_cents`` of a paid payment (all of it or part); refused beyond what was
    paid. The provider is asked at once; if it cannot be reached the refund stays pending and
    the sweeper asks again with back-off."""

    def work(db: Db) -> str:
        payment = db.execute(
            select(Payment).where(Payment.id == payment_id).with_for_update()
        ).scalar_one_or_none()
        if payment is None or payment.provider != provider.name:
            raise NotFound(f"no payment {payment_id} with {provider.name}", "unknown_payment")
        if payment.status not in REFUNDABLE:
            raise Conflict(f"payment {payment_id} is {payment.status}: nothing to refund", "not_paid")
        existing = db.execute(
            select(PaymentRefund.amount_cents, PaymentRefund.status).where(
                PaymentRefund.payment_id == payment_id
            )
        ).all()
        try:
            number = check_refund(payment.amount_cents, [(a, s) for a, s in existing], amount_cents)
        except RuleError as exc:
            raise Conflict(str(exc), exc.code) from None
        now = ctx.now()
        refund_no = f"{payment.provider_ref}R{number:02d}"[-64:]
        db.add(
            PaymentRefund(
                refund_no=refund_no,
                payment_id=payment_id,
                provider=provider.name,
                amount_cents=amount_cents,
                status="pending",
                reason=reason[:200],
                accepted=0,
                attempts=0,
                next_try_at=now,
                provider_refund_id="",
                last_error="",
                created_at=now,
                updated_at=now,
            )
        )
        return refund_no

    refund_no = ctx.db.write(work)
    attempt(ctx, provider, refund_no)
    with ctx.db.read() as db:
        row = db.get(PaymentRefund, refund_no)
        assert row is not None
        return refund_view(row)


def _ask(provider: PaymentProvider, row: PaymentRefund, ref: str, total: int) -> RefundState:
    """Ask the provider (again, same number), or ask how it stands once it accepted it."""
    if not is_full(provider):  # the sandbox refunds at once, synchronously
        provider.refund(ref, row.amount_cents)
        return RefundState(row.refund_no, ref, row.amount_cents, "succeeded")
    if row.accepted:
        return provider.refund_query(ref, row.refund_no)  # type: ignore[attr-defined, no-any-return]
    return provider.start_refund(ref, row.refund_no, row.amount_cents, total, row.reason)  # type: ignore[attr-defined, no-any-return]


def attempt(ctx: Context, provider: PaymentProvider, refund_no: str) -> str:
    """One try at a pending refund; its outcome recorded (failure: the next try is scheduled)."""
    with ctx.db.read() as db:
        found = db.execute(
            select(PaymentRefund, Payment.provider_ref, Payment.amount_cents)
            .join(Payment, Payment.id == PaymentRefund.payment_id)
            .where(PaymentRefund.refund_no == refund_no)
        ).first()
        if found is None or found[0].status != "pending":
            return "ignored"
        row, ref, total = found
        db.expunge(row)
    try:
        state = _ask(provider, row, ref, total)
    except PaymentError as exc:
        message = str(exc)[:300]
        log.warning("refund %s of %s: %s (attempt %d)", refund_no, ref, message, row.attempts + 1)
        limited = "FREQUENCY_LIMITED" in message or "429" in message
        now = ctx.now()
        ctx.db.write(
            lambda db: db.execute(
                update(PaymentRefund)
                .where(PaymentRefund.refund_no == refund_no, PaymentRefund.status == "pending")
                .values(
                    attempts=PaymentRefund.attempts + 1,
                    next_try_at=now + refund_backoff(row.attempts + 1, limited),
                    last_error=message,
                    updated_at=now,
                )
            )
        )
        return "retry"
    return apply_refund_state(ctx, provider, state)


def apply_refund_state(ctx: Context, provider: PaymentProvider, state: RefundState) -> str:
    """Record what the provider says of one of our refunds (by answer, query or notification).

    A final state never changes again (a late or out-of-order report is ignored); when the
    refunds that succeeded add up to the whole payment, the payment is ``refunded``."""

    def work(db: Db) -> str:
        row = db.execute(
            select(PaymentRefund).where(PaymentRefund.refund_no == state.refund_no).with_for_update()
        ).scalar_one_or_none()
        if row is None or row.provider != provider.name:
            raise NotFound(f"no refund {state.refund_no}", "unknown_refund")
        payment = db.get(Payment, row.payment_id)
        assert payment is not None
        if state.ref != payment.provider_ref or state.amount_cents not in (0, row.amount_cents):
            raise Invalid(f"refund {state.refund_no} does not match our books", "refund_mismatch")
        now = ctx.now()
        row.accepted = 1
        row.provider_refund_id = state.provider_refund_id or row.provider_refund_id
        row.updated_at = now
        new = refund_transition(row.status, state.status)
        if new is None:
            if row.status == "pending":  # still processing: look again later
                row.attempts += 1
                row.next_try_at = now + refund_backoff(row.attempts)
            return "ignored"
        row.status = new
        if new == "succeeded":
            db.flush()
            done = db.scalar(
                select(func.coalesce(func.sum(PaymentRefund.amount_cents), 0)).where(
                    PaymentRefund.payment_id == payment.id, PaymentRefund.status == "succeeded"
                )
            )
            if done == payment.amount_cents:
                payment.status = "refunded"
        return new

    outcome = ctx.db.write(work)
    log.info("refund %s of %s: %s (%s)", state.refund_no, state.ref, state.status, outcome)
    return outcome


def retry_refunds(ctx: Context, providers: ProviderRegistry, limit: int = 100) -> int:
    """Ask again about every pending refund whose time has come (sweeper)."""
    now = ctx.now()
    with ctx.db.read() as db:
        due = db.execute(
            select(PaymentRefund.refund_no, PaymentRefund.provider)
            .where(PaymentRefund.status == "pending", PaymentRefund.next_try_at <= now)
            .order_by(PaymentRefund.next_try_at)
            .limit(limit)
        ).all()
    done = 0
    for refund_no, name in due:
        if name in providers:
            attempt(ctx, providers.get(name), refund_no)
            done += 1
    return done


def refund_owed(ctx: Context, provider: PaymentProvider, order_id: int | None = None) -> int:
    """Start a full refund for every ``refund_due`` payment of a full provider that has none
    under way yet (paid after its order expired, or its order refunded)."""
    with ctx.db.read() as db:
        query = select(Payment.id, Payment.amount_cents).where(
            Payment.status == "refund_due",
            Payment.provider == provider.name,
            ~select(PaymentRefund.refund_no).where(PaymentRefund.payment_id == Payment.id).exists(),
        )
        if order_id is not None:
            query = query.where(Payment.order_id == order_id)
        due = db.execute(query).all()
    started = 0
    for payment_id, amount in due:
        try:
            request_refund(ctx, provider, payment_id, amount, "订单已取消或过期 order cancelled or expired")
        except Conflict:
            continue  # another process started it meanwhile
        started += 1
    return started
