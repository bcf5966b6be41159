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
from typing import Any

import httpx

from box_office.payments.provider import (
    CreatedPayment,
    Notification,
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
    """:class:`~box_office.payments.provider.PaymentProvider` for the sandbox bank."""

    name = "sandbox"

    def __init__(self, base_url: str, secret: str, client: httpx.Client | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.secret = secret
        self._client = client or httpx.Client(timeout=30.0)

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
        data = self._call("GET", f"/api/payments/{ref}")
        return PaymentState(data["ref"], data["status"], data["amount_cents"], data["refunded_cents"])

    def refund(self, ref: str, amount_cents: int) -> PaymentState:
        data = self._call("POST", f"/api/payments/{ref}/refund", {"amount_cents": amount_cents})
        return PaymentState(data["ref"], data["status"], data["amount_cents"], data["refunded_cents"])

    def verify_notification(self, headers: dict[str, str], body: bytes) -> Notification:
        check_signature(self.secret, headers, body)
        try:
            data = json.loads(body)
            return Notification(
                notify_id=str(data["notify_id"]),
                ref=str(data["ref"]),
                merchant_order=str(data["merchant_order"]),
                status=str(data["status"]),
                amount_cents=int(data["amount_cents"]),
                currency=str(data["currency"]),
            )
        except (ValueError, KeyError, TypeError):
            raise NotificationError("malformed notification body") from None
