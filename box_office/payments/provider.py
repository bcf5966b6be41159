"""The payment provider interface. WeChat Pay, Alipay and card adapters implement it later.

The flow every provider follows: the box office creates a payment (amount, its own order
reference, where to notify) and gets a payment URL and QR text for the buyer; the provider
later sends an asynchronous, signed notification; the box office verifies it and checks the
amount before trusting it, and can also ask the provider for a payment's state (reconciling a
notification that never came) and refund.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class PaymentError(Exception):
    """The provider refused or could not be reached; the message says which."""


class NotificationError(ValueError):
    """A notification that must not be trusted (bad signature, stale, malformed)."""


@dataclass(frozen=True)
class CreatedPayment:
    ref: str
    pay_url: str
    qr_text: str


@dataclass(frozen=True)
class Notification:
    """A verified provider notification: ``notify_id`` is unique per notification."""

    notify_id: str
    ref: str
    merchant_order: str
    status: str
    amount_cents: int
    currency: str


@dataclass(frozen=True)
class PaymentState:
    ref: str
    status: str  # created | paid | refunded
    amount_cents: int
    refunded_cents: int


class PaymentProvider(Protocol):
    name: str

    def create(
        self, merchant_order: str, amount_cents: int, currency: str, notify_url: str
    ) -> CreatedPayment: ...

    def query(self, ref: str) -> PaymentState: ...

    def refund(self, ref: str, amount_cents: int) -> PaymentState: ...

    def verify_notification(self, headers: dict[str, str], body: bytes) -> Notification: ...
