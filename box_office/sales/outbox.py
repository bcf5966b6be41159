"""The outbox: e-mails and SMS queued in the transaction that issues tickets, claimed and
recorded by the delivery loop (``notify.delivery``), at least once, with retries.

Messages are claimed with a conditional UPDATE (so two workers never send the same one at the
same moment), sent, then marked sent; a failure is recorded and retried with back-off.
"""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session as Db

from box_office.context import Context
from box_office.store.models import Order, OutboxMessage

MAX_ATTEMPTS = 10
CLAIM_SECONDS = 60.0


def queue_delivery(ctx: Context, db: Db, order: Order, kind: str = "tickets") -> None:
    """Queue the order's e-mail (and SMS if it has a phone) in the outbox, in this transaction.
    ``kind`` is what they say (``notify.messages.KINDS``): tickets, refund, expiry, ..."""
    now = ctx.now()
    channels = [("email", order.email)] + ([("sms", order.phone)] if order.phone else [])
    db.connection().execute(
        insert(OutboxMessage),
        [
            {
                "channel": channel,
                "recipient": recipient,
                "order_id": order.id,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
                "kind": kind,
            }
            for channel, recipient in channels
        ],
    )


def claim(ctx: Context, now: float, limit: int) -> list[Claimed]:
    """Claim up to ``limit`` due messages for CLAIM_SECONDS (one transaction)."""
    return ctx.db.write(lambda db: _claim(db, now=now, limit=limit))


def record(ctx: Context, sent: list[int], failed: list[tuple[int, str]]) -> None:
    """Mark what was sent, and when to retry what failed (one transaction)."""
    now = ctx.now()
    ctx.db.write(lambda db: _record(db, sent=sent, failed=failed, now=now))


class Claimed(NamedTuple):
    id: int
    channel: str
    recipient: str
    order_id: int
    kind: str | None = None


def _claim(db: Db, *, now: float, limit: int) -> list[Claimed]:
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
        .returning(
            OutboxMessage.id,
            OutboxMessage.channel,
            OutboxMessage.recipient,
            OutboxMessage.order_id,
            OutboxMessage.kind,
        )
        .execution_options(synchronize_session=False)
    )
    return sorted((Claimed(*row) for row in rows), key=lambda c: c.id)


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
