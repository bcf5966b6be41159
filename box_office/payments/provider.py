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

import datetime
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


class PaymentError(Exception):
    """The provider refused or could not be reached; the message says which."""


class NotificationError(ValueError):
    """A notification that must not be trusted (bad signature, stale, malformed, not what the
    provider's own books say)."""


class UnknownProvider(LookupError):
    """No provider of that name is configured here."""


@dataclass(frozen=True)
class PayRequest:
    """What the box office asks a provider to collect (see docs: PAYMENTS_CONTRACT)."""

    merchant_order: str  # our payment reference (unique per payment attempt)
    amount_cents: int  # integer fen
    currency: str  # "CNY" ...
    notify_url: str  # https://.../api/payments/{name}/notify
    description: str  # event name shown on the provider's page
    channel: str = "default"  # wechat: native|h5|jsapi ; alipay: page|wap|precreate ; card: card
    client_ip: str = ""
    payer_openid: str = ""  # JSAPI only
    return_url: str = ""  # where the provider sends the buyer back (page/wap/h5)
    instalments: int = 0  # Huabei periods 3|6|12, 0 = none
    instalment_seller_percent: int = 0  # 0 buyer pays the fee, 100 promoter pays


@dataclass(frozen=True)
class CreatedPayment:
    ref: str
    pay_url: str
    qr_text: str
    channel: str = "default"
    client_params: dict[str, str] | None = None  # JSAPI paySign params / Stripe client_secret


@dataclass(frozen=True)
class RefundState:
    """How one refund stands at the provider. ``refund_no`` is ours (WeChat ``out_refund_no``,
    Alipay ``out_request_no``): the idempotency key, reused on every retry of that refund."""

    refund_no: str
    ref: str
    amount_cents: int
    status: str  # pending | succeeded | failed | closed
    provider_refund_id: str = ""


@dataclass(frozen=True)
class BillLine:
    """One line of a provider's daily bill, in our terms."""

    ref: str  # our merchant order / payment reference
    provider_txn: str
    kind: str  # payment | refund
    amount_cents: int
    currency: str
    status: str


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
    """The interface every provider implements. The sandbox implements the original methods;
    the real providers implement all of them (:class:`FullProvider`)."""

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


@runtime_checkable
class FullProvider(PaymentProvider, Protocol):
    """A provider with channels, asynchronous refunds and daily bills (WeChat Pay, Alipay, cards).

    ``start`` raises :class:`PaymentError` when the provider is down or refuses; ``create`` may
    be implemented as ``start(PayRequest(...))``. ``notify_ack`` is the answer the provider
    expects to a notification (status, body, content type).
    """

    channels: tuple[str, ...]

    def start(self, request: PayRequest) -> CreatedPayment: ...

    def start_refund(
        self, ref: str, refund_no: str, amount_cents: int, total_cents: int, reason: str
    ) -> RefundState: ...

    def refund_query(self, ref: str, refund_no: str) -> RefundState: ...

    def verify_refund_notification(self, headers: dict[str, str], body: bytes) -> RefundState: ...

    def bill(self, day: datetime.date) -> list[BillLine]: ...

    def notify_ack(self, ok: bool) -> tuple[int, bytes, str]: ...


def is_full(provider: PaymentProvider) -> bool:
    """Whether ``provider`` has the whole interface (channels, async refunds, bills)."""
    return isinstance(provider, FullProvider)


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
