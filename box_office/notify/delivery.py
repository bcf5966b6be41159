"""Deliver queued e-mails and SMS from the outbox table, at least once, with retries.

A message is claimed with a conditional UPDATE (so two workers never send the same one at
the same moment), sent, then marked sent; a failure is recorded and retried with back-off.
"""

from __future__ import annotations

import logging
from functools import partial

from sqlalchemy import select, update
from sqlalchemy.orm import Session as Db

from box_office.notify.mail import Mailer, ticket_email, ticket_sms
from box_office.notify.sms import SmsGateway
from box_office.services.context import Context
from box_office.services.orders import order_view
from box_office.store.db import changed
from box_office.store.models import Event, Order, OutboxMessage, Session

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 10
CLAIM_SECONDS = 60.0


def deliver_pending(ctx: Context, mailer: Mailer, sms: SmsGateway, limit: int = 50) -> int:
    """Send up to ``limit`` due messages; returns how many were sent."""
    now = ctx.now()
    with ctx.db.read() as db:
        due = db.scalars(
            select(OutboxMessage.id)
            .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
            .order_by(OutboxMessage.id)
            .limit(limit)
        ).all()
    sent = 0
    for message_id in due:
        claimed = ctx.db.write(partial(_claim, message_id=message_id, now=now))
        if not claimed:
            continue
        try:
            _send(ctx, message_id, mailer, sms)
        except Exception as exc:  # any transport failure: record it and retry later
            log.warning("delivery of message %s failed: %s", message_id, exc)
            ctx.db.write(partial(_failed, message_id=message_id, error=str(exc), now=now))
            continue
        ctx.db.write(partial(_mark_sent, message_id=message_id, now=ctx.now()))
        sent += 1
    return sent


def _claim(db: Db, *, message_id: int, now: float) -> int:
    """Take a due message for CLAIM_SECONDS; 0 if another worker took it first."""
    return changed(
        db.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == message_id,
                OutboxMessage.status == "pending",
                OutboxMessage.next_attempt_at <= now,
            )
            .values(next_attempt_at=now + CLAIM_SECONDS, attempts=OutboxMessage.attempts + 1)
        )
    )


def _mark_sent(db: Db, *, message_id: int, now: float) -> None:
    db.execute(update(OutboxMessage).where(OutboxMessage.id == message_id).values(status="sent", sent_at=now))


def _failed(db: Db, *, message_id: int, error: str, now: float) -> None:
    row = db.get(OutboxMessage, message_id)
    assert row is not None
    row.last_error = error[:500]
    if row.attempts >= MAX_ATTEMPTS:
        row.status = "failed"
    else:
        row.next_attempt_at = now + min(3600.0, 2.0**row.attempts)


def _send(ctx: Context, message_id: int, mailer: Mailer, sms: SmsGateway) -> None:
    with ctx.db.read() as db:
        message = db.get(OutboxMessage, message_id)
        assert message is not None
        order = db.get(Order, message.order_id)
        assert order is not None
        session = db.get(Session, order.session_id)
        assert session is not None
        event = db.get(Event, session.event_id)
        assert event is not None
        view = order_view(ctx, db, order)
        channel, recipient, event_name, session_name = (
            message.channel,
            message.recipient,
            event.name,
            session.name,
        )
    if channel == "email":
        email = ticket_email(ctx.settings.mail_from, recipient, view, event_name, session_name)
        email["Message-ID"] = f"<outbox-{message_id}-order-{view['id']}@encore.invalid>"
        mailer.send(email)
    else:
        sms.send(recipient, ticket_sms(view, event_name, ctx.settings.public_url))
