"""Build a buyer e-mail: a plain-text part, an HTML part with the QR codes inline (CID), and an
``.ics`` calendar file for ticket messages. Pure apart from drawing the QR PNGs."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import make_msgid

from box_office.notify.messages import SHOWS_TICKETS, OrderFacts, render
from ticket_format.qr import qr_png


def ics(facts: OrderFacts, uid_domain: str = "encore.invalid") -> str:
    """An RFC 5545 calendar with the session as one event (UTC times; CRLF line ends)."""

    def stamp(ts: float) -> str:
        return datetime.fromtimestamp(ts, UTC).strftime("%Y%m%dT%H%M%SZ")

    def escaped(value: str) -> str:
        return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")

    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Encore//Box office//EN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:order-{facts.order_id}@{uid_domain}",
        f"DTSTAMP:{stamp(facts.starts_at)}",
        f"DTSTART:{stamp(facts.starts_at)}",
        f"DTEND:{stamp(max(facts.ends_at, facts.starts_at))}",
        f"SUMMARY:{escaped(facts.event_name + ' · ' + facts.session_name)}",
        f"LOCATION:{escaped(facts.venue_name)}",
        f"URL:{facts.order_url}",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "\r\n".join(lines) + "\r\n"


def build_email(
    kind: str, facts: OrderFacts, sender: str, recipient: str, tokens: dict[str, str] | None = None
) -> EmailMessage:
    """The message of ``kind`` for ``facts``; ``tokens`` maps ticket ids to their signed QR text
    (each valid ticket's QR is drawn and attached inline under the ticket's ``qr_cid``)."""
    tokens = tokens or {}
    subject, text, html = render(kind, facts)
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = subject
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    html_part = message.get_payload()[1]  # type: ignore[index]
    assert isinstance(html_part, EmailMessage)
    for ticket in facts.tickets:
        token = tokens.get(ticket.id)
        if ticket.qr_cid and token:
            html_part.add_related(
                qr_png(token),
                maintype="image",
                subtype="png",
                cid=f"<{ticket.qr_cid}>",
                filename=f"{ticket.id}.png",
            )
    if kind in SHOWS_TICKETS or kind == "postponement":
        message.add_attachment(
            ics(facts).encode(), maintype="text", subtype="calendar", filename=f"order-{facts.order_id}.ics"
        )
    return message


def new_cid(ticket_id: str) -> str:
    return make_msgid(idstring=f"qr-{ticket_id}", domain="encore.invalid").strip("<>")
