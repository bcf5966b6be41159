"""Cards (international and UnionPay) through the stripe package's PaymentIntents.

``StripeClient(base_addresses={"api": ...})`` is the package's documented way to reach another
API host (the local emulator in tests and demos). A payment is a PaymentIntent: the buyer's page
confirms it with a card (or :meth:`CardProvider.confirm` does, server-side); a card that needs
3-D Secure leaves it ``requires_action`` with ``next_action.redirect_to_url``, where the buyer
authenticates with the issuer. The outcome reaches us as a webhook signed in ``Stripe-Signature``
(``t=…,v1=…``, HMAC-SHA256 over ``t.payload`` with the endpoint's secret, 5 minutes' tolerance),
verified by the package. Refunds take our refund number as their idempotency key and metadata,
so a retried refund is the same refund.
"""

from __future__ import annotations

import datetime
import logging
from typing import Any

import stripe

from box_office.payments.card.settings import CardSettings
from box_office.payments.provider import (
    BillLine,
    Capture,
    CreatedPayment,
    NotificationError,
    PaymentError,
    PaymentState,
    PayRequest,
    RefundState,
)

log = logging.getLogger(__name__)

INTENT_STATUS = {"succeeded": "paid", "canceled": "closed"}  # anything else: still created
REFUND_STATUS = {
    "succeeded": "succeeded",
    "pending": "pending",
    "requires_action": "pending",
    "failed": "failed",
    "canceled": "closed",
}
PAYMENT_EVENTS = {
    "payment_intent.succeeded",
    "payment_intent.canceled",
    "payment_intent.payment_failed",
    "payment_intent.processing",
    "payment_intent.requires_action",
}
REFUND_EVENTS = {"refund.created", "refund.updated", "refund.failed"}


class CardProvider:
    """:class:`~box_office.payments.provider.PaymentProvider` for cards (see the module doc)."""

    name = "card"
    channels: tuple[str, ...] = ("card",)

    def __init__(self, settings: CardSettings) -> None:
        self.settings = settings
        self._client = stripe.StripeClient(
            settings.secret_key,
            base_addresses={"api": settings.api_base},
            max_network_retries=0,
            http_client=stripe.RequestsClient(timeout=settings.timeout),
        )

    def _call(self, what: str, ref: str, call: Any) -> Any:
        try:
            result = call()
        except stripe.CardError:
            raise  # the caller decides (a declined card is an answer, not an outage)
        except stripe.InvalidRequestError:
            raise
        except stripe.AuthenticationError:
            log.error("card %s %s: the API refused our secret key", what, ref)
            raise PaymentError("card processor refused our key") from None
        except stripe.StripeError as exc:
            log.warning("card %s %s: %s (request %s)", what, ref, type(exc).__name__, exc.request_id)
            raise PaymentError(
                f"card processor unavailable during {what}: {exc.user_message or type(exc).__name__}"
            ) from None
        log.info(
            "card %s %s: ok (request %s)",
            what,
            ref,
            getattr(result, "last_response", None) and result.last_response.request_id,
        )
        return result

    # -- payments ------------------------------------------------------------------------------

    def create(
        self, merchant_order: str, amount_cents: int, currency: str, notify_url: str
    ) -> CreatedPayment:
        return self.start(
            PayRequest(
                merchant_order,
                amount_cents,
                currency,
                notify_url,
                merchant_order,
                "card",
                return_url=self.settings.return_url,
            )
        )

    def start(self, request: PayRequest) -> CreatedPayment:
        if request.amount_cents < 1:
            raise PaymentError("nothing to pay")
        try:
            intent = self._call(
                "create",
                request.merchant_order,
                lambda: self._client.v1.payment_intents.create(
                    params={
                        "amount": request.amount_cents,
                        "currency": request.currency.lower(),
                        "description": request.description[:500],
                        "allowed_payment_method_types": ["card"],
                        "metadata": {"merchant_order": request.merchant_order},
                    }
                ),
            )
        except stripe.StripeError as exc:  # a refused request (currency, amount)
            raise PaymentError(f"card payment refused: {exc.user_message or exc}") from None
        page = self.settings.pay_page.format(id=intent.id, client_secret=intent.client_secret)
        params = {"client_secret": str(intent.client_secret)}
        if self.settings.publishable_key:
            params["publishable_key"] = self.settings.publishable_key
        return CreatedPayment(ref=intent.id, pay_url=page, qr_text=page, channel="card", client_params=params)

    def confirm(self, ref: str, payment_method: str, return_url: str) -> dict[str, str]:
        """Confirm server-side with a payment method: ``{"status": …, "redirect_url": …}``; a card
        that needs 3-D Secure answers ``requires_action`` and the URL to send the buyer to; a
        declined card answers ``declined`` with the processor's code."""
        try:
            intent = self._call(
                "confirm",
                ref,
                lambda: self._client.v1.payment_intents.confirm(
                    ref, params={"payment_method": payment_method, "return_url": return_url}
                ),
            )
        except stripe.CardError as exc:
            return {"status": "declined", "code": str(exc.code), "redirect_url": ""}
        except stripe.InvalidRequestError as exc:
            raise PaymentError(f"card confirm refused: {exc.user_message or exc}") from None
        redirect = ""
        action = intent.next_action if intent.status == "requires_action" else None
        if action is not None and action.type == "redirect_to_url":
            redirect = str(action.redirect_to_url.url)
        return {"status": str(intent.status), "redirect_url": redirect}

    def query(self, ref: str) -> PaymentState:
        try:
            intent = self._call("retrieve", ref, lambda: self._client.v1.payment_intents.retrieve(ref))
        except stripe.InvalidRequestError as exc:
            raise PaymentError(f"card payment {ref}: {exc.user_message or exc}") from None
        refunded = 0
        if intent.status == "succeeded":
            refunded = sum(r.amount for r in self._refunds(ref) if r.status == "succeeded")
        status = INTENT_STATUS.get(str(intent.status), "created")
        if status == "paid" and refunded == intent.amount:
            status = "refunded"
        return PaymentState(ref, status, int(intent.amount), refunded, str(intent.currency).upper())

    def close(self, ref: str) -> PaymentState:
        try:
            self._call("cancel", ref, lambda: self._client.v1.payment_intents.cancel(ref))
        except stripe.InvalidRequestError:
            state = self.query(ref)
            if state.status == "closed":
                return state
            raise PaymentError(f"card payment {ref} is {state.status}: it cannot be closed") from None
        return self.query(ref)

    # -- webhooks ------------------------------------------------------------------------------

    def _event(self, headers: dict[str, str], body: bytes) -> Any:
        lowered = {k.lower(): v for k, v in headers.items()}
        try:
            return stripe.Webhook.construct_event(
                body,
                lowered.get("stripe-signature", ""),
                self.settings.webhook_secret,
                tolerance=self.settings.webhook_tolerance,
            )
        except stripe.SignatureVerificationError as exc:
            raise NotificationError(f"Stripe-Signature: {exc.user_message or exc}") from None
        except ValueError:
            raise NotificationError("not a webhook event") from None

    def verify_notification(self, headers: dict[str, str], body: bytes) -> Capture:
        event = self._event(headers, body)
        obj = event.data.object
        if event.type in PAYMENT_EVENTS and obj.object == "payment_intent":
            status = INTENT_STATUS.get(str(obj.status), "created")
            amount = int(obj.amount_received) if status == "paid" else int(obj.amount)
            return Capture(f"card:{event.id}", str(obj.id), status, amount, str(obj.currency).upper())
        if event.type == "charge.refunded" and obj.object == "charge":
            status = "refunded" if obj.refunded else "paid"
            return Capture(
                f"card:{event.id}",
                str(obj.payment_intent),
                status,
                int(obj.amount),
                str(obj.currency).upper(),
            )
        raise NotificationError(f"not a payment event: {event.type}")

    def verify_refund_notification(self, headers: dict[str, str], body: bytes) -> RefundState:
        event = self._event(headers, body)
        obj = event.data.object
        if event.type not in REFUND_EVENTS or obj.object != "refund":
            raise NotificationError(f"not a refund event: {event.type}")
        return self._refund_state(obj)

    def notify_ack(self, ok: bool) -> tuple[int, bytes, str]:
        return (
            (200, b'{"received":true}', "application/json")
            if ok
            else (400, b'{"received":false}', "application/json")
        )

    # -- refunds -------------------------------------------------------------------------------

    @staticmethod
    def _refund_state(obj: Any) -> RefundState:
        metadata = obj.metadata.to_dict() if obj.metadata else {}
        refund_no = str(metadata.get("refund_no", obj.id))
        return RefundState(
            refund_no,
            str(obj.payment_intent),
            int(obj.amount),
            REFUND_STATUS.get(str(obj.status), "pending"),
            str(obj.id),
        )

    def _refunds(self, ref: str) -> list[Any]:
        listed = self._call(
            "refunds.list",
            ref,
            lambda: self._client.v1.refunds.list(params={"payment_intent": ref, "limit": 100}),
        )
        return list(listed.auto_paging_iter())

    def refund(self, ref: str, amount_cents: int) -> PaymentState:
        state = self.start_refund(ref, f"{ref}_R", amount_cents, amount_cents, "order expired")
        if state.status != "succeeded":
            raise PaymentError(f"card refund of {ref} is {state.status}")
        return self.query(ref)

    def refund_status(self, ref: str) -> PaymentState:
        return self.query(ref)

    def start_refund(
        self, ref: str, refund_no: str, amount_cents: int, total_cents: int, reason: str
    ) -> RefundState:
        if not 0 < amount_cents <= total_cents:
            raise PaymentError(f"refund of {amount_cents}: must be more than 0 and at most {total_cents}")
        try:
            refund = self._call(
                "refund",
                ref,
                lambda: self._client.v1.refunds.create(
                    params={
                        "payment_intent": ref,
                        "amount": amount_cents,
                        "reason": "requested_by_customer",
                        "metadata": {"refund_no": refund_no, "reason": reason[:500]},
                    },
                    options={"idempotency_key": f"refund-{refund_no}"},
                ),
            )
        except stripe.InvalidRequestError as exc:
            log.warning("card refund %s/%s refused: %s", ref, refund_no, exc.code)
            return RefundState(refund_no, ref, amount_cents, "failed")
        return self._refund_state(refund)

    def refund_query(self, ref: str, refund_no: str) -> RefundState:
        for refund in self._refunds(ref):
            if refund.metadata and refund.metadata.to_dict().get("refund_no") == refund_no:
                return self._refund_state(refund)
        raise PaymentError(f"no card refund {refund_no} for {ref}")

    # -- bills ---------------------------------------------------------------------------------

    def bill(self, day: datetime.date) -> list[BillLine]:
        """The day's (UTC) charges and refunds, from the processor's own lists."""
        start = int(datetime.datetime.combine(day, datetime.time(), datetime.UTC).timestamp())
        end = start + 86400
        charges = self._call(
            "charges.list",
            str(day),
            lambda: self._client.v1.charges.list(params={"created": {"gte": start, "lt": end}, "limit": 100}),
        )
        refunds = self._call(
            "refunds.list",
            str(day),
            lambda: self._client.v1.refunds.list(params={"created": {"gte": start, "lt": end}, "limit": 100}),
        )
        lines = [
            BillLine(
                str(c.payment_intent),
                str(c.id),
                "payment",
                int(c.amount),
                str(c.currency).upper(),
                "succeeded",
            )
            for c in charges.auto_paging_iter()
            if c.status == "succeeded"
        ]
        lines += [
            BillLine(
                str(r.payment_intent),
                str(r.id),
                "refund",
                int(r.amount),
                str(r.currency).upper(),
                str(r.status),
            )
            for r in refunds.auto_paging_iter()
            if r.status in ("succeeded", "pending")
        ]
        return lines
