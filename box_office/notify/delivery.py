"""Deliver queued e-mails and SMS from the outbox table, at least once, with retries.

Messages are claimed with a conditional UPDATE (so two workers never send the same one at
the same moment), sent, then marked sent; a failure is recorded and retried with back-off.
A crash after sending and before marking means a message may go out twice, never not at all.

Each message is written when it is sent, from the order as it is then, in the buyer's language
(``notify.messages``). A tickets message whose order has no valid ticket left (refunded before
delivery) is dropped, not sent: the refund message says what happened.
"""

from __future__ import annotations

import logging
from email.message import EmailMessage

from box_office.context import Context
from box_office.notify import messages
from box_office.notify.compose import build_email
from box_office.notify.mail import Mailer, send_all
from box_office.notify.sms import SmsGateway
from box_office.notify.sms_templates import send_sms
from box_office.sales import outbox
from box_office.sales.message_facts import order_facts

log = logging.getLogger(__name__)


def deliver_pending(ctx: Context, mailer: Mailer, sms: SmsGateway, limit: int = 50) -> int:
    """Send up to ``limit`` due messages; returns how many were sent.

    A batch costs three transactions whatever its size: claim them all (one conditional
    UPDATE), read every order they are about, then record what was sent and what failed.
    E-mails of one batch share one SMTP connection.
    """
    now = ctx.now()
    claimed = outbox.claim(ctx, now, limit)
    if not claimed:
        return 0
    orders = order_facts(ctx, sorted({row.order_id for row in claimed}))
    sent: list[int] = []
    done: list[int] = []
    failed: list[tuple[int, str]] = []
    emails: list[tuple[int, EmailMessage]] = []
    for row in claimed:
        kind = row.kind or "tickets"
        facts, tokens = orders[row.order_id]
        if kind in messages.SHOWS_TICKETS and not facts.tickets:
            log.info("message %s dropped: order %s has no valid ticket left", row.id, row.order_id)
            done.append(row.id)
            continue
        try:
            if row.channel == "email":
                email = build_email(kind, facts, ctx.settings.mail_from, row.recipient, tokens)
                email["Message-ID"] = f"<outbox-{row.id}-order-{facts.order_id}@encore.invalid>"
                emails.append((row.id, email))
                continue
            if kind == "tickets":  # a provider template (Aliyun) where the gateway has them
                params = {
                    "count": str(len(facts.tickets)),
                    "event": facts.event_name,
                    "order": str(facts.order_id),
                    "url": facts.order_url,
                }
                send_sms(sms, row.recipient, "tickets", facts.language, params)
            else:
                sms.send(row.recipient, messages.sms(kind, facts))
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
    outbox.record(ctx, sent + done, failed)
    return len(sent)
