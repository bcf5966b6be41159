"""Deliver queued e-mails and SMS from the outbox table, at least once, with retries.

Messages are claimed with a conditional UPDATE (so two workers never send the same one at
the same moment), sent, then marked sent; a failure is recorded and retried with back-off.
A crash after sending and before marking means a message may go out twice, never not at all.
"""

from __future__ import annotations

import logging
from email.message import EmailMessage

from box_office.context import Context
from box_office.notify.mail import Mailer, send_all, ticket_email
from box_office.notify.sms import SmsGateway
from box_office.notify.sms_templates import send_sms, ticket_sms_params
from box_office.sales import outbox

log = logging.getLogger(__name__)


def deliver_pending(ctx: Context, mailer: Mailer, sms: SmsGateway, limit: int = 50) -> int:
    """Send up to ``limit`` due messages; returns how many were sent.

    A batch costs three transactions whatever its size: claim them all (one conditional
    UPDATE), read every order they are about (two queries), then record what was sent and what
    failed. E-mails of one batch share one SMTP connection.
    """
    now = ctx.now()
    claimed = outbox.claim(ctx, now, limit)
    if not claimed:
        return 0
    orders = outbox.orders_to_deliver(ctx, sorted({row.order_id for row in claimed}))
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
            lang, params = ticket_sms_params(view, event_name, ctx.settings.public_url, row.recipient)
            send_sms(sms, row.recipient, "tickets", lang, params)
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
    outbox.record(ctx, sent, failed)
    return len(sent)
