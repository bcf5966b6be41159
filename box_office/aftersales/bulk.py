"""Cancelling a whole session: every order refunded in full (force majeure), its tickets revoked
at the gates, every buyer told by e-mail and SMS (Chinese and English). Resumable and shared.

The job is a table (``bulk_jobs``) with one row per order (``bulk_job_orders``) that moves
``todo -> refunding -> notifying -> done``; every step is its own transaction, so a worker killed
at any point (kill -9) leaves each order in a state the next run continues from:

- ``todo``: nothing done yet. A batch is taken (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so
  several workers share the job; SQLite serialises writers anyway) and each order gets a
  force-majeure refund request, approved, with its refund row (deterministic ``refund_no``) and
  its tickets revoked through the feed, in one transaction with the move to ``refunding``.
- ``refunding``: the money goes back through :func:`refund_requests.execute_refund`, which never
  sends one refund twice (claimed per refund; a dead claimer's refund is reconciled with the
  provider's ``refund_status`` before anything is re-sent). A token bucket per provider keeps
  to its rate limit.
- ``notifying``: the notices are sent (at least once: a crash between sending and recording it
  sends that order's notice again; the e-mail keeps its Message-ID), then ``done``.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email.header import Header
from email.message import EmailMessage
from email.mime.text import MIMEText
from typing import Any, cast

from sqlalchemy import func, insert, literal, select, update
from sqlalchemy.orm import Session as Db

from box_office.aftersales import invoices, refund_requests
from box_office.catalog.ownership import load_session, owned_session
from box_office.context import Context
from box_office.core.invoice_rules import SERVICE_SUSPENSION
from box_office.core.orders import REFUNDED, SOLD, TICKETED
from box_office.core.refund_policy import ENTERED, Quote, TicketLine
from box_office.errors import Invalid, NotFound
from box_office.feed import service as feed
from box_office.notify.mail import Mailer
from box_office.notify.sms import SmsGateway
from box_office.payments.provider import ProviderRegistry
from box_office.sales import ledger, order_state
from box_office.sales.issuing import sign_ticket
from box_office.store.models import (
    Account,
    BulkJob,
    BulkJobOrder,
    Event,
    Invoice,
    Order,
    Payment,
    Refund,
    RefundRequest,
    Ticket,
)

Progress = Callable[[int, int], None]


@dataclass
class TokenBucket:
    """At most ``rate`` calls a second (bursts up to ``burst``): one per provider."""

    rate: float
    burst: float = 10.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _tokens: float = field(default=0.0, init=False)
    _at: float | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def take(self) -> None:
        with self._lock:
            self._take()

    def _take(self) -> None:
        now = self.clock()
        if self._at is None:
            self._tokens, self._at = self.burst, now
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens < 1:
            wait = (1 - self._tokens) / self.rate
            self.sleep(wait)
            self._tokens, self._at = 1.0, self.clock()
        self._tokens -= 1


class Buckets:
    """One :class:`TokenBucket` per provider, made on first use (thread-safe)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._lock = threading.Lock()
        self._by_provider: dict[str, TokenBucket] = {}

    def for_provider(self, name: str) -> TokenBucket:
        with self._lock:
            if name not in self._by_provider:
                self._by_provider[name] = TokenBucket(self.rate, burst=max(1.0, min(self.rate, 20.0)))
            return self._by_provider[name]


def start_cancel(ctx: Context, session_id: int, organiser_id: int | None = None) -> int:
    """Open (or find again) the cancellation job of a session: sales stop, every sold order of
    the session becomes a ``todo`` row. Running this twice returns the same job."""

    def work(db: Db) -> int:
        if organiser_id is not None:
            session, _ = owned_session(db, organiser_id, session_id)
        else:
            session = load_session(db, session_id)
        existing = db.scalar(
            select(BulkJob.id).where(BulkJob.session_id == session_id, BulkJob.kind == "cancel")
        )
        if existing is not None:
            return existing
        now = ctx.now()
        session.sale_ends_at = min(session.sale_ends_at, now)  # nothing more is sold
        job = BulkJob(session_id=session_id, kind="cancel", status="running", total=0, created_at=now)
        db.add(job)
        db.flush()
        db.execute(
            insert(BulkJobOrder).from_select(
                ["job_id", "order_id", "state", "attempts"],
                select(literal(job.id), Order.id, literal("todo"), literal(0)).where(
                    Order.session_id == session_id, Order.status.in_(tuple(SOLD))
                ),
            )
        )
        job.total = db.scalar(select(func.count()).where(BulkJobOrder.job_id == job.id)) or 0
        return job.id

    return ctx.db.write(work)


def start_postpone(
    ctx: Context,
    session_id: int,
    starts_at: float,
    ends_at: float,
    refund_days: float,
    organiser_id: int | None = None,
) -> int:
    """Move a session to a new date: every sold ticket is re-issued (same seat: the session and
    its seat map stay, only the date moves) at a higher version, so the gates refuse the old QR;
    every buyer is told, and may refund in full for ``refund_days``, whatever the policy says.
    Running this again for the same session returns the same job."""
    if ends_at <= starts_at:
        raise Invalid("the show must end after it starts", "bad_dates")

    def work(db: Db) -> int:
        if organiser_id is not None:
            session, _ = owned_session(db, organiser_id, session_id)
        else:
            session = load_session(db, session_id)
        existing = db.scalar(
            select(BulkJob.id).where(
                BulkJob.session_id == session_id, BulkJob.kind == "postpone", BulkJob.status == "running"
            )
        )
        if existing is not None:
            return existing
        now = ctx.now()
        session.starts_at, session.ends_at = starts_at, ends_at
        job = BulkJob(
            session_id=session_id,
            kind="postpone",
            status="running",
            total=0,
            created_at=now,
            refund_until=now + refund_days * 86400,
            new_starts_at=starts_at,
        )
        db.add(job)
        db.flush()
        db.execute(
            insert(BulkJobOrder).from_select(
                ["job_id", "order_id", "state", "attempts"],
                select(literal(job.id), Order.id, literal("todo"), literal(0)).where(
                    Order.session_id == session_id, Order.status.in_(tuple(SOLD))
                ),
            )
        )
        job.total = db.scalar(select(func.count()).where(BulkJobOrder.job_id == job.id)) or 0
        return job.id

    return ctx.db.write(work)


def _reissue_todo(ctx: Context, job_id: int, batch: int) -> int:
    """One transaction: a batch of ``todo`` orders of a postponement get their valid tickets
    signed again (new dates, ``version + 1``; the feed tells the gates) -> ``notifying``."""

    def work(db: Db) -> int:
        rows = db.scalars(
            select(BulkJobOrder)
            .where(BulkJobOrder.job_id == job_id, BulkJobOrder.state == "todo")
            .order_by(BulkJobOrder.order_id)
            .limit(batch)
            .with_for_update(skip_locked=True)
        ).all()
        if not rows:
            return 0
        job = db.get(BulkJob, job_id)
        assert job is not None
        session = load_session(db, job.session_id)
        tickets = db.scalars(
            select(Ticket).where(Ticket.order_id.in_([r.order_id for r in rows]), Ticket.status == "valid")
        ).all()
        for ticket in tickets:
            ticket.version += 1
            sign_ticket(ctx, db, ticket, session)
        for row in rows:
            row.attempts += 1
            row.state = "notifying"
        feed.append(ctx, db, [("changed", t, session.real_name) for t in tickets])
        return len(rows)

    return ctx.db.write(work)


def _take_todo(ctx: Context, job_id: int, batch: int) -> int:
    """One transaction: a batch of ``todo`` orders get their force-majeure refund approved (refund
    rows written, tickets revoked at the gates) and move to ``refunding``. Returns how many.

    The same rule as a buyer's request (``core.refund_policy.quote`` with force majeure: 100 %,
    no fee, capped by what is left after refunds done or pending), in a few statements per batch.
    """

    def work(db: Db) -> int:
        rows = db.scalars(
            select(BulkJobOrder)
            .where(BulkJobOrder.job_id == job_id, BulkJobOrder.state == "todo")
            .order_by(BulkJobOrder.order_id)
            .limit(batch)
            .with_for_update(skip_locked=True)
        ).all()
        return _cancel_orders(ctx, db, rows) if rows else 0

    return ctx.db.write(work)


def _cancel_orders(ctx: Context, db: Db, rows: Sequence[BulkJobOrder]) -> int:
    """Returns how many rows moved on (the others wait for their order to be ticketed)."""
    now = ctx.now()
    ids = [row.order_id for row in rows]
    orders = {o.id: o for o in db.scalars(select(Order).where(Order.id.in_(ids)).with_for_update()).all()}
    # Requests waiting for the promoter are overtaken: everything is refunded in full now.
    db.execute(
        update(RefundRequest)
        .where(RefundRequest.order_id.in_(ids), RefundRequest.status == "pending_approval")
        .values(status="superseded", decided_at=now)
        .execution_options(synchronize_session=False)
    )
    claimed: dict[int, set[str]] = {}
    for order_id, ticket_ids in db.execute(
        select(RefundRequest.order_id, RefundRequest.ticket_ids).where(
            RefundRequest.order_id.in_(ids), RefundRequest.status == "approved"
        )
    ).all():
        claimed.setdefault(order_id, set()).update(ticket_ids)
    tickets: dict[int, list[Ticket]] = {}
    for ticket in db.scalars(select(Ticket).where(Ticket.order_id.in_(ids)).order_by(Ticket.id)).all():
        tickets.setdefault(ticket.order_id, []).append(ticket)
    payments: dict[int, Payment] = {}
    for captured in db.scalars(
        select(Payment)
        .where(Payment.order_id.in_(ids), Payment.status.in_(("succeeded", "refunded")))
        .order_by(Payment.id.desc())
    ).all():
        payments[captured.order_id] = captured
    taken = dict(
        db.execute(
            select(Refund.payment_id, func.sum(Refund.amount_cents))
            .where(
                Refund.payment_id.in_([p.id for p in payments.values()]),
                Refund.status.in_(refund_requests.LIVE_REFUNDS),
            )
            .group_by(Refund.payment_id)
        ).all()
    )
    seqs = dict(
        db.execute(
            select(Refund.order_id, func.count(Refund.id))
            .where(Refund.order_id.in_(ids))
            .group_by(Refund.order_id)
        ).all()
    )
    approved: list[tuple[Order, Payment | None, Quote]] = []
    moved = 0
    for row in rows:
        order = orders[row.order_id]
        row.attempts += 1
        if order.status not in SOLD:  # refunded meanwhile (by its buyer): its refunds still run
            row.state, moved = "refunding", moved + 1
            continue
        payment = payments.get(order.id)
        if order.status != TICKETED or (payment is None and order.total_cents > 0):
            # still being ticketed, or its payment not settled: a later round takes it
            row.last_error = f"order is {order.status}" if payment else "no captured payment"
            continue
        lines = [
            TicketLine(
                t.id,
                t.price_cents,
                entered=t.checked_in_at is not None,
                refunded=t.id in claimed.get(order.id, ()) or t.status == "revoked",
            )
            for t in tickets.get(order.id, [])
        ]
        row.state, moved = "refunding", moved + 1
        if any(line.entered and not line.refunded for line in lines):
            row.last_error = ENTERED  # someone already went in: left to the promoter, by hand
            continue
        # Force majeure: everything the order paid and did not get back is returned, tickets
        # given away (transferred) included; a transfer's own zero-amount order returns nothing.
        remaining = int(payment.amount_cents) - int(taken.get(payment.id) or 0) if payment is not None else 0
        open_ids = tuple(line.ticket_id for line in lines if not line.refunded)
        if not open_ids and remaining <= 0:
            continue
        approved.append((order, payment, Quote(max(0, remaining), 100, 0, open_ids, None, "force_majeure")))
    if not approved:
        return moved
    made = db.execute(
        insert(RefundRequest).returning(RefundRequest.id, RefundRequest.order_id),
        [
            {"order_id": o.id, "account_id": o.account_id, "session_id": o.session_id,
             "ticket_ids": list(q.ticket_ids), "amount_cents": q.amount_cents, "percent": q.percent,
             "fee_cents": q.fee_cents, "basis": q.basis, "reason": None, "status": "approved",
             "note": "session cancelled", "created_at": now, "decided_at": now, "decided_by": None}
            for o, _, q in approved
        ],
    ).all()  # fmt: skip
    request_of = {order_id: request_id for request_id, order_id in made}
    refunds = [
        {"refund_no": f"R{o.id}-{int(seqs.get(o.id) or 0) + 1}", "request_id": request_of[o.id],
         "order_id": o.id, "payment_id": p.id, "provider": p.provider, "amount_cents": q.amount_cents,
         "status": "pending", "attempts": 0, "created_at": now}
        for o, p, q in approved
        if p is not None and q.amount_cents > 0
    ]  # fmt: skip
    if refunds:
        db.execute(insert(Refund), refunds)
    invoiced = set(
        db.scalars(
            select(Invoice.order_id).where(
                Invoice.order_id.in_([o.id for o, _, _ in approved]), Invoice.kind == "blue"
            )
        ).all()
    )
    for order, _, q in approved:
        if order.id in invoiced:  # the 红字 credit for the cancelled show, in this transaction
            invoices.credit_in(ctx, db, order.id, list(q.ticket_ids), q.amount_cents, SERVICE_SUSPENSION)
    facts = ctx.catalog.session(db, approved[0][0].session_id)
    changes: list[tuple[str, Ticket, bool]] = []
    areas: Counter[int] = Counter()
    for order, _, q in approved:
        chosen = set(q.ticket_ids)
        seats: list[str] = []
        for ticket in tickets.get(order.id, []):
            if ticket.id not in chosen:
                continue
            if ticket.ga_id is not None:
                areas[ticket.ga_id] += 1
            elif ticket.seat_label is not None:
                seats.append(ticket.seat_label)
            if ticket.status == "valid":
                changes.append(("revoked", ticket, facts.real_name))
            ticket.status = "revoked"
        if seats:
            ledger.return_tickets(db, order.id, seats, {}, now)
        if all(t.status == "revoked" for t in tickets.get(order.id, [])):
            order_state.move_if(
                db, order.id, tuple(SOLD), REFUNDED, closed_at=now, reason="session cancelled"
            )
    if areas:
        ledger.return_tickets(db, 0, [], areas, now)
    feed.append(ctx, db, changes)
    return moved


def _refund_batch(
    ctx: Context, providers: ProviderRegistry, buckets: Buckets, job_id: int, batch: int, threads: int
) -> tuple[int, int]:
    """Send the owed refunds of a batch of ``refunding`` orders (claimed in one transaction, sent
    on ``threads`` threads within the rate, recorded in one transaction); orders whose refunds all
    went through move to ``notifying``. Returns (orders looked at, orders moved on)."""
    with ctx.db.read() as db:
        order_ids = db.scalars(
            select(BulkJobOrder.order_id)
            .where(BulkJobOrder.job_id == job_id, BulkJobOrder.state == "refunding")
            .order_by(BulkJobOrder.order_id)
            .limit(batch)
        ).all()
        owed = db.execute(
            select(Refund.id, Refund.order_id).where(
                Refund.order_id.in_(order_ids), Refund.status.in_(("pending", "submitting"))
            )
        ).all()
    order_of = dict(owed)
    stuck: set[int] = set()
    if owed:
        claimed, others = refund_requests.claim_refunds(ctx, [refund_id for refund_id, _ in owed])
        stuck.update(order_of[r] for r, status in others.items() if status != "succeeded")

        def send(claim: refund_requests.Claimed) -> tuple[int, str | None]:
            buckets.for_provider(claim.provider).take()
            return claim.refund_id, refund_requests.send_refund(providers, claim)

        with ThreadPoolExecutor(max(1, threads)) as pool:
            outcomes = dict(pool.map(send, claimed))
        if outcomes:
            refund_requests.finish_refunds(ctx, outcomes)
        stuck.update(order_of[r] for r, error in outcomes.items() if error is not None)
    ready = [o for o in order_ids if o not in stuck]
    if ready:
        ctx.db.write(lambda db: _move(db, job_id, ready, "refunding", "notifying"))
    return len(order_ids), len(ready)


def _move(db: Db, job_id: int, order_ids: list[int], old: str, new: str) -> None:
    db.execute(
        update(BulkJobOrder)
        .where(BulkJobOrder.job_id == job_id, BulkJobOrder.order_id.in_(order_ids), BulkJobOrder.state == old)
        .values(state=new)
        .execution_options(synchronize_session=False)
    )


def _notify_batch(ctx: Context, mailer: Mailer, sms: SmsGateway, job_id: int, batch: int) -> int:
    with ctx.db.read() as db:
        job = db.get(BulkJob, job_id)
        assert job is not None
        session = load_session(db, job.session_id)
        event = db.get(Event, session.event_id)
        assert event is not None
        rows = db.execute(
            # the order's phone, else the account's: everyone with a number gets the SMS
            select(Order.id, Order.email, func.coalesce(Order.phone, Account.phone), Order.currency)
            .join(BulkJobOrder, BulkJobOrder.order_id == Order.id)
            .join(Account, Account.id == Order.account_id)
            .where(BulkJobOrder.job_id == job_id, BulkJobOrder.state == "notifying")
            .order_by(Order.id)
            .limit(batch)
        ).all()
        refunded = dict(
            db.execute(
                select(Refund.order_id, func.sum(Refund.amount_cents))
                .where(Refund.order_id.in_([r[0] for r in rows]), Refund.status == "succeeded")
                .group_by(Refund.order_id)
            ).all()
        )
    for order_id, email, phone, currency in rows:
        if job.kind == "postpone":
            when, until = _date(job.new_starts_at or session.starts_at), _date(job.refund_until or 0)
            mailer.send(postponement_email(ctx.settings.mail_from, email, order_id, event.name, when, until))
            if phone:
                sms.send(phone, postponement_sms(order_id, event.name, when, until))
            continue
        amount = int(refunded.get(order_id) or 0)
        mailer.send(
            cancellation_email(
                ctx.settings.mail_from, email, order_id, event.name, session.name, amount, currency
            )
        )
        if phone:
            sms.send(phone, cancellation_sms(order_id, event.name, session.name, amount, currency))
    if rows:
        now = ctx.now()
        ids = [r[0] for r in rows]
        ctx.db.write(
            lambda db: db.execute(
                update(BulkJobOrder)
                .where(
                    BulkJobOrder.job_id == job_id,
                    BulkJobOrder.order_id.in_(ids),
                    BulkJobOrder.state == "notifying",
                )
                .values(state="done", done_at=now)
                .execution_options(synchronize_session=False)
            )
        )
    return len(rows)


def _date(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(at))


def postponement_email(
    sender: str, recipient: str, order_id: int, event: str, when: str, refund_until: str
) -> EmailMessage:
    """The postponement notice, Chinese first then English: new date, tickets re-issued, and
    the window in which a full refund is granted whatever the policy."""
    message = MIMEText(
        f"您好：{event} 改期至 {when}。订单 {order_id} 的门票已重新出票（原二维码作废，请使用新的门票）。\n"
        f"如无法出席，{refund_until} 前可申请全额退款。\n\n"
        f"{event} has been postponed to {when}. The tickets of order {order_id} have been re-issued "
        "(the old QR codes no longer work: use the new tickets).\n"
        f"If you cannot come, you may ask for a full refund until {refund_until}.\n",
        "plain",
        "utf-8",
    )
    message["From"] = sender
    message["To"] = recipient
    message["Message-ID"] = f"<postpone-{order_id}-{when[:10]}@encore.invalid>"
    message["Subject"] = Header(
        f"演出改期 / Show postponed: {event} - 订单 order {order_id}", "utf-8"
    ).encode()
    return cast(EmailMessage, message)


def postponement_sms(order_id: int, event: str, when: str, refund_until: str) -> str:
    return (
        f"【Encore】{event}改期至{when}，订单{order_id}门票已重新出票，{refund_until}前可全额退款。"
        f" Encore: {event} postponed to {when}; order {order_id} re-issued; full refund until {refund_until}."
    )


def _yuan(cents: int, currency: str) -> str:
    return f"{cents // 100}.{cents % 100:02d} {currency}"


def cancellation_email(
    sender: str, recipient: str, order_id: int, event: str, session: str, amount: int, currency: str
) -> EmailMessage:
    """The notice, Chinese first then English (no language is recorded per buyer yet).

    Built as a compat32 MIME text part: 20 times cheaper than ``EmailMessage``'s header registry,
    which matters for thousands of notices; every mailer sends any ``email.message.Message``.
    """
    money = _yuan(amount, currency)
    message = MIMEText(
        f"您好，很抱歉通知您：{event}（{session}）已取消。\n"
        f"订单 {order_id} 已全额退款 {money}，款项将原路退回您的支付账户；门票已作废。\n\n"
        f"We are sorry: {event} ({session}) has been cancelled.\n"
        f"Order {order_id} has been refunded in full, {money}, to the account you paid with; "
        "the tickets are no longer valid.\n",
        "plain",
        "utf-8",
    )
    message["From"] = sender
    message["To"] = recipient
    message["Message-ID"] = f"<cancel-{order_id}@encore.invalid>"
    subject = f"演出取消 / Show cancelled: {event} ({session}) - 订单 order {order_id}"
    message["Subject"] = Header(subject, "utf-8").encode()
    return cast(EmailMessage, message)


def cancellation_sms(order_id: int, event: str, session: str, amount: int, currency: str) -> str:
    money = _yuan(amount, currency)
    return (
        f"【Encore】{event}（{session}）已取消，订单{order_id}已全额退款{money}。"
        f" Encore: {event} ({session}) is cancelled; order {order_id} refunded in full, {money}."
    )


def job_counts(ctx: Context, job_id: int) -> dict[str, int]:
    with ctx.db.read() as db:
        counts = dict(
            db.execute(
                select(BulkJobOrder.state, func.count())
                .where(BulkJobOrder.job_id == job_id)
                .group_by(BulkJobOrder.state)
            ).all()
        )
    return {state: int(counts.get(state, 0)) for state in ("todo", "refunding", "notifying", "done")}


def job_view(ctx: Context, organiser_id: int | None, job_id: int) -> dict[str, Any]:
    """The job and its counts by state (for the promoter of its event only)."""
    with ctx.db.read() as db:
        job = db.get(BulkJob, job_id)
        if job is None:
            raise NotFound(f"no job {job_id}")
        if organiser_id is not None:
            owned_session(db, organiser_id, job.session_id)
        view = {
            "id": job.id,
            "session_id": job.session_id,
            "kind": job.kind,
            "status": job.status,
            "total": job.total,
            "refund_until": job.refund_until,
            "new_starts_at": job.new_starts_at,
        }
    return view | {"counts": job_counts(ctx, job_id)}


def run_job(
    ctx: Context,
    providers: ProviderRegistry,
    mailer: Mailer,
    sms: SmsGateway,
    job_id: int,
    *,
    rate: float = 100.0,
    batch: int = 100,
    progress: Progress | None = None,
    poll: float = 0.5,
    threads: int = 8,
) -> dict[str, int]:
    """Work the job until every order is done (this worker and any others together).

    ``rate``: refunds a second per provider (each has its own token bucket). Orders whose
    refund is held by another live worker (or refused by the provider for now) are retried
    after ``poll`` seconds.
    """
    buckets = Buckets(rate)
    with ctx.db.read() as db:
        job = db.get(BulkJob, job_id)
        assert job is not None
        total, kind = job.total, job.kind
    while True:
        if kind == "postpone":
            took, moved = _reissue_todo(ctx, job_id, batch), 0
        else:
            took = _take_todo(ctx, job_id, batch)
            _, moved = _refund_batch(ctx, providers, buckets, job_id, batch, threads)
        told = _notify_batch(ctx, mailer, sms, job_id, batch)
        counts = job_counts(ctx, job_id)
        if progress is not None:
            progress(counts["done"], total)
        if counts["done"] == total:
            break
        if not (took or moved or told):
            time.sleep(poll)  # everything left is someone else's, or waits on the provider
    ctx.db.write(
        lambda db: db.execute(
            update(BulkJob).where(BulkJob.id == job_id).values(status="done", finished_at=ctx.now())
        )
    )
    return counts
