"""Buyer refund requests under the order's snapshotted policy, the promoter's queue, and the
money going back through the payment's own provider.

- :func:`preview` answers "how much would I get back now" (nothing written).
- :func:`request_refund`: within policy the request is approved at once; outside it (past the
  deadline, whole-order-only, refund right used) it waits in the promoter's queue
  (:func:`decide`); a ticket already used at the gate, or nothing left, is refused (409 with
  the policy's stable reason code).
- Approving is one transaction under the order's row lock (``FOR UPDATE`` on PostgreSQL; SQLite's
  ``BEGIN IMMEDIATE`` serialises writers anyway): the amount is capped by what was paid minus
  every refund already done *or pending*, so concurrent requests can never return more than was
  paid; the tickets are revoked at the gates through the feed in that same transaction.
- :func:`execute_refund` then calls the provider. A refund row is claimed with a lease, at most
  one per payment in flight; a retry after a crash first asks the provider how much it has
  refunded (``refund_status``), so a refund that did reach the provider is never sent twice.
"""

from __future__ import annotations

import os
import socket
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session as Db

from box_office.aftersales import invoices
from box_office.aftersales.refund_terms import order_terms, order_terms_json
from box_office.catalog.ownership import owned_event
from box_office.context import Context
from box_office.core.invoice_rules import SALES_RETURN, SERVICE_SUSPENSION
from box_office.core.orders import REFUNDED, SOLD, TICKETED
from box_office.core.refund_policy import HARD_REFUSALS, Quote, TicketLine, quote
from box_office.errors import Conflict, Forbidden, Invalid, NotFound
from box_office.feed import service as feed
from box_office.payments.provider import PaymentError, ProviderRegistry, UnknownProvider
from box_office.sales import ledger, order_state
from box_office.store.models import BulkJob, Event, Order, Payment, Refund, RefundRequest, Session, Ticket

OPEN_REQUESTS = ("pending_approval", "approved")
LIVE_REFUNDS = ("pending", "submitting", "succeeded")
LEASE_SECONDS = 300.0
"""How long a claimed refund is left to its claimer: longer than any provider call may take."""

_NO_SYNC = {"synchronize_session": False}
CLAIMER = f"{socket.gethostname()}:{os.getpid()}"


def claimer_alive(claimed_by: str | None) -> bool:
    """Is the process that claimed a refund still running? Only knowable on this host (else
    assumed alive until its lease runs out): a claim of a killed process here is taken over
    at once, and the provider's ``refund_status`` says whether its refund went through."""
    if not claimed_by:
        return False
    host, _, pid = claimed_by.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True
    if int(pid) == os.getpid():
        return claimed_by == CLAIMER
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# ------------------------------------------------------------------ reading the facts


def lock_order(db: Db, order_id: int) -> Order:
    order = db.scalar(select(Order).where(Order.id == order_id).with_for_update())
    if order is None:
        raise NotFound(f"no order {order_id}")
    return order


def paid_payment(db: Db, order_id: int) -> Payment | None:
    return db.scalar(
        select(Payment)
        .where(Payment.order_id == order_id, Payment.status.in_(("succeeded", "refunded")))
        .order_by(Payment.id)
    )


def remaining_cents(db: Db, payment: Payment) -> int:
    """What was paid minus every refund done or pending: the most any new refund may return."""
    taken = db.scalar(
        select(func.coalesce(func.sum(Refund.amount_cents), 0)).where(
            Refund.payment_id == payment.id, Refund.status.in_(LIVE_REFUNDS)
        )
    )
    return int(payment.amount_cents) - int(taken or 0)


def claimed_tickets(db: Db, order_id: int, but: int | None = None) -> set[str]:
    """Tickets of the order already in an open or done request (refunded, or waiting for it)."""
    query = select(RefundRequest.id, RefundRequest.ticket_ids).where(
        RefundRequest.order_id == order_id, RefundRequest.status.in_(OPEN_REQUESTS)
    )
    return {t for rid, ids in db.execute(query).all() if rid != but for t in ids}


def _right_used(db: Db, account_id: int, session_id: int) -> bool:
    """Has this account already had a refund (under the policy) for this show?"""
    return (
        db.scalar(
            select(RefundRequest.id).where(
                RefundRequest.account_id == account_id,
                RefundRequest.session_id == session_id,
                RefundRequest.status == "approved",
                RefundRequest.basis.in_(("tier", "grace")),
            )
        )
        is not None
    )


def quote_order(
    ctx: Context,
    db: Db,
    order: Order,
    wanted: Sequence[str] | None,
    *,
    force_majeure: bool = False,
    exception_percent: int | None = None,
    but: int | None = None,
) -> Quote:
    if order.status == REFUNDED:
        raise Conflict(f"order {order.id} is already refunded", "already_refunded")
    if order.status not in SOLD:
        raise Conflict(f"order {order.id} is {order.status}: nothing to refund", "bad_state")
    if order.status != TICKETED:
        raise Conflict(f"order {order.id} is still being ticketed: try again in a moment", "not_ticketed")
    payment = paid_payment(db, order.id)
    if payment is None:
        raise Conflict(f"order {order.id} has no captured payment", "nothing_to_refund")
    policy, purchased_at = order_terms(db, order.id)
    session = db.get(Session, order.session_id)
    assert session is not None
    claimed = claimed_tickets(db, order.id, but)
    tickets = db.scalars(select(Ticket).where(Ticket.order_id == order.id).order_by(Ticket.id)).all()
    lines = [
        TicketLine(
            t.id,
            t.price_cents,
            entered=t.checked_in_at is not None,
            refunded=t.id in claimed or t.status == "revoked",
        )
        for t in tickets
    ]
    postponed = db.scalar(
        select(BulkJob.id).where(
            BulkJob.session_id == order.session_id,
            BulkJob.kind == "postpone",
            BulkJob.refund_until > ctx.now(),
        )
    )
    return quote(
        policy,
        lines,
        wanted,
        purchased_at=purchased_at if purchased_at is not None else order.paid_at or order.created_at,
        starts_at=session.starts_at,
        now=ctx.now(),
        remaining_cents=remaining_cents(db, payment),
        right_used=_right_used(db, order.account_id, order.session_id),
        force_majeure=force_majeure or postponed is not None,  # the postponement's refund window
        exception_percent=exception_percent,
    )


def _quote_view(q: Quote, order: Order, policy: dict[str, Any]) -> dict[str, Any]:
    return {
        "order_id": order.id,
        "ticket_ids": list(q.ticket_ids),
        "amount_cents": q.amount_cents,
        "currency": order.currency,
        "percent": q.percent,
        "fee_cents": q.fee_cents,
        "basis": q.basis,
        "reason": q.reason,
        "within_policy": q.within_policy,
        "needs_approval": q.approvable,
        "policy": policy,
    }


def _own(order: Order, account_id: int) -> None:
    if order.account_id != account_id:
        raise Forbidden(f"order {order.id} belongs to another buyer")


# ------------------------------------------------------------------ buyers


def preview(ctx: Context, account_id: int, order_id: int, ticket_ids: Sequence[str] | None) -> dict[str, Any]:
    """How much refunding these tickets (all by default) would return now, and whether it needs
    the promoter. Nothing is written."""
    with ctx.db.read() as db:
        order = db.get(Order, order_id)
        if order is None:
            raise NotFound(f"no order {order_id}")
        _own(order, account_id)
        q = quote_order(ctx, db, order, ticket_ids)
        return _quote_view(q, order, order_terms_json(db, order_id))


def request_refund(
    ctx: Context,
    providers: ProviderRegistry,
    account_id: int,
    order_id: int,
    ticket_ids: Sequence[str] | None,
) -> dict[str, Any]:
    """The buyer asks for a refund: approved (and paid back) at once within policy, queued for the
    promoter outside it, refused with a reason code when nothing can grant it."""

    def work(db: Db) -> int:
        order = lock_order(db, order_id)
        _own(order, account_id)
        q = quote_order(ctx, db, order, ticket_ids)
        if q.reason in HARD_REFUSALS:
            raise Conflict(f"refund refused: {q.reason}", q.reason)
        request = RefundRequest(
            order_id=order.id,
            account_id=account_id,
            session_id=order.session_id,
            ticket_ids=list(q.ticket_ids),
            amount_cents=q.amount_cents,
            percent=q.percent,
            fee_cents=q.fee_cents,
            basis=q.basis,
            reason=q.reason,
            status="pending_approval",
            created_at=ctx.now(),
        )
        db.add(request)
        db.flush()
        if q.within_policy:
            approve_in(ctx, db, order, request, q, decided_by=None)
        return request.id

    request_id = ctx.db.write(work)
    run_refunds(ctx, providers, request_id)
    return request_view(ctx, request_id)


def approve_in(
    ctx: Context, db: Db, order: Order, request: RefundRequest, q: Quote, decided_by: int | None
) -> None:
    """Approve a request in the caller's transaction (the order row already locked): record the
    refund owed, revoke the tickets at the gates, put their seats back, close the order if no
    ticket is left. The provider is called after commit (:func:`run_refunds`)."""
    now = ctx.now()
    payment = paid_payment(db, order.id)
    assert payment is not None
    amount = min(q.amount_cents, remaining_cents(db, payment))
    request.status = "approved"
    request.amount_cents = amount
    request.percent = q.percent
    request.fee_cents = q.fee_cents
    request.basis = q.basis
    request.decided_at = now
    request.decided_by = decided_by
    if amount > 0:
        seq = db.scalar(select(func.count(Refund.id)).where(Refund.order_id == order.id)) or 0
        db.add(
            Refund(
                refund_no=f"R{order.id}-{seq + 1}",
                request_id=request.id,
                order_id=order.id,
                payment_id=payment.id,
                provider=payment.provider,
                amount_cents=amount,
                status="pending",
                attempts=0,
                created_at=now,
            )
        )
    reason = SERVICE_SUSPENSION if q.basis == "force_majeure" else SALES_RETURN
    invoices.credit_in(ctx, db, order.id, list(q.ticket_ids), amount, reason)
    revoke_tickets(ctx, db, order, set(q.ticket_ids))


def revoke_tickets(ctx: Context, db: Db, order: Order, ticket_ids: set[str]) -> None:
    """Revoke these tickets of the order (feed entries: the gates refuse them), return their
    seats, and move the order to refunded once none of its tickets is left."""
    now = ctx.now()
    facts = ctx.catalog.session(db, order.session_id)
    tickets = db.scalars(select(Ticket).where(Ticket.order_id == order.id)).all()
    changes: list[tuple[str, Ticket, bool]] = []
    seats: list[str] = []
    areas: Counter[int] = Counter()
    for ticket in tickets:
        if ticket.id not in ticket_ids or ticket.status == "revoked":
            continue
        if ticket.ga_id is not None:
            areas[ticket.ga_id] += 1
        elif ticket.seat_label is not None:
            seats.append(ticket.seat_label)
        if ticket.status == "valid":
            changes.append(("revoked", ticket, facts.real_name))
        ticket.status = "revoked"
    ledger.return_tickets(db, order.id, seats, areas, now)
    if all(t.status == "revoked" for t in tickets) and order.status in SOLD:
        order_state.move(db, order, tuple(SOLD), REFUNDED, closed_at=now, reason="refunded")
    feed.append(ctx, db, changes)


# ------------------------------------------------------------------ promoters


def _owned_request(db: Db, organiser_id: int, request_id: int) -> tuple[RefundRequest, Order]:
    request = db.get(RefundRequest, request_id)
    if request is None:
        raise NotFound(f"no refund request {request_id}")
    session = db.get(Session, request.session_id)
    assert session is not None
    owned_event(db, organiser_id, session.event_id)
    order = db.get(Order, request.order_id)
    assert order is not None
    return request, order


def queue(
    ctx: Context, organiser_id: int, event_id: int, status: str = "pending_approval"
) -> list[dict[str, Any]]:
    """The promoter's queue of requests for one of their events."""
    with ctx.db.read() as db:
        owned_event(db, organiser_id, event_id)
        ids = db.scalars(
            select(RefundRequest.id)
            .join(Session, Session.id == RefundRequest.session_id)
            .where(Session.event_id == event_id, RefundRequest.status == status)
            .order_by(RefundRequest.created_at, RefundRequest.id)
        ).all()
        return [_request_view(db, db.get(RefundRequest, rid)) for rid in ids]  # type: ignore[arg-type]


def decide(
    ctx: Context,
    providers: ProviderRegistry,
    organiser_id: int,
    request_id: int,
    *,
    approve: bool,
    percent: int | None,
    note: str | None,
) -> dict[str, Any]:
    """The promoter approves a queued request (as an exception, at ``percent``: 100 by default)
    or denies it (its tickets stay valid)."""
    if percent is not None and not 0 <= percent <= 100:
        raise Invalid("percent must be 0..100", "bad_percent")

    def work(db: Db) -> None:
        request, order = _owned_request(db, organiser_id, request_id)
        order = lock_order(db, order.id)
        db.refresh(request)
        if request.status != "pending_approval":
            raise Conflict(f"refund request {request_id} is already {request.status}", "already_decided")
        request.note = note
        if not approve:
            request.status = "denied"
            request.decided_at = ctx.now()
            request.decided_by = organiser_id
            return
        q = quote_order(
            ctx,
            db,
            order,
            request.ticket_ids,
            exception_percent=100 if percent is None else percent,
            but=request.id,
        )
        if q.reason is not None:
            raise Conflict(f"refund refused: {q.reason}", q.reason)
        approve_in(ctx, db, order, request, q, decided_by=organiser_id)

    ctx.db.write(work)
    if approve:
        run_refunds(ctx, providers, request_id)
    return request_view(ctx, request_id)


# ------------------------------------------------------------------ money back


BUSY_WAIT_SECONDS = 5.0
"""How long a request waits for another refund of the same payment to come back from the
provider before leaving its own to the sweeper."""


def run_refunds(ctx: Context, providers: ProviderRegistry, request_id: int) -> None:
    """Send the request's refunds now; one that waits behind another refund of the same payment
    (concurrent requests on one order) is tried again until that one is back."""
    with ctx.db.read() as db:
        ids = db.scalars(
            select(Refund.id).where(Refund.request_id == request_id, Refund.status == "pending")
        ).all()
    deadline = time.monotonic() + BUSY_WAIT_SECONDS
    for refund_id in ids:
        while execute_refund(ctx, providers, refund_id) == "busy" and time.monotonic() < deadline:
            time.sleep(0.02)


def retry_refunds(ctx: Context, providers: ProviderRegistry) -> int:
    """Every refund still owed (pending, or a claim whose lease ran out): for the sweeper."""
    with ctx.db.read() as db:
        ids = db.scalars(
            # a live claim is left alone by execute_refund itself
            select(Refund.id).where(Refund.status.in_(("pending", "submitting")))
        ).all()
    return sum(execute_refund(ctx, providers, refund_id) == "succeeded" for refund_id in ids)


@dataclass(frozen=True)
class Claimed:
    """A refund this process may now send: the provider, the payment's reference, the amount,
    whether an earlier attempt may have reached the provider, and what was refunded before."""

    refund_id: int
    provider: str
    ref: str
    amount: int
    tried_before: bool
    done_before: int


def claim_refunds(ctx: Context, refund_ids: Sequence[int]) -> tuple[list[Claimed], dict[int, str]]:
    """Claim these refunds in one transaction (the payments' rows locked): (claimed, the status
    of those not claimed: succeeded, submitting elsewhere, or pending behind another refund of
    the same payment)."""

    def work(db: Db) -> tuple[list[Claimed], dict[int, str]]:
        now = ctx.now()
        refunds = db.scalars(
            select(Refund).where(Refund.id.in_(refund_ids)).order_by(Refund.payment_id)
        ).all()
        payment_ids = sorted({r.payment_id for r in refunds})
        payments = {
            p.id: p
            for p in db.scalars(select(Payment).where(Payment.id.in_(payment_ids)).with_for_update()).all()
        }
        for refund in refunds:
            db.refresh(refund)
        siblings = db.execute(
            select(
                Refund.id,
                Refund.payment_id,
                Refund.status,
                Refund.lease_until,
                Refund.claimed_by,
                Refund.amount_cents,
            ).where(Refund.payment_id.in_(payment_ids))
        ).all()
        claimed: list[Claimed] = []
        others: dict[int, str] = {}
        busy: set[int] = set()
        for _id, payment_id, status, lease, owner, _amount in siblings:
            if status == "submitting" and (lease or 0) > now and claimer_alive(owner):
                busy.add(payment_id)  # one refund per payment in flight: reconciliation relies on it
        done: dict[int, int] = {}
        for _id, payment_id, status, _lease, _owner, amount in siblings:
            if status == "succeeded":
                done[payment_id] = done.get(payment_id, 0) + int(amount)
        for refund in refunds:
            if refund.status == "succeeded":
                others[refund.id] = "succeeded"
                continue
            if refund.payment_id in busy:
                # "busy": another refund of the same payment is at the provider right now
                others[refund.id] = "submitting" if refund.status == "submitting" else "busy"
                continue
            busy.add(refund.payment_id)
            claimed.append(
                Claimed(
                    refund.id,
                    refund.provider,
                    payments[refund.payment_id].provider_ref,
                    int(refund.amount_cents),
                    refund.attempts > 0,
                    done.get(refund.payment_id, 0),
                )
            )
            refund.status = "submitting"
            refund.attempts += 1
            refund.lease_until = now + LEASE_SECONDS
            refund.claimed_by = CLAIMER
        return claimed, others

    return ctx.db.write(work)


def send_refund(providers: ProviderRegistry, claim: Claimed) -> str | None:
    """Send one claimed refund to its provider; None on success, else the provider's error. A
    refund claimed before (its claimer died) is first looked up: if the provider already
    refunded it, it is not sent again."""
    try:
        provider = providers.get(claim.provider)
        if claim.tried_before:
            already = provider.refund_status(claim.ref).refunded_cents
            if already >= claim.done_before + claim.amount:
                return None
        provider.refund(claim.ref, claim.amount)
    except (PaymentError, UnknownProvider) as exc:
        return str(exc)[:500] or type(exc).__name__
    return None


def finish_refunds(ctx: Context, outcomes: dict[int, str | None]) -> None:
    """Record what the provider answered (refund id -> None for done, else the error), at once."""
    ok = [refund_id for refund_id, error in outcomes.items() if error is None]
    failed = {refund_id: error for refund_id, error in outcomes.items() if error is not None}

    def work(db: Db) -> None:
        now = ctx.now()
        for refund_id, error in failed.items():
            _release(db, refund_id=refund_id, error=error)
        if not ok:
            return
        db.execute(
            update(Refund)
            .where(Refund.id.in_(ok), Refund.status == "submitting")
            .values(status="succeeded", done_at=now, lease_until=None)
            .execution_options(**_NO_SYNC)
        )
        payment_ids = db.scalars(select(Refund.payment_id).where(Refund.id.in_(ok))).all()
        refunded = (
            select(Refund.payment_id)
            .where(Refund.payment_id.in_(payment_ids), Refund.status == "succeeded")
            .group_by(Refund.payment_id)
            .having(func.sum(Refund.amount_cents) >= _payment_amount)
        )
        db.execute(
            update(Payment)
            .where(Payment.id.in_(refunded))
            .values(status="refunded", settled_at=now)
            .execution_options(**_NO_SYNC)
        )

    ctx.db.write(work)


_payment_amount = select(Payment.amount_cents).where(Payment.id == Refund.payment_id).scalar_subquery()


def execute_refund(ctx: Context, providers: ProviderRegistry, refund_id: int) -> str:
    """Send one refund to its payment's provider, at most once: returns its status afterwards."""
    claimed, others = claim_refunds(ctx, [refund_id])
    if not claimed:
        if refund_id not in others:
            raise NotFound(f"no refund {refund_id}")
        return others[refund_id]
    error = send_refund(providers, claimed[0])
    finish_refunds(ctx, {refund_id: error})
    return "succeeded" if error is None else "pending"


def _release(db: Db, *, refund_id: int, error: str) -> None:
    db.connection().execute(
        update(Refund)
        .where(Refund.id == refund_id, Refund.status == "submitting")
        .values(status="pending", lease_until=None, last_error=error)
        .execution_options(**_NO_SYNC)
    )


# ------------------------------------------------------------------ views


def _request_view(db: Db, request: RefundRequest) -> dict[str, Any]:
    refunds = db.scalars(select(Refund).where(Refund.request_id == request.id).order_by(Refund.id)).all()
    order = db.get(Order, request.order_id)
    session = db.get(Session, request.session_id)
    event = db.get(Event, session.event_id) if session is not None else None
    return {
        "id": request.id,
        "order_id": request.order_id,
        "session_id": request.session_id,
        "event_id": event.id if event is not None else None,
        "event_name": event.name if event is not None else None,
        "ticket_ids": list(request.ticket_ids),
        "amount_cents": request.amount_cents,
        "currency": order.currency if order is not None else None,
        "percent": request.percent,
        "fee_cents": request.fee_cents,
        "basis": request.basis,
        "reason": request.reason,
        "status": request.status,
        "note": request.note,
        "created_at": request.created_at,
        "decided_at": request.decided_at,
        "refunds": [
            {
                "refund_no": r.refund_no,
                "amount_cents": r.amount_cents,
                "provider": r.provider,
                "status": r.status,
            }
            for r in refunds
        ],
    }


def request_view(ctx: Context, request_id: int) -> dict[str, Any]:
    with ctx.db.read() as db:
        request = db.get(RefundRequest, request_id)
        if request is None:
            raise NotFound(f"no refund request {request_id}")
        return _request_view(db, request)


def buyer_request(ctx: Context, account_id: int, request_id: int) -> dict[str, Any]:
    with ctx.db.read() as db:
        request = db.get(RefundRequest, request_id)
        if request is None:
            raise NotFound(f"no refund request {request_id}")
        if request.account_id != account_id:
            raise Forbidden(f"refund request {request_id} belongs to another buyer")
        return _request_view(db, request)


def order_requests(ctx: Context, account_id: int, order_id: int) -> list[dict[str, Any]]:
    with ctx.db.read() as db:
        order = db.get(Order, order_id)
        if order is None:
            raise NotFound(f"no order {order_id}")
        _own(order, account_id)
        rows = db.scalars(
            select(RefundRequest).where(RefundRequest.order_id == order_id).order_by(RefundRequest.id)
        )
        return [_request_view(db, r) for r in rows]
