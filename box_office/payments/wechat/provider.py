"""WeChat Pay API v3 as a :class:`~box_office.payments.provider.PaymentProvider`, through ``wechatpayv3``.

The SDK signs every request (``Authorization: WECHATPAY2-SHA256-RSA2048 …``) and verifies every
2xx answer with the WeChat Pay public key (``PUB_KEY_ID_…``). What the SDK does *not* do, this
module does before trusting a notification: it refuses signature probes
(``WECHATPAY/SIGNTEST/…``), timestamps more than five minutes off, and a serial other than the
configured public key id (the SDK would otherwise go and download platform certificates for
an unknown serial), then checks that the decrypted ``resource`` names our ``mchid`` and
``appid``. Amount and currency are checked against our payment by the settle step.

Gateway: ``wechatpayv3.core.Core`` hard-codes ``self._gate_way = 'https://api.mch.weixin.qq.com'``
in its constructor and offers no parameter; every request is built as ``_gate_way + path`` (and
``download_bill`` strips that prefix from bill URLs). So after building the SDK client we set
``client._core._gate_way`` to ``BOX_OFFICE_WECHAT_GATEWAY`` (the emulator on loopback in tests
and the demo; the real gateway by default). That attribute is the SDK's single place for it.

Logging: every call logs its path, status and WeChat's ``Request-ID`` (the id WeChat support
asks for), never a key, signature or body. The SDK's own debug logger would print request
headers, bodies and decrypted notifications, so we hand it :class:`_RequestIdTap`, which keeps
only the ``Request-ID`` of the last answer (per thread) and drops everything else.
"""

from __future__ import annotations

import csv
import datetime
import gzip
import hashlib
import io
import json
import logging
import re
import secrets
import threading
import time
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import requests
from wechatpayv3 import SignType, WeChatPay, WeChatPayType

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
from box_office.payments.wechat.settings import WeChatSettings

log = logging.getLogger(__name__)
MAX_SKEW = 300
PROBE_PREFIX = "WECHATPAY/SIGNTEST/"
TRADE_STATES = {
    "SUCCESS": "paid",
    "REFUND": "paid",  # paid, then (partly) refunded: the payment itself happened
    "NOTPAY": "created",
    "USERPAYING": "created",
    "CLOSED": "closed",
    "REVOKED": "closed",
    "PAYERROR": "closed",
}
REFUND_STATES = {"SUCCESS": "succeeded", "PROCESSING": "pending", "ABNORMAL": "failed", "CLOSED": "closed"}
_REQUEST_ID = re.compile(r"'request-id': '([^']*)'", re.IGNORECASE)


class _RequestIdTap:
    """A stand-in for the SDK's logger: remembers the last answer's Request-ID, logs nothing."""

    def __init__(self) -> None:
        self.local = threading.local()

    def debug(self, message: str, *args: object) -> None:
        if message.startswith("Response headers:"):
            found = _REQUEST_ID.search(message)
            self.local.request_id = found.group(1) if found else ""

    def take(self) -> str:
        value: str = getattr(self.local, "request_id", "")
        self.local.request_id = ""
        return value


def _yuan(text: str) -> int:
    """A bill amount (``"`12.34"``) in fen."""
    return int(Decimal(text.strip().lstrip("`") or "0") * 100)


class WeChatPayProvider:
    """WeChat Pay for one merchant (``mchid``) and app (``appid``)."""

    name = "wechat"

    def __init__(self, settings: WeChatSettings, refund_notify_url: str = "") -> None:
        self.settings = settings
        self.channels = settings.channels
        self.refund_notify_url = refund_notify_url
        self._tap = _RequestIdTap()
        self._client = WeChatPay(
            wechatpay_type=WeChatPayType.NATIVE,
            mchid=settings.mchid,
            private_key=settings.private_key_pem,
            cert_serial_no=settings.cert_serial_no,
            appid=settings.appid,
            apiv3_key=settings.apiv3_key,
            logger=self._tap,
            timeout=(min(3.0, settings.timeout), settings.timeout),
            public_key=settings.public_key_pem,
            public_key_id=settings.public_key_id,
        )
        self._client._core._gate_way = settings.gateway  # see the module docstring

    # -- calls -------------------------------------------------------------------------------

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> tuple[int, Any]:
        """One SDK call: logged with WeChat's request id; unreachable, 5xx or unsigned → PaymentError."""
        started = time.perf_counter()
        try:
            code, body = fn(*args, **kwargs)
        except requests.RequestException as exc:
            log.warning("wechat %s: unreachable (%s)", what, type(exc).__name__)
            raise PaymentError(f"WeChat Pay unreachable ({type(exc).__name__})") from None
        except Exception as exc:  # the SDK raises bare Exception for an answer it cannot verify
            log.warning("wechat %s: refused answer (%s) request_id=%s", what, exc, self._tap.take())
            raise PaymentError(f"WeChat Pay answer not trusted: {exc}") from None
        request_id = self._tap.take()
        log.info(
            "wechat %s: %s request_id=%s in %.0f ms",
            what,
            code,
            request_id,
            (time.perf_counter() - started) * 1e3,
        )
        if code >= 500:
            raise PaymentError(f"WeChat Pay is unavailable ({code}, request {request_id})")
        return code, body

    def _json(self, what: str, code: int, body: Any, ok: tuple[int, ...] = (200,)) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if isinstance(body, str | bytes) and body:
            try:
                data = json.loads(body)
            except ValueError:
                data = {}
        if code not in ok:
            raise PaymentError(
                f"WeChat Pay refused {what} ({code} {data.get('code', '')}: {data.get('message', '')})"
            )
        return data

    # -- payments ----------------------------------------------------------------------------

    def start(self, request: PayRequest) -> CreatedPayment:
        channel = "native" if request.channel == "default" else request.channel
        if channel not in self.channels:
            raise PaymentError(f"WeChat Pay channel {channel} is not enabled here")
        kwargs: dict[str, Any] = {
            "description": request.description[:127] or "Encore",
            "out_trade_no": request.merchant_order,
            "amount": {"total": request.amount_cents, "currency": request.currency},
            "notify_url": request.notify_url,
        }
        if channel == "h5":
            kwargs["pay_type"] = WeChatPayType.H5
            kwargs["scene_info"] = {
                "payer_client_ip": request.client_ip or "127.0.0.1",
                "h5_info": {"type": "Wap"},
            }
        elif channel == "jsapi":
            if not request.payer_openid:
                raise PaymentError("WeChat JSAPI payment needs the payer's openid")
            kwargs["pay_type"] = WeChatPayType.JSAPI
            kwargs["payer"] = {"openid": request.payer_openid}
        else:
            kwargs["pay_type"] = WeChatPayType.NATIVE
        code, body = self._call(f"pay {channel} {request.merchant_order}", self._client.pay, **kwargs)
        data = self._json("the payment", code, body)
        ref = request.merchant_order
        if channel == "native":
            return CreatedPayment(ref, data["code_url"], data["code_url"], channel)
        if channel == "h5":
            url = data["h5_url"]
            if request.return_url:
                url += ("&" if "?" in url else "?") + "redirect_url=" + quote(request.return_url, safe="")
            return CreatedPayment(ref, url, data["h5_url"], channel)
        return CreatedPayment(ref, "", "", channel, self.jsapi_params(data["prepay_id"]))

    def jsapi_params(self, prepay_id: str) -> dict[str, str]:
        """The parameters of ``WeixinJSBridge.invoke('getBrandWCPayRequest', …)``, ``paySign``
        signed with the merchant key over appId, timeStamp, nonceStr and package."""
        timestamp = str(int(time.time()))
        nonce = secrets.token_hex(16)
        package = f"prepay_id={prepay_id}"
        sign = self._client.sign([self.settings.appid, timestamp, nonce, package], SignType.RSA_SHA256)
        return {
            "appId": self.settings.appid,
            "timeStamp": timestamp,
            "nonceStr": nonce,
            "package": package,
            "signType": "RSA",
            "paySign": sign,
        }

    def create(
        self, merchant_order: str, amount_cents: int, currency: str, notify_url: str
    ) -> CreatedPayment:
        return self.start(PayRequest(merchant_order, amount_cents, currency, notify_url, "Encore tickets"))

    def query(self, ref: str) -> PaymentState:
        code, body = self._call(f"query {ref}", self._client.query, out_trade_no=ref)
        data = self._json("the query", code, body)
        amount = data.get("amount") or {}
        status = TRADE_STATES.get(str(data.get("trade_state")), "created")
        total = int(amount.get("total", 0))
        return PaymentState(ref, status, total, 0, str(amount.get("currency", "CNY")))

    def close(self, ref: str) -> PaymentState:
        code, body = self._call(f"close {ref}", self._client.close, out_trade_no=ref)
        self._json("the close", code, body, ok=(200, 204))
        return self.query(ref)

    # -- notifications -----------------------------------------------------------------------

    def _open(self, headers: dict[str, str], body: bytes) -> dict[str, Any]:
        """Verify a notification's signature and decrypt its ``resource``; NotificationError if untrusted."""
        lowered = {k.lower(): v for k, v in headers.items()}
        signature = lowered.get("wechatpay-signature", "")
        if not signature or signature.startswith(PROBE_PREFIX):
            raise NotificationError("signature probe or missing signature: refused")
        stamp = lowered.get("wechatpay-timestamp", "")
        if not stamp.isdigit() or abs(time.time() - int(stamp)) > MAX_SKEW:
            raise NotificationError("timestamp missing or more than 5 minutes off")
        if lowered.get("wechatpay-serial", "") != self.settings.public_key_id:
            raise NotificationError("signed with an unknown key (Wechatpay-Serial)")
        if (
            lowered.get("wechatpay-signature-type", "WECHATPAY2-SHA256-RSA2048")
            != "WECHATPAY2-SHA256-RSA2048"
        ):
            raise NotificationError("unsupported signature type")
        lowered["wechatpay-signature-type"] = "WECHATPAY2-SHA256-RSA2048"
        try:
            result = self._client.callback(lowered, body)
        except Exception as exc:  # the SDK raises bare Exception on an unsupported algorithm
            raise NotificationError(f"cannot read notification: {exc}") from None
        if not result or not isinstance(result.get("resource"), dict):
            raise NotificationError("bad signature or resource that does not decrypt with the APIv3 key")
        resource: dict[str, Any] = result["resource"]
        if str(resource.get("mchid", "")) != self.settings.mchid:
            raise NotificationError("notification for another merchant (mchid)")
        opened: dict[str, Any] = result
        return opened

    def verify_notification(self, headers: dict[str, str], body: bytes) -> Capture:
        note = self._open(headers, body)
        resource = note["resource"]
        if str(resource.get("appid", "")) != self.settings.appid:
            raise NotificationError("notification for another app (appid)")
        if not str(note.get("event_type", "")).startswith("TRANSACTION."):
            raise NotificationError("not a payment notification")
        try:
            amount = resource["amount"]
            return Capture(
                event_id=f"wechat:{note['id']}",
                ref=str(resource["out_trade_no"]),
                status=TRADE_STATES.get(str(resource["trade_state"]), "created"),
                amount_cents=int(amount["total"]),
                currency=str(amount.get("currency", "CNY")),
            )
        except (KeyError, TypeError, ValueError):
            raise NotificationError("malformed payment notification") from None

    def verify_refund_notification(self, headers: dict[str, str], body: bytes) -> RefundState:
        note = self._open(headers, body)
        resource = note["resource"]
        if not str(note.get("event_type", "")).startswith("REFUND."):
            raise NotificationError("not a refund notification")
        try:
            return RefundState(
                refund_no=str(resource["out_refund_no"]),
                ref=str(resource["out_trade_no"]),
                amount_cents=int(resource["amount"]["refund"]),
                status=REFUND_STATES.get(str(resource["refund_status"]), "pending"),
                provider_refund_id=str(resource.get("refund_id", "")),
            )
        except (KeyError, TypeError, ValueError):
            raise NotificationError("malformed refund notification") from None

    def notify_ack(self, ok: bool) -> tuple[int, bytes, str]:
        """WeChat wants 200/204 for "received"; anything else (with code FAIL) is retried."""
        if ok:
            return 200, b"", "application/json"
        return 400, json.dumps({"code": "FAIL", "message": "失败"}).encode(), "application/json"

    # -- refunds -----------------------------------------------------------------------------

    def _refund_state(self, ref: str, refund_no: str, data: dict[str, Any]) -> RefundState:
        return RefundState(
            refund_no=refund_no,
            ref=ref,
            amount_cents=int((data.get("amount") or {}).get("refund", 0)),
            status=REFUND_STATES.get(str(data.get("status")), "pending"),
            provider_refund_id=str(data.get("refund_id", "")),
        )

    def start_refund(
        self, ref: str, refund_no: str, amount_cents: int, total_cents: int, reason: str
    ) -> RefundState:
        code, body = self._call(
            f"refund {ref} {refund_no}",
            self._client.refund,
            out_refund_no=refund_no,
            amount={"refund": amount_cents, "total": total_cents, "currency": "CNY"},
            out_trade_no=ref,
            reason=reason[:80] or None,
            notify_url=self.refund_notify_url or None,
        )
        return self._refund_state(ref, refund_no, self._json("the refund", code, body))

    def refund_query(self, ref: str, refund_no: str) -> RefundState:
        code, body = self._call(
            f"refund query {refund_no}", self._client.query_refund, out_refund_no=refund_no
        )
        return self._refund_state(ref, refund_no, self._json("the refund query", code, body))

    def refund(self, ref: str, amount_cents: int) -> PaymentState:
        """The sandbox-style call: one full refund with a refund number derived from the payment."""
        state = self.query(ref)
        self.start_refund(ref, f"{ref}R00", amount_cents, state.amount_cents, "refund")
        return self.query(ref)

    def refund_status(self, ref: str) -> PaymentState:
        return self.query(ref)

    # -- bills -------------------------------------------------------------------------------

    def bill(self, day: datetime.date) -> list[BillLine]:
        """The day's trade bill (``/v3/bill/tradebill``), downloaded, hash-checked and parsed."""
        code, body = self._call(f"tradebill {day}", self._client.trade_bill, bill_date=day.isoformat())
        data = self._json("the bill", code, body)
        code, raw = self._call("bill download", self._client.download_bill, data["download_url"])
        if code != 200 or not isinstance(raw, bytes):
            raise PaymentError(f"WeChat Pay bill download failed ({code})")
        if str(data.get("hash_type", "SHA1")).upper() == "SHA1" and hashlib.sha1(raw).hexdigest() != data.get(
            "hash_value"
        ):
            raise PaymentError("WeChat Pay bill does not match its hash")
        text = (gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw).decode("utf-8-sig")
        return parse_trade_bill(text)


def parse_trade_bill(text: str) -> list[BillLine]:
    """The lines of a WeChat trade bill (CSV, every value prefixed by a backquote; a summary after)."""
    lines: list[BillLine] = []
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return lines
    header = [h.strip() for h in rows[0]]
    index = {name: header.index(name) for name in header}
    for row in rows[1:]:
        if not row or not row[0].startswith("`"):
            break  # the summary ("总交易单数,…") starts here
        value = {name: row[i].strip().lstrip("`") for name, i in index.items() if i < len(row)}
        if value.get("交易状态") == "REFUND":
            lines.append(
                BillLine(
                    ref=value["商户订单号"],
                    provider_txn=value.get("微信退款单号", ""),
                    kind="refund",
                    amount_cents=_yuan(value.get("退款金额", "0")),
                    currency=value.get("货币种类", "CNY"),
                    status=value.get("退款状态", ""),
                )
            )
        else:
            lines.append(
                BillLine(
                    ref=value["商户订单号"],
                    provider_txn=value.get("微信订单号", ""),
                    kind="payment",
                    amount_cents=_yuan(value.get("订单金额", value.get("应结订单金额", "0"))),
                    currency=value.get("货币种类", "CNY"),
                    status=value.get("交易状态", ""),
                )
            )
    return lines
