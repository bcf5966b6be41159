"""A card processor emulator speaking the subset of Stripe's API the box office uses (development
and tests only; never mounted in production).

* Form-encoded requests (``metadata[k]=v``), ``Authorization: Bearer <secret key>`` (else 401),
  ``Idempotency-Key`` honoured on POSTs (same key, same answer; other parameters: 400).
* ``/v1/payment_intents`` create / retrieve / confirm / cancel with Stripe's statuses
  (``requires_payment_method → requires_action → succeeded | canceled``). Test payment methods:
  ``pm_card_visa``, ``pm_card_mastercard``, ``pm_card_unionpay`` succeed;
  ``pm_card_threeDSecure2Required`` needs 3-D Secure (``next_action.redirect_to_url`` to the
  emulator's challenge page, which completes or fails it); ``pm_card_chargeDeclined`` is declined
  (402 ``card_error`` / ``card_declined``).
* ``/v1/refunds`` create / retrieve / list (partial; never more than what is left) — succeeding at
  once, asynchronously (``pending`` → ``succeeded``) or failing, by switch; ``/v1/charges`` list.
* Webhooks: events POSTed as JSON to the registered endpoint with
  ``Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<payload>")>``, only the event
  types the endpoint enabled, retried with back-off until a 2xx.
* ``/pay/{id}``: a hosted card page (what Stripe.js would be on the merchant's page) to pick a
  test card; ``/_emulator/*``: misbehaviour switches and the delivered webhooks.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import html
import json
import logging
import re
import secrets
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

log = logging.getLogger(__name__)

RETRY_SCHEDULE = (0.0, 60.0, 300.0, 1800.0, 3600.0, 10800.0)
SUCCEEDING = {"pm_card_visa": "visa", "pm_card_mastercard": "mastercard", "pm_card_unionpay": "unionpay"}
THREE_DS = {"pm_card_threeDSecure2Required", "pm_card_authenticationRequired"}
DECLINED = {"pm_card_chargeDeclined", "pm_card_visa_chargeDeclined"}
_META = re.compile(r"^metadata\[(.+)\]$")


class StripeError(Exception):
    def __init__(self, status: int, kind: str, message: str, code: str = "", **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": {"type": kind, "message": message, **({"code": code} if code else {}), **extra}}


@dataclass
class Switches:
    slow_ms: int = 0
    fail_5xx: int = 0
    timeout_s: float = 0.0
    duplicate_webhook: bool = False
    hold_webhooks: bool = False  # queue; /_emulator/flush delivers newest first
    refund_mode: str = "sync"  # sync | async | fail
    retry_scale: float = 1.0


def _id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


class CardEmulator:
    def __init__(self, secret_key: str, webhook_secret: str, base_url: str = "") -> None:
        self.secret_key = secret_key
        self.webhook_secret = webhook_secret
        self.base_url = base_url.rstrip("/")
        self.webhook_url = ""
        self.enabled_events: set[str] = {"*"}
        self.intents: dict[str, dict[str, Any]] = {}
        self.charges: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.idempotent: dict[str, tuple[str, int, dict[str, Any]]] = {}
        self.switches = Switches()
        self.deliveries: list[dict[str, Any]] = []
        self.held: list[bytes] = []
        self._client: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # -- the API -------------------------------------------------------------------------------

    async def api(self, request: web.Request) -> web.Response:
        sw = self.switches
        if sw.timeout_s:
            await asyncio.sleep(sw.timeout_s)
        if sw.slow_ms:
            await asyncio.sleep(sw.slow_ms / 1000)
        if sw.fail_5xx > 0:
            sw.fail_5xx -= 1
            return web.json_response(
                {"error": {"type": "api_error", "message": "emulated outage"}}, status=500
            )
        auth = request.headers.get("Authorization", "")
        if not hmac.compare_digest(auth, f"Bearer {self.secret_key}"):
            shown = auth.removeprefix("Bearer ")[:8]
            return web.json_response(
                {
                    "error": {
                        "type": "invalid_request_error",
                        "message": f"Invalid API Key provided: {shown}****",
                    }
                },
                status=401,
            )
        form = {k: str(v) for k, v in (await request.post()).items()} if request.method == "POST" else {}
        params = dict(request.query) | form
        key = request.headers.get("Idempotency-Key", "")
        fingerprint = request.method + request.path + json.dumps(sorted(form.items()))
        if request.method == "POST" and key in self.idempotent:
            seen, status, body = self.idempotent[key]
            if seen != fingerprint:
                return web.json_response(
                    {
                        "error": {
                            "type": "idempotency_error",
                            "message": "Keys for idempotent requests can only be used with the same "
                            "parameters",
                        }
                    },
                    status=400,
                )
            return web.json_response(body, status=status, headers={"Idempotent-Replayed": "true"})
        try:
            body = self._route(request.method, request.match_info["path"], params)
            status = 200
        except StripeError as exc:
            status, body = exc.status, exc.body
        if request.method == "POST" and key:
            self.idempotent[key] = (fingerprint, status, body)
        return web.json_response(body, status=status, headers={"Request-Id": _id("req")})

    def _route(self, method: str, path: str, p: dict[str, str]) -> dict[str, Any]:
        parts = path.strip("/").split("/")
        if parts == ["payment_intents"] and method == "POST":
            return self._create_intent(p)
        if parts[0] == "payment_intents" and len(parts) >= 2:
            intent = self.intents.get(parts[1])
            if intent is None:
                raise StripeError(
                    404, "invalid_request_error", f"No such payment_intent: '{parts[1]}'", "resource_missing"
                )
            if len(parts) == 2 and method == "GET":
                return intent
            if parts[2:] == ["confirm"] and method == "POST":
                return self._confirm(intent, p.get("payment_method", ""), p.get("return_url", ""))
            if parts[2:] == ["cancel"] and method == "POST":
                return self._cancel(intent)
        if parts == ["refunds"] and method == "POST":
            return self._refund(p)
        if parts == ["refunds"] and method == "GET":
            return self._list(self.refunds.values(), p, "/v1/refunds")
        if parts[0] == "refunds" and len(parts) == 2 and method == "GET":
            if parts[1] not in self.refunds:
                raise StripeError(
                    404, "invalid_request_error", f"No such refund: '{parts[1]}'", "resource_missing"
                )
            return self.refunds[parts[1]]
        if parts == ["charges"] and method == "GET":
            return self._list(self.charges.values(), p, "/v1/charges")
        raise StripeError(404, "invalid_request_error", f"Unrecognized request URL ({method}: /v1/{path})")

    @staticmethod
    def _metadata(p: dict[str, str]) -> dict[str, str]:
        return {m.group(1): v for k, v in p.items() if (m := _META.match(k))}

    def _create_intent(self, p: dict[str, str]) -> dict[str, Any]:
        try:
            amount = int(p.get("amount", ""))
        except ValueError:
            raise StripeError(
                400, "invalid_request_error", "Missing required param: amount.", "parameter_missing"
            ) from None
        currency = p.get("currency", "")
        if amount < 1 or not re.fullmatch(r"[a-z]{3}", currency):
            raise StripeError(
                400, "invalid_request_error", "Invalid amount or currency", "parameter_invalid_integer"
            )
        pi_id = _id("pi")
        intent = {
            "id": pi_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_received": 0,
            "currency": currency,
            "status": "requires_payment_method",
            "client_secret": f"{pi_id}_secret_{secrets.token_hex(12)}",
            "created": int(time.time()),
            "description": p.get("description"),
            "metadata": self._metadata(p),
            "next_action": None,
            "latest_charge": None,
            "last_payment_error": None,
            "payment_method": None,
            "payment_method_types": ["card"],
            "livemode": False,
            "capture_method": "automatic",
        }
        self.intents[pi_id] = intent
        if p.get("confirm") == "true":
            return self._confirm(intent, p.get("payment_method", ""), p.get("return_url", ""))
        return intent

    def _confirm(self, intent: dict[str, Any], payment_method: str, return_url: str) -> dict[str, Any]:
        if intent["status"] not in ("requires_payment_method", "requires_confirmation"):
            raise StripeError(
                400,
                "invalid_request_error",
                f"This PaymentIntent's status is {intent['status']}: it cannot be confirmed.",
                "payment_intent_unexpected_state",
                payment_intent=intent,
            )
        intent["payment_method"] = payment_method
        intent["last_payment_error"] = None
        if payment_method in SUCCEEDING:
            self._succeed(intent)
        elif payment_method in THREE_DS:
            if not return_url:
                raise StripeError(
                    400,
                    "invalid_request_error",
                    "return_url is required for 3-D Secure here",
                    "parameter_missing",
                )
            token = secrets.token_urlsafe(12)
            intent["_3ds"] = token
            intent["status"] = "requires_action"
            intent["next_action"] = {
                "type": "redirect_to_url",
                "redirect_to_url": {
                    "url": f"{self.base_url}/3ds/{intent['id']}?token={token}",
                    "return_url": return_url,
                },
            }
        elif payment_method in DECLINED:
            intent["status"] = "requires_payment_method"
            error = {
                "type": "card_error",
                "code": "card_declined",
                "decline_code": "generic_decline",
                "message": "Your card was declined.",
            }
            intent["last_payment_error"] = error
            self.event("payment_intent.payment_failed", intent)
            raise StripeError(
                402,
                "card_error",
                "Your card was declined.",
                "card_declined",
                decline_code="generic_decline",
                payment_intent=self.public(intent),
            )
        else:
            raise StripeError(
                400, "invalid_request_error", f"No such PaymentMethod: '{payment_method}'", "resource_missing"
            )
        return self.public(intent)

    @staticmethod
    def public(intent: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in intent.items() if not k.startswith("_")}

    def _succeed(self, intent: dict[str, Any]) -> None:
        charge = {
            "id": _id("ch"),
            "object": "charge",
            "amount": intent["amount"],
            "amount_refunded": 0,
            "currency": intent["currency"],
            "payment_intent": intent["id"],
            "status": "succeeded",
            "paid": True,
            "refunded": False,
            "created": int(time.time()),
            "payment_method_details": {
                "type": "card",
                "card": {
                    "brand": SUCCEEDING.get(intent["payment_method"], "visa"),
                    "three_d_secure": intent.get("_3ds") is not None,
                },
            },
        }
        self.charges[charge["id"]] = charge
        intent |= {
            "status": "succeeded",
            "amount_received": intent["amount"],
            "latest_charge": charge["id"],
            "next_action": None,
        }
        self.event("payment_intent.succeeded", self.public(intent))

    def _cancel(self, intent: dict[str, Any]) -> dict[str, Any]:
        if intent["status"] in ("succeeded", "canceled", "processing"):
            raise StripeError(
                400,
                "invalid_request_error",
                f"You cannot cancel this PaymentIntent because it has a status of {intent['status']}.",
                "payment_intent_unexpected_state",
            )
        intent |= {"status": "canceled", "next_action": None, "cancellation_reason": "requested_by_customer"}
        self.event("payment_intent.canceled", self.public(intent))
        return self.public(intent)

    def _refund(self, p: dict[str, str]) -> dict[str, Any]:
        intent = self.intents.get(p.get("payment_intent", ""))
        if intent is None or intent["latest_charge"] is None:
            raise StripeError(
                400, "invalid_request_error", "This PaymentIntent has no successful charge to refund."
            )
        charge = self.charges[intent["latest_charge"]]
        committed = sum(
            r["amount"]
            for r in self.refunds.values()
            if r["charge"] == charge["id"] and r["status"] in ("pending", "succeeded")
        )
        left = charge["amount"] - committed
        if left <= 0:
            raise StripeError(
                400,
                "invalid_request_error",
                f"Charge {charge['id']} has already been refunded.",
                "charge_already_refunded",
            )
        amount = int(p.get("amount", left))
        if amount < 1 or amount > left:
            raise StripeError(
                400,
                "invalid_request_error",
                f"Refund amount ({amount}) is greater than unrefunded amount on charge ({left})",
                "amount_too_large",
            )
        refund = {
            "id": _id("re"),
            "object": "refund",
            "amount": amount,
            "currency": charge["currency"],
            "charge": charge["id"],
            "payment_intent": intent["id"],
            "status": "pending",
            "reason": p.get("reason"),
            "metadata": self._metadata(p),
            "created": int(time.time()),
            "failure_reason": None,
        }
        self.refunds[refund["id"]] = refund
        mode = self.switches.refund_mode
        if mode == "sync":
            self._settle_refund(refund, "succeeded")
        else:
            self.event("refund.created", refund)
            self._spawn(self._later(refund, "succeeded" if mode == "async" else "failed"))
        return dict(refund)

    async def _later(self, refund: dict[str, Any], outcome: str) -> None:
        await asyncio.sleep(0.2 * self.switches.retry_scale + 0.05)
        self._settle_refund(refund, outcome)

    def _settle_refund(self, refund: dict[str, Any], outcome: str) -> None:
        refund["status"] = outcome
        if outcome == "failed":
            refund["failure_reason"] = "lost_or_stolen_card"
            self.event("refund.failed", refund)
            return
        charge = self.charges[refund["charge"]]
        charge["amount_refunded"] += refund["amount"]
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        self.event("refund.updated" if self.switches.refund_mode != "sync" else "refund.created", refund)
        self.event("charge.refunded", charge)

    @staticmethod
    def _list(items: Any, p: dict[str, str], url: str) -> dict[str, Any]:
        chosen = list(items)
        if "payment_intent" in p:
            chosen = [i for i in chosen if i.get("payment_intent") == p["payment_intent"]]
        if "created[gte]" in p:
            chosen = [i for i in chosen if i["created"] >= int(p["created[gte]"])]
        if "created[lt]" in p:
            chosen = [i for i in chosen if i["created"] < int(p["created[lt]"])]
        chosen.sort(key=lambda i: i["created"], reverse=True)
        limit = int(p.get("limit", 10))
        return {"object": "list", "url": url, "has_more": len(chosen) > limit, "data": chosen[:limit]}

    # -- webhooks ------------------------------------------------------------------------------

    def signature_header(self, payload: bytes, timestamp: int | None = None) -> str:
        t = int(time.time()) if timestamp is None else timestamp
        mac = hmac.new(self.webhook_secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
        return f"t={t},v1={mac}"

    def event(self, kind: str, obj: dict[str, Any]) -> None:
        if not self.webhook_url or not ({"*", kind} & self.enabled_events):
            return
        payload = json.dumps(
            {
                "id": _id("evt"),
                "object": "event",
                "api_version": "2025-01-27.acacia",
                "created": int(time.time()),
                "type": kind,
                "livemode": False,
                "pending_webhooks": 1,
                "data": {"object": dict(obj)},
                "request": {"id": None, "idempotency_key": None},
            }
        ).encode()
        if self.switches.hold_webhooks:
            self.held.append(payload)
            return
        self._spawn(self._deliver(payload))
        if self.switches.duplicate_webhook:
            self._spawn(self._deliver(payload))

    def flush(self) -> int:
        held, self.held = self.held, []
        for payload in reversed(held):
            self._spawn(self._deliver(payload))
        return len(held)

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, payload: bytes) -> None:
        if self._client is None or self._client.closed:
            self._client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        for attempt, delay in enumerate(RETRY_SCHEDULE):
            await asyncio.sleep(delay * self.switches.retry_scale)
            headers = {
                "content-type": "application/json; charset=utf-8",
                "Stripe-Signature": self.signature_header(payload),
            }
            record: dict[str, Any] = {"payload": payload.decode(), "attempt": attempt}
            try:
                async with self._client.post(self.webhook_url, data=payload, headers=headers) as response:
                    record |= {"status": response.status, "body": await response.text()}
            except (aiohttp.ClientError, TimeoutError) as exc:
                record |= {"status": 0, "body": str(exc)}
            self.deliveries.append(record)
            if 200 <= record["status"] < 300:
                return

    # -- the buyer -----------------------------------------------------------------------------

    async def card_page(self, request: web.Request) -> web.Response:
        intent = self.intents.get(request.match_info["id"])
        if intent is None or request.query.get("client_secret") != intent["client_secret"]:
            return web.Response(status=404, text="unknown payment")
        amount = f"{intent['amount'] / 100:.2f} {intent['currency'].upper()}"
        cards = "".join(
            f'<label><input type="radio" name="payment_method" value="{pm}"'
            f"{' checked' if i == 0 else ''}> {label}</label><br>"
            for i, (pm, label) in enumerate(
                [
                    ("pm_card_visa", "Visa 4242 4242 4242 4242"),
                    ("pm_card_unionpay", "银联 UnionPay 6200 0000 0000 0005"),
                    ("pm_card_threeDSecure2Required", "3-D Secure 4000 0000 0000 3220"),
                    ("pm_card_chargeDeclined", "被拒 Declined 4000 0000 0000 0002"),
                ]
            )
        )
        page = (
            '<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>银行卡支付 Card payment</title>'
            '<body style="font-family:sans-serif;max-width:28em;margin:2em auto">'
            "<h1>银行卡支付 Card payment</h1>"
            "<p>模拟器：不会发生真实扣款。 Emulator: no real money moves.</p>"
            f"<p>{html.escape(str(intent.get('description') or ''))}</p><p id=amount>{amount}</p>"
            f'<form method="post">{cards}<input type="hidden" name="return_url" '
            f'value="{html.escape(request.query.get("return_url", ""))}">'
            "<p><button id=pay>支付 Pay</button></p></form></body></html>"
        )
        return web.Response(text=page, content_type="text/html")

    async def card_submit(self, request: web.Request) -> web.Response:
        intent = self.intents.get(request.match_info["id"])
        if intent is None or request.query.get("client_secret") != intent["client_secret"]:
            return web.Response(status=404, text="unknown payment")
        form = await request.post()
        return_url = str(form.get("return_url") or f"{self.base_url}/done")
        try:
            self._confirm(intent, str(form.get("payment_method", "")), return_url)
        except StripeError as exc:
            return web.Response(status=exc.status, text=f"付款失败 payment failed: {exc}")
        if intent["status"] == "requires_action":
            raise web.HTTPFound(intent["next_action"]["redirect_to_url"]["url"])
        return web.Response(text="支付成功 paid")

    async def challenge(self, request: web.Request) -> web.Response:
        intent = self.intents.get(request.match_info["id"])
        if intent is None or request.query.get("token") != intent.get("_3ds"):
            return web.Response(status=404, text="unknown challenge")
        if request.method == "GET":
            return web.Response(
                content_type="text/html",
                text=(
                    '<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>3-D Secure</title>'
                    "<h1>发卡行验证 Card issuer check (3-D Secure)</h1>"
                    '<form method="post">'
                    '<button name="action" value="complete" id=complete>通过 Complete</button> '
                    '<button name="action" value="fail" id=fail>失败 Fail</button></form></html>'
                ),
            )
        if intent["status"] != "requires_action":
            return web.Response(status=409, text="already decided")
        action = (await request.post()).get("action")
        back = intent["next_action"]["redirect_to_url"]["return_url"]
        if action == "complete":
            self._succeed(intent)
        else:
            intent |= {
                "status": "requires_payment_method",
                "next_action": None,
                "last_payment_error": {
                    "type": "card_error",
                    "code": "payment_intent_authentication_failure",
                    "message": "The provided PaymentMethod has failed authentication.",
                },
            }
            self.event("payment_intent.payment_failed", self.public(intent))
        separator = "&" if "?" in back else "?"
        query = urllib.parse.urlencode(
            {"payment_intent": intent["id"], "payment_intent_client_secret": intent["client_secret"]}
        )
        raise web.HTTPFound(back + separator + query)

    # -- control -------------------------------------------------------------------------------

    async def control(self, request: web.Request) -> web.Response:
        what = request.match_info["what"]
        if what == "deliveries":
            return web.json_response(self.deliveries)
        if what == "switches" and request.method == "POST":
            for key, value in (await request.json()).items():
                if not hasattr(self.switches, key):
                    return web.json_response({"error": f"no switch {key}"}, status=400)
                setattr(self.switches, key, type(getattr(self.switches, key))(value))
            return web.json_response(vars(self.switches))
        if what == "flush" and request.method == "POST":
            return web.json_response({"delivered": self.flush()})
        if what == "webhook" and request.method == "POST":
            body = await request.json()
            self.webhook_url = body["url"]
            self.enabled_events = set(body.get("enabled_events", ["*"]))
            return web.json_response({"url": self.webhook_url})
        return web.json_response({"error": "unknown control"}, status=404)

    def app(self) -> web.Application:
        application = web.Application()
        application.router.add_route("*", "/v1/{path:.+}", self.api)
        application.router.add_get("/pay/{id}", self.card_page)
        application.router.add_post("/pay/{id}", self.card_submit)
        application.router.add_route("*", "/3ds/{id}", self.challenge)
        application.router.add_route("*", "/_emulator/{what}", self.control)
        application.on_cleanup.append(self._close_client)
        return application

    async def _close_client(self, _: web.Application) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._client is not None:
            await self._client.close()
