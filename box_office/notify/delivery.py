"""Deliver queued e-mails and SMS from the outbox table, at least once, with retries.

Messages are claimed with a conditional UPDATE (so two workers never send the same one at
the same moment), sent, then marked sent; a failure is recorded and retried with back-off.
A crash after sending and before marking means a message may go out twice, never not at all.
"""

from __future__ import annotations

import logging
from email.message import EmailMessage
from functools import partial
from typing import Any, NamedTuple

from sqlalchemy import select, update
from sqlalchemy.orm import Session as Db

from box_office.context import Context
from box_office.notify.mail import Mailer, send_all, ticket_email, ticket_sms
from box_office.notify.sms import SmsGateway
from box_office.sales.views import ticket_view
from box_office.store.models import Event, Order, OutboxMessage, Session, SessionGa, Ticket

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 10
CLAIM_SECONDS = 60.0


def deliver_pending(ctx: Context, mailer: Mailer, sms: SmsGateway, limit: int = 50) -> int:
    """Send up to ``limit`` due messages; returns how many were sent.

    A batch costs three transactions whatever its size: claim them all (one conditional
    UPDATE), read every order they are about (two queries), then record what was sent and what
    failed. E-mails of one batch share one SMTP connection.
    """
    now = ctx.now()
    claimed = ctx.db.write(partial(_claim, now=now, limit=limit))
    if not claimed:
        return 0
    orders = _orders(ctx, sorted({row.order_id for row in claimed}))
    sent: list[int] = []
    failed: list[tuple[int, str]] = []
    emails: list[tuple[int, EmailMessage]] = []
    for row in claimed:
        view, event_name, session_name = orders[row.order_id]
        try:
            if row.channel == "email":
                email = ticket_email(ctx.settings.mail_from, row.recipient, view, event_name, session_name)
                email["Message-ID"] = f"<outbox-{row.id}-order-{view['id']}@encore.invalid>"
                emails.append((row.id, email))
                continue
            sms.send(row.recipient, ticket_sms(view, event_name, ctx.settings.public_url))
            sent.append(row.id)
        except Exception as exc:  # any transport failure: record it and retry later
            failed.append((row.id, str(exc)))
    for (message_id, _), error in zip(emails, send_all(mailer, [e for _, e in emails]), strict=True):
        if error is None:
            sent.append(message_id)
        else:
            failed.append((message_id, error))
    for message_id, error in failed:
        log.warning("delivery of message %s failed: %s", message_id, error)
    ctx.db.write(partial(_record, sent=sent, failed=failed, now=ctx.now()))
    return len(sent)


class _Claimed(NamedTuple):
    id: int
    channel: str
    recipient: str
    order_id: int


def _claim(db: Db, *, now: float, limit: int) -> list[_Claimed]:
    """Take up to ``limit`` due messages for CLAIM_SECONDS; rows another worker holds are skipped."""
    due = (
        select(OutboxMessage.id)
        .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    rows = db.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id.in_(due),
            OutboxMessage.status == "pending",
            OutboxMessage.next_attempt_at <= now,
        )
        .values(next_attempt_at=now + CLAIM_SECONDS, attempts=OutboxMessage.attempts + 1)
        .returning(OutboxMessage.id, OutboxMessage.channel, OutboxMessage.recipient, OutboxMessage.order_id)
        .execution_options(synchronize_session=False)
    )
    return sorted((_Claimed(*row) for row in rows), key=lambda c: c.id)


def _orders(ctx: Context, order_ids: list[int]) -> dict[int, tuple[dict[str, Any], str, str]]:
    """Each order's view with its tickets, its event's and session's names, in two queries."""
    with ctx.db.read() as db:
        heads = db.execute(
            select(Order.id, Order.session_id, Event.name, Session.name)
            .join(Session, Session.id == Order.session_id)
            .join(Event, Event.id == Session.event_id)
            .where(Order.id.in_(order_ids))
        ).all()
        tickets = db.execute(
            select(Ticket, SessionGa.code)
            .outerjoin(SessionGa, SessionGa.id == Ticket.ga_id)
            .where(Ticket.order_id.in_(order_ids))
            .order_by(Ticket.order_id, Ticket.seat_label, Ticket.id)
        ).all()
    by_order: dict[int, list[dict[str, Any]]] = {}
    for ticket, area in tickets:
        by_order.setdefault(ticket.order_id, []).append(ticket_view(ticket, area))
    return {
        order_id: (
            {"id": order_id, "session_id": session_id, "tickets": by_order.get(order_id, [])},
            event,
            session,
        )
        for order_id, session_id, event, session in heads
    }


def _record(db: Db, *, sent: list[int], failed: list[tuple[int, str]], now: float) -> None:
    if sent:
        db.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(sent))
            .values(status="sent", sent_at=now)
            .execution_options(synchronize_session=False)
        )
    for message_id, error in failed:
        row = db.get(OutboxMessage, message_id)
        assert row is not None
        row.last_error = error[:500]
        if row.attempts >= MAX_ATTEMPTS:
            row.status = "failed"
        else:
            row.next_attempt_at = now + min(3600.0, 2.0**row.attempts)
