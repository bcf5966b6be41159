"""The sandbox payment provider: a client that talks HTTP to the sandbox bank like to a real one.

Requests and notifications are signed with HMAC-SHA256 over ``"<unix time>." + body`` with the
merchant secret, in the headers ``X-Sandbox-Timestamp`` and ``X-Sandbox-Signature``.
A notification older than five minutes is refused (stale or replayed); the box office also
remembers every notification id it accepted, so an exact replay inside the window is refused too.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from box_office.payments.provider import (
    Capture,
    CreatedPayment,
    NotificationError,
    PaymentError,
    PaymentState,
)

MAX_AGE = 300
TS_HEADER = "x-sandbox-timestamp"
SIG_HEADER = "x-sandbox-signature"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    timestamp = str(int(time.time() if now is None else now))
    return {
        TS_HEADER: timestamp,
        SIG_HEADER: sign(secret, timestamp, body),
        "content-type": "application/json",
    }


def check_signature(secret: str, headers: dict[str, str], body: bytes, now: float | None = None) -> None:
    """Raise :class:`NotificationError` unless the headers sign ``body`` recently with ``secret``."""
    lowered = {k.lower(): v for k, v in headers.items()}
    timestamp = lowered.get(TS_HEADER, "")
    signature = lowered.get(SIG_HEADER, "")
    if not timestamp.isdigit() or not signature:
        raise NotificationError("missing or malformed signature headers")
    if not hmac.compare_digest(sign(secret, timestamp, body), signature):
        raise NotificationError("bad signature")
    if abs((time.time() if now is None else now) - int(timestamp)) > MAX_AGE:
        raise NotificationError("stale notification (older than 5 minutes)")


class SandboxProvider:
    """:class:`~box_office.payments.provider.PaymentProvider` for the sandbox bank.

    ``books`` reads the bank's own record of a payment when the bank runs in this box office
    (one indexed read instead of an HTTP round trip); without it a notification is checked
    against the bank's answer to a signed query. Either way a notification is trusted only if
    the bank's record says the same: a callback signed with a leaked secret cannot sell.
    """

    name = "sandbox"

    def __init__(
        self,
        base_url: str,
        secret: str,
        client: httpx.Client | None = None,
        books: Callable[[str], PaymentState | None] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.secret = secret
        self._client = client or httpx.Client(timeout=30.0)
        self._books = books

    def _call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        body = b"" if payload is None else json.dumps(payload).encode()
        signed = body or path.encode()
        try:
            response = self._client.request(
                method,
                self.base_url + path,
                content=body or None,
                headers=signed_headers(self.secret, signed),
            )
        except httpx.HTTPError as exc:
            raise PaymentError(f"sandbox provider unreachable: {exc}") from None
        if response.status_code >= 400:
            raise PaymentError(f"sandbox provider refused ({response.status_code}): {response.text[:200]}")
        result: dict[str, Any] = response.json()
        return result

    def create(
        self, merchant_order: str, amount_cents: int, currency: str, notify_url: str
    ) -> CreatedPayment:
        data = self._call(
            "POST",
            "/api/payments",
            {
                "merchant_order": merchant_order,
                "amount_cents": amount_cents,
                "currency": currency,
                "notify_url": notify_url,
            },
        )
        return CreatedPayment(ref=data["ref"], pay_url=data["pay_url"], qr_text=data["qr_text"])

    def query(self, ref: str) -> PaymentState:
        return _state(self._call("GET", f"/api/payments/{ref}"))

    def close(self, ref: str) -> PaymentState:
        return _state(self._call("POST", f"/api/payments/{ref}/close", {}))

    def refund(self, ref: str, amount_cents: int) -> PaymentState:
        return _state(self._call("POST", f"/api/payments/{ref}/refund", {"amount_cents": amount_cents}))

    def refund_status(self, ref: str) -> PaymentState:
        return self.query(ref)

    def verify_notification(self, headers: dict[str, str], body: bytes) -> Capture:
        check_signature(self.secret, headers, body)
        try:
            data = json.loads(body)
            note = Capture(
                event_id=str(data["notify_id"]),
                ref=str(data["ref"]),
                status=str(data["status"]),
                amount_cents=int(data["amount_cents"]),
                currency=str(data["currency"]),
            )
        except (ValueError, KeyError, TypeError):
            raise NotificationError("malformed notification body") from None
        try:
            record = self._books(note.ref) if self._books is not None else self.query(note.ref)
        except PaymentError as exc:
            raise NotificationError(f"the bank cannot confirm it: {exc}") from None
        if record is None or (record.status, record.amount_cents, record.currency) != (
            note.status,
            note.amount_cents,
            note.currency,
        ):
            raise NotificationError("the bank's books do not show this payment")
        return note


def _state(data: dict[str, Any]) -> PaymentState:
    return PaymentState(
        data["ref"], data["status"], int(data["amount_cents"]), int(data["refunded_cents"]), data["currency"]
    )
