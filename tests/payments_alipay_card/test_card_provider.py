"""Cards through the real stripe package against the Stripe-compatible emulator on loopback:
PaymentIntents, 3-D Secure, a declined card, signed webhooks (forged, stale and replayed ones
refused), refunds (full, partial, over, asynchronous, failing, retried) and the day's lines."""

from __future__ import annotations

import datetime
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from aiohttp import web

from box_office.config import ConfigError
from box_office.payments.card import settings as card_settings
from box_office.payments.provider import NotificationError, PaymentError, PayRequest
from tests.local_services import free_port
from tests.payments_alipay_card.conftest import CardWorld, Running, unique, wait_for


class Hooks:
    """A webhook endpoint keeping (headers, body) of every delivery; answers 200."""

    def __init__(self) -> None:
        self.seen: list[tuple[dict[str, str], bytes]] = []
        app = web.Application()
        app.router.add_post("/hook", self.hook)
        self.running = Running(app, free_port())
        self.url = self.running.url + "/hook"

    async def hook(self, request: web.Request) -> web.Response:
        self.seen.append((dict(request.headers), await request.read()))
        return web.json_response({"received": True})

    def of(self, kind: str, object_id: str, count: int = 1) -> list[tuple[dict[str, str], bytes]]:
        def found() -> list[tuple[dict[str, str], bytes]] | None:
            hits = [(h, b) for h, b in self.seen if json.loads(b)["type"] == kind and object_id in b.decode()]
            return hits if len(hits) >= count else None

        hits = wait_for(found)
        assert hits, f"no {kind} webhook for {object_id}"
        return list(hits)


@pytest.fixture(scope="module")
def hooks(card_world: CardWorld) -> Iterator[Hooks]:
    made = Hooks()
    card_world.webhook(made.url)
    yield made
    made.running.stop()


def paid(card: CardWorld, amount: int = 25000) -> tuple[Any, str]:
    provider = card.provider()
    created = provider.start(PayRequest(unique(), amount, "CNY", "", "Concert", "card"))
    assert provider.confirm(created.ref, "pm_card_visa", "http://127.0.0.1:1/back")["status"] == "succeeded"
    return provider, created.ref


def test_visa_payment_webhook_is_a_verified_capture(card: CardWorld, hooks: Hooks) -> None:
    provider = card.provider()
    created = provider.start(PayRequest(unique(), 25000, "CNY", "", "周杰伦 Jay Chou", "card"))
    assert (
        created.ref.startswith("pi_")
        and created.client_params
        and "_secret_" in created.client_params["client_secret"]
    )
    assert provider.query(created.ref).status == "created"
    assert provider.confirm(created.ref, "pm_card_visa", "http://127.0.0.1:1/back")["status"] == "succeeded"
    headers, body = hooks.of("payment_intent.succeeded", created.ref)[0]
    capture = provider.verify_notification(headers, body)
    assert (capture.ref, capture.status, capture.amount_cents, capture.currency) == (
        created.ref,
        "paid",
        25000,
        "CNY",
    )
    assert provider.query(created.ref).status == "paid"
    assert provider.notify_ack(True)[0] == 200


def test_three_d_secure_requires_action_then_the_issuer_page(card: CardWorld, hooks: Hooks) -> None:
    provider = card.provider()
    created = provider.start(PayRequest(unique(), 8800, "CNY", "", "x", "card"))
    step = provider.confirm(created.ref, "pm_card_threeDSecure2Required", "http://127.0.0.1:1/back")
    assert step["status"] == "requires_action" and "/3ds/" in step["redirect_url"]
    assert provider.query(created.ref).status == "created"  # not paid before the buyer authenticates
    with httpx.Client(timeout=10) as browser:
        assert "3-D Secure" in browser.get(step["redirect_url"]).text
        back = browser.post(step["redirect_url"], data={"action": "complete"})
    assert back.status_code == 302 and back.headers["location"].startswith(
        "http://127.0.0.1:1/back?payment_intent="
    )
    headers, body = hooks.of("payment_intent.succeeded", created.ref)[0]
    assert provider.verify_notification(headers, body).status == "paid"
    # a failed challenge leaves the payment unpaid
    other = provider.start(PayRequest(unique(), 8800, "CNY", "", "x", "card"))
    step = provider.confirm(other.ref, "pm_card_threeDSecure2Required", "http://127.0.0.1:1/back")
    httpx.post(step["redirect_url"], data={"action": "fail"}, timeout=10)
    headers, body = hooks.of("payment_intent.payment_failed", other.ref)[0]
    assert provider.verify_notification(headers, body).status == "created"
    assert provider.query(other.ref).status == "created"


def test_declined_card_and_closing(card: CardWorld, hooks: Hooks) -> None:
    provider = card.provider()
    created = provider.start(PayRequest(unique(), 500, "CNY", "", "x", "card"))
    assert provider.confirm(created.ref, "pm_card_chargeDeclined", "")["status"] == "declined"
    assert provider.close(created.ref).status == "closed"
    assert provider.close(created.ref).status == "closed"  # closing twice is fine
    with pytest.raises(PaymentError):
        provider.confirm(created.ref, "pm_card_visa", "")  # a closed payment cannot be paid
    _, ref = paid(card)
    with pytest.raises(PaymentError, match="paid"):
        provider.close(ref)


def test_forged_stale_and_foreign_webhooks_are_refused(card: CardWorld, hooks: Hooks) -> None:
    provider, ref = paid(card, 1200)
    headers, body = hooks.of("payment_intent.succeeded", ref)[0]
    tampered = body.replace(b'"amount": 1200', b'"amount": 1')
    assert tampered != body
    with pytest.raises(NotificationError, match="Stripe-Signature"):
        provider.verify_notification(headers, tampered)
    with pytest.raises(NotificationError, match="Stripe-Signature"):
        provider.verify_notification({}, body)
    stale = card.running.call(lambda: card.emulator.signature_header(body, int(time.time()) - 301))
    with pytest.raises(NotificationError, match="Stripe-Signature"):
        provider.verify_notification({"Stripe-Signature": stale}, body)
    other = card.provider(BOX_OFFICE_CARD_WEBHOOK_SECRET="whsec_someoneelse123")
    with pytest.raises(NotificationError, match="Stripe-Signature"):
        other.verify_notification(headers, body)
    customer = json.dumps(
        {
            "id": "evt_1",
            "object": "event",
            "type": "customer.created",
            "data": {"object": {"object": "customer"}},
        }
    ).encode()
    signed = card.running.call(lambda: card.emulator.signature_header(customer))
    with pytest.raises(NotificationError, match="not a payment event"):
        provider.verify_notification({"Stripe-Signature": signed}, customer)
    assert provider.verify_notification(headers, body).amount_cents == 1200


def test_refunds_partial_over_retried_and_full(card: CardWorld, hooks: Hooks) -> None:
    provider, ref = paid(card, 10000)
    first = provider.start_refund(ref, "r1", 2500, 10000, "one seat")
    assert (first.status, first.amount_cents, first.refund_no) == ("succeeded", 2500, "r1")
    again = provider.start_refund(ref, "r1", 2500, 10000, "one seat")  # retried: same refund
    assert again.provider_refund_id == first.provider_refund_id
    assert provider.query(ref).refunded_cents == 2500
    assert provider.start_refund(ref, "r2", 7501, 10000, "too much").status == "failed"
    with pytest.raises(PaymentError):
        provider.start_refund(ref, "r3", 0, 10000, "nothing")
    assert provider.start_refund(ref, "r4", 7500, 10000, "the rest").status == "succeeded"
    state = provider.query(ref)
    assert (state.status, state.refunded_cents) == ("refunded", 10000)
    assert provider.refund_query(ref, "r4").status == "succeeded"
    headers, body = hooks.of("charge.refunded", ref, 2)[-1]
    assert provider.verify_notification(headers, body).status in ("paid", "refunded")


def test_asynchronous_and_failing_refunds(card: CardWorld, hooks: Hooks) -> None:
    provider, ref = paid(card, 6000)
    card.switches(refund_mode="async")
    assert provider.start_refund(ref, "a1", 1000, 6000, "x").status == "pending"
    assert wait_for(lambda: provider.refund_query(ref, "a1").status == "succeeded")
    headers, body = hooks.of("refund.updated", ref)[0]
    assert provider.verify_refund_notification(headers, body).status == "succeeded"
    card.switches(refund_mode="fail")
    assert provider.start_refund(ref, "f1", 1000, 6000, "x").status == "pending"
    assert wait_for(lambda: provider.refund_query(ref, "f1").status == "failed")
    headers, body = hooks.of("refund.failed", ref)[0]
    state = provider.verify_refund_notification(headers, body)
    assert (state.refund_no, state.status) == ("f1", "failed")
    card.switches(refund_mode="sync")
    assert (
        provider.start_refund(ref, "f2", 5000, 6000, "x").status == "succeeded"
    )  # the failed one freed its amount


def test_day_lines(card: CardWorld, hooks: Hooks) -> None:
    provider, ref = paid(card, 3300)
    provider.start_refund(ref, "d1", 300, 3300, "x")
    today = datetime.datetime.now(datetime.UTC).date()
    lines = [line for line in provider.bill(today) if line.ref == ref]
    assert sorted((line.kind, line.amount_cents) for line in lines) == [("payment", 3300), ("refund", 300)]
    assert [line for line in provider.bill(today - datetime.timedelta(days=3)) if line.ref == ref] == []


def test_processor_down_wrong_key_and_settings(card: CardWorld, hooks: Hooks) -> None:
    provider = card.provider()
    card.switches(fail_5xx=1)
    with pytest.raises(PaymentError, match="unavailable"):
        provider.start(PayRequest(unique(), 100, "CNY", "", "x", "card"))
    card.switches(timeout_s=2.0)
    with pytest.raises(PaymentError, match="unavailable"):
        card.provider(BOX_OFFICE_CARD_TIMEOUT="0.5").query("pi_x")
    card.switches(timeout_s=0.0)
    with pytest.raises(PaymentError, match="key"):
        card.provider(BOX_OFFICE_CARD_SECRET_KEY="sk_test_wrongwrongwrong").query("pi_x")
    assert card_settings.load({}) is None
    for env, message in [
        ({"BOX_OFFICE_CARD_SECRET_KEY": "pk_test_abcdefghij"}, "not a secret key"),
        ({"BOX_OFFICE_CARD_WEBHOOK_SECRET": ""}, "WEBHOOK_SECRET"),
        ({"BOX_OFFICE_CARD_SECRET_KEY_FILE": "/nonexistent/key"}, "no file"),
        ({"BOX_OFFICE_CARD_API_BASE": "http://api.example"}, "https"),
        ({"BOX_OFFICE_CARD_PUBLISHABLE_KEY": "pk_live_abcdefghij"}, "mixed"),
    ]:
        with pytest.raises(ConfigError, match=message):
            card_settings.load(card.env | env)
    loaded = card_settings.load(card.env)
    assert loaded is not None and loaded.secret_key not in repr(loaded)
