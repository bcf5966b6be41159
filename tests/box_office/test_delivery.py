"""Ticket delivery from the outbox in batches: a failed batch is retried later, nothing is lost,
and each order's e-mail carries that order's tickets only. Real SMTP (aiosmtpd) on loopback.

The server's own delivery loop runs on real time; these tests move their messages far into the
future and drive :func:`deliver_pending` with a clock of their own, so the two never race.
"""

from __future__ import annotations

import time

import httpx
from sqlalchemy import select, update

from box_office.context import Context
from box_office.notify.delivery import deliver_pending
from box_office.notify.mail import SmtpMailer
from box_office.notify.sms import CapturingSms
from box_office.store.db import Database
from box_office.store.models import OutboxMessage
from box_office.vault import Vault
from tests.box_office.conftest import Server
from tests.box_office.helpers import Concert, buy
from tests.local_services import free_port

FUTURE = time.time() + 10_000_000


def _context(server: Server, at: float) -> Context:
    return Context(
        settings=server.settings,
        db=Database(server.settings.database_url),
        vault=Vault(server.settings.secret_key),
        clock=lambda: at,
    )


def _park(server: Server, order_ids: list[int]) -> list[int]:
    """Put these orders' e-mails back in the queue, due at FUTURE only (out of the server's reach)."""
    db = Database(server.settings.database_url)
    try:

        def work(session: object) -> list[int]:
            session.execute(  # type: ignore[attr-defined]
                update(OutboxMessage)
                .where(OutboxMessage.order_id.in_(order_ids), OutboxMessage.channel == "email")
                .values(status="pending", next_attempt_at=FUTURE, attempts=0, last_error=None)
            )
            return list(
                session.scalars(  # type: ignore[attr-defined]
                    select(OutboxMessage.id).where(
                        OutboxMessage.order_id.in_(order_ids), OutboxMessage.channel == "email"
                    )
                )
            )

        return db.write(work)  # type: ignore[arg-type]
    finally:
        db.dispose()


def _first_copies_sent(server: Server, order_ids: list[int]) -> bool:
    db = Database(server.settings.database_url)
    try:
        with db.read() as session:
            statuses = list(
                session.scalars(
                    select(OutboxMessage.status).where(
                        OutboxMessage.order_id.in_(order_ids), OutboxMessage.channel == "email"
                    )
                )
            )
    finally:
        db.dispose()
    return len(statuses) == len(order_ids) and all(status == "sent" for status in statuses)


def _rows(server: Server, ids: list[int]) -> list[OutboxMessage]:
    db = Database(server.settings.database_url)
    try:
        with db.read() as session:
            return list(session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids))))
    finally:
        db.dispose()


def _sent_to(server: Server, message_ids: list[int], since: int) -> dict[int, list[object]]:
    """Mails for these outbox ids among those the SMTP server received after the first ``since``."""
    found: dict[int, list[object]] = {}
    for mail in server.smtp.messages[since:]:
        for message_id in message_ids:
            if str(mail["Message-ID"]).startswith(f"<outbox-{message_id}-"):
                found.setdefault(message_id, []).append(mail)
    return found


def test_failed_batch_is_retried_and_each_mail_has_its_own_tickets(server: Server) -> None:
    concert = Concert(server)
    orders = []
    for index, seats in enumerate((["A-2-1", "A-2-2"], ["A-2-5"], ["A-3-7", "A-3-8", "A-3-9"])):
        buyer: httpx.Client = concert.buyer(email=f"batch-{index}-{concert.session_id}@example.test")
        orders.append(buy(concert, buyer, seats=seats))
    # The server's own loop sends the first copies; wait until it has (their outbox rows say
    # sent) before parking them again (a 60 s guard against a hang, not a timing bound).
    deadline = time.monotonic() + 60
    while not _first_copies_sent(server, [o["id"] for o in orders]):
        assert time.monotonic() < deadline, "the first copies were never sent"
        time.sleep(0.05)
    ids = _park(server, [o["id"] for o in orders])
    assert len(ids) == 3
    before = len(server.smtp.messages)

    # The mail server is down: nothing is sent, every message records why and waits for a retry.
    down = SmtpMailer("127.0.0.1", free_port(), timeout=2)
    assert deliver_pending(_context(server, FUTURE + 1), down, CapturingSms()) == 0
    rows = _rows(server, ids)
    assert all(r.status == "pending" and r.attempts == 1 and r.last_error for r in rows)
    assert all(r.next_attempt_at > FUTURE + 1 for r in rows)
    assert _sent_to(server, ids, before) == {}
    # Not due yet: a second round right away claims nothing.
    assert deliver_pending(_context(server, FUTURE + 1.5), down, CapturingSms()) == 0
    assert all(r.attempts == 1 for r in _rows(server, ids))

    # The mail server is back: one round sends the whole batch, once each.
    up = SmtpMailer("127.0.0.1", server.smtp.port)
    assert deliver_pending(_context(server, FUTURE + 100), up, CapturingSms()) == 3
    assert all(r.status == "sent" and r.sent_at is not None for r in _rows(server, ids))
    assert deliver_pending(_context(server, FUTURE + 200), up, CapturingSms()) == 0
    sent = _sent_to(server, ids, before)
    assert sorted(sent) == sorted(ids) and all(len(m) == 1 for m in sent.values())
    for message_id, made in zip(sorted(ids), sorted(orders, key=lambda o: o["id"]), strict=True):
        (mail,) = sent[message_id]
        body = mail.get_body(("plain",)).get_content()  # type: ignore[attr-defined]
        own = {t["seat"] for t in made["tickets"]}
        others = {t["seat"] for o in orders if o is not made for t in o["tickets"]}
        assert all(seat in body for seat in own) and not any(seat in body for seat in others)
        images = [p for p in mail.walk() if p.get_content_type() == "image/png"]  # inline (CID)
        assert len(images) == len(own)
