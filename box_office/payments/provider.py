"""The payment provider interface, and the registry of the providers this box office accepts.

The flow every provider follows: the box office creates a payment (amount, its own order
reference, where to notify) and gets a payment URL and QR text for the buyer; the provider
later sends an asynchronous, signed notification to ``POST /api/payments/{name}/notify``; the
box office verifies it and checks state, amount and currency before trusting it. It can also
ask the provider for a payment's state (reconciling a notification that never came: the answer
goes through the same settle step as a notification), close an unpaid payment, refund, and
ask how a refund stands. WeChat Pay, Alipay and card adapters implement the same interface.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol


class PaymentError(Exception):
    """The provider refused or could not be reached; the message says which."""


class NotificationError(ValueError):
    """A notification that must not be trusted (bad signature, stale, malformed, not what the
    provider's own books say)."""


class UnknownProvider(LookupError):
    """No provider of that name is configured here."""


@dataclass(frozen=True)
class CreatedPayment:
    ref: str
    pay_url: str
    qr_text: str


@dataclass(frozen=True)
class Capture:
    """What a provider vouches for about one payment: from a verified notification, or from
    the provider's answer to a query. ``event_id`` is unique per notification (per query
    answer: ``query:<ref>``), so the same fact is never applied twice."""

    event_id: str
    ref: str
    status: str  # created | paid | closed | refunded
    amount_cents: int
    currency: str


@dataclass(frozen=True)
class PaymentState:
    ref: str
    status: str  # created | paid | closed | refunded
    amount_cents: int
    refunded_cents: int
    currency: str

    def capture(self) -> Capture:
        """This answer to a query, as the fact the settle step applies."""
        return Capture(f"query:{self.ref}", self.ref, self.status, self.amount_cents, self.currency)


class PaymentProvider(Protocol):
    name: str

    def create(
        self, merchant_order: str, amount_cents: int, currency: str, notify_url: str
    ) -> CreatedPayment: ...

    def verify_notification(self, headers: dict[str, str], body: bytes) -> Capture:
        """The verified fact a notification carries; NotificationError if it cannot be trusted."""
        ...

    def query(self, ref: str) -> PaymentState: ...

    def close(self, ref: str) -> PaymentState:
        """Close an unpaid payment so that it can no longer be paid."""
        ...

    def refund(self, ref: str, amount_cents: int) -> PaymentState: ...

    def refund_status(self, ref: str) -> PaymentState:
        """How much of the payment has been refunded so far."""
        ...


class ProviderRegistry:
    """The providers configured in this process, by name (the ``{provider}`` of the notify URL)."""

    def __init__(self, providers: Iterable[PaymentProvider] = ()) -> None:
        self._by_name: dict[str, PaymentProvider] = {}
        for provider in providers:
            if provider.name in self._by_name:
                raise ValueError(f"two payment providers named {provider.name}")
            self._by_name[provider.name] = provider

    def get(self, name: str) -> PaymentProvider:
        try:
            return self._by_name[name]
        except KeyError:
            raise UnknownProvider(name) from None

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[PaymentProvider]:
        return iter(self._by_name.values())

    @property
    def names(self) -> list[str]:
        return sorted(self._by_name)
