"""Ticket e-mails: one message per order with every ticket's details and its QR as a PNG.

Sent over SMTP with the standard library's ``smtplib`` (no dependency needed for a plain
SMTP client). Without an SMTP host configured, messages are written as ``.eml`` files under
the state directory instead, so nothing is lost and a demo can open them.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol


class Mailer(Protocol):
    def send(self, message: EmailMessage) -> None: ...


def send_all(mailer: Mailer, messages: list[EmailMessage]) -> list[str | None]:
    """Send each message; per message ``None`` or why it failed. One connection when it can."""
    many = getattr(mailer, "send_many", None)
    if many is not None:
        result: list[str | None] = many(messages)
        return result
    errors: list[str | None] = []
    for message in messages:
        try:
            mailer.send(message)
            errors.append(None)
        except Exception as exc:  # reported per message; the caller retries it later
            errors.append(str(exc) or type(exc).__name__)
    return errors


@dataclass
class SmtpMailer:
    host: str
    port: int = 25
    timeout: float = 10.0

    def send(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            smtp.send_message(message)

    def send_many(self, messages: list[EmailMessage]) -> list[str | None]:
        """Send over one SMTP connection (one TCP and SMTP handshake for a whole batch)."""
        if not messages:
            return []
        try:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        except (OSError, smtplib.SMTPException) as exc:
            return [f"cannot reach {self.host}:{self.port}: {exc}"] * len(messages)
        errors: list[str | None] = []
        with smtp:
            for message in messages:
                try:
                    smtp.send_message(message)
                    errors.append(None)
                except smtplib.SMTPServerDisconnected as exc:
                    errors += [f"server disconnected: {exc}"] * (len(messages) - len(errors))
                    break
                except (OSError, smtplib.SMTPException) as exc:
                    errors.append(str(exc))
        return errors


@dataclass
class FileMailer:
    directory: Path

    def send(self, message: EmailMessage) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = str(message["Message-ID"] or id(message)).strip("<>").replace("/", "_")
        (self.directory / f"{name}.eml").write_bytes(bytes(message))


def ticket_sms(order: dict[str, Any], event_name: str, base_url: str) -> str:
    count = sum(1 for t in order["tickets"] if t["status"] == "valid")
    return (
        f"Encore: {count} ticket(s) for {event_name}, order {order['id']}."
        f" Your tickets: {base_url}/me/orders/{order['id']}"
    )
