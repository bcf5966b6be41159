"""The WeChat Pay API v3 emulator: an aiohttp app that plays WeChat Pay for one merchant.

What it does like WeChat Pay (documented behaviour, not the SDK's):
- verifies each merchant request's ``Authorization: WECHATPAY2-SHA256-RSA2048 mchid=…,nonce_str=…,
  signature=…,timestamp=…,serial_no=…`` over ``METHOD\\nPATH?QUERY\\nTIMESTAMP\\nNONCE\\nBODY\\n``
  with the merchant's public key (timestamp within 5 minutes, known mchid and serial);
- signs every answer (``Wechatpay-Signature/-Timestamp/-Nonce/-Serial``, serial = its public key
  id ``PUB_KEY_ID_…``) over ``TIMESTAMP\\nNONCE\\nBODY\\n``; error answers carry ``code``/``message``;
- Native (``code_url``), H5 (``h5_url``) and JSAPI (``prepay_id``; the buyer's WeChat checks
  ``paySign``) payments; query, close; the buyer page pays, fails or abandons;
- notifications: AEAD_AES_256_GCM encrypted ``resource`` (APIv3 key, associated data = the
  resource's type), signed, retried on WeChat's schedule (15s, 15s, 30s, 3m, 10m, 20m, 30m, 30m,
  30m, 60m, 3h, 3h, 3h, 6h, 6h) until answered 2xx — or 409, which the box office answers for a
  notification it already applied (real WeChat would keep retrying; harmless);
- refunds asynchronously: PROCESSING, then SUCCESS, ABNORMAL or CLOSED with a refund notification;
  ``out_refund_no`` is idempotent; refunds never exceed the payment; at most 50 per payment,
  at least one minute apart (``FREQUENCY_LIMITED``);
- daily trade bills (``/v3/bill/tradebill`` then a download URL; gzip CSV with backquoted values).

Deliberate differences: ``code_url`` and ``h5_url`` are http pages of this emulator (there is no
WeChat app to scan ``weixin://`` with), and ``time_scale`` shrinks every delay for tests.

Misbehaviour switches (:class:`Switches`, also ``POST /_emulator/switches``): slow answers, 5xx,
timeouts, duplicate and out-of-order notifications, a notification sent before the creation
answer, the refund outcome.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import gzip
import hashlib
import html
import json
import logging
import re
import secrets
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from payment_emulators.wechat.keys import Merchant, Platform, new_merchant, new_platform, rsa_sign, rsa_verify

log = logging.getLogger(__name__)
RETRY_SCHEDULE = (0, 15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600)
MAX_SKEW = 300
CHINA = datetime.timezone(datetime.timedelta(hours=8))
_OUT_NO = re.compile(r"^[A-Za-z0-9_\-|*]{6,32}$")
_FIELD = re.compile(r'(\w+)="([^"]*)"')


@dataclass
class Switches:
    slow: float = 0.0  # seconds added to every API answer
    fail_5xx: int = 0  # the next N API calls answer 500 SYSTEM_ERROR
    timeout: float = 0.0  # API calls hang this long (longer than the client's timeout)
    duplicate: bool = False  # every notification is delivered twice (same id)
    out_of_order: bool = False  # after a refund notification, an old payment notification follows (new id)
    notify_before_answer: bool = False  # the buyer "pays at once": notification before the create answer
    refund_outcome: str = "SUCCESS"  # SUCCESS | ABNORMAL | CLOSED
    refund_delay: float = 2.0  # seconds (scaled) before a refund completes
    refund_spacing: float = 60.0  # seconds (scaled) between two refunds of a payment


@dataclass
class Trade:
    appid: str
    mchid: str
    out_trade_no: str
    trade_type: str
    description: str
    total: int
    currency: str
    notify_url: str
    token: str
    prepay_id: str
    created: float
    openid: str = ""
    state: str = "NOTPAY"
    transaction_id: str = ""
    success_time: float | None = None


@dataclass
class Refund:
    out_refund_no: str
    refund_id: str
    out_trade_no: str
    refund: int
    total: int
    notify_url: str
    created: float
    status: str = "PROCESSING"
    success_time: float | None = None


@dataclass
class Delivery:
    notification_id: str
    event_type: str
    url: str
    status: int  # 0: unreachable


def _iso(ts: float) -> str:
    return datetime.datetime.fromtimestamp(ts, CHINA).isoformat(timespec="seconds")


class WeChatEmulator:
    """The emulator's state and its aiohttp app (:meth:`app`)."""

    def __init__(self, base_url: str = "", time_scale: float = 1.0) -> None:
        self.platform: Platform = new_platform()
        self.merchant: Merchant = new_merchant()
        self.base_url = base_url.rstrip("/")
        self.time_scale = time_scale
        self.switches = Switches()
        self.trades: dict[str, Trade] = {}
        self.by_token: dict[str, str] = {}
        self.refunds: dict[str, Refund] = {}
        self.deliveries: list[Delivery] = []
        self.sent_refs: dict[str, str] = {}  # notification id -> out_trade_no (for tests and the log)
        self.bill_extra: list[list[str]] = []  # rows planted into bills (reconciliation tests)
        self.bill_drop: set[str] = set()  # out_trade_no left out of bills
        self.bill_amounts: dict[str, int] = {}  # out_trade_no -> amount shown in bills
        self.bill_currency: dict[str, str] = {}  # out_trade_no -> currency shown in bills
        self.bill_drop_refunds: set[str] = set()  # out_trade_no whose refunds are left out of bills
        self.bills: dict[str, bytes] = {}
        self.requests_seen = 0
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # -- signing ----------------------------------------------------------------------------

    def _answer(self, status: int, payload: dict[str, Any] | None = None) -> web.Response:
        body = b"" if payload is None else json.dumps(payload).encode()
        stamp, nonce = str(int(time.time())), secrets.token_hex(16)
        headers = {
            "Wechatpay-Timestamp": stamp,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Serial": self.platform.public_key_id,
            "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
            "Wechatpay-Signature": rsa_sign(self.platform.key, f"{stamp}\n{nonce}\n{body.decode()}\n"),
            "Request-ID": uuid.uuid4().hex,
        }
        return web.Response(
            status=status, body=body, headers=headers, content_type="application/json", charset="utf-8"
        )

    def _error(self, status: int, code: str, message: str) -> web.Response:
        return self._answer(status, {"code": code, "message": message})

    def _auth_error(self, request: web.Request, body: bytes) -> str | None:
        """Why the merchant's signature is not good (None when it is)."""
        scheme, _, params = request.headers.get("Authorization", "").partition(" ")
        if scheme != "WECHATPAY2-SHA256-RSA2048":
            return "Authorization scheme is not WECHATPAY2-SHA256-RSA2048"
        fields = dict(_FIELD.findall(params))
        if fields.get("mchid") != self.merchant.mchid:
            return "unknown mchid"
        if fields.get("serial_no", "").upper() != self.merchant.serial_no:
            return "unknown merchant certificate serial_no"
        stamp = fields.get("timestamp", "")
        if not stamp.isdigit() or abs(time.time() - int(stamp)) > MAX_SKEW:
            return "timestamp more than 5 minutes off"
        message = (
            f"{request.method}\n{request.raw_path}\n{stamp}\n{fields.get('nonce_str', '')}\n{body.decode()}\n"
        )
        if not rsa_verify(self.merchant.key.public_key(), message, fields.get("signature", "")):
            return "signature does not verify with the merchant's key"
        return None

    # -- notifications ----------------------------------------------------------------------

    def notification(
        self, event_type: str, summary: str, original_type: str, resource: dict[str, Any]
    ) -> bytes:
        note_id = str(uuid.uuid4())
        self.sent_refs[note_id] = str(resource.get("out_trade_no", ""))
        nonce = secrets.token_hex(6)
        ciphertext = AESGCM(self.merchant.apiv3_key.encode()).encrypt(
            nonce.encode(), json.dumps(resource, ensure_ascii=False).encode(), original_type.encode()
        )
        return json.dumps(
            {
                "id": note_id,
                "create_time": _iso(time.time()),
                "resource_type": "encrypt-resource",
                "event_type": event_type,
                "summary": summary,
                "resource": {
                    "original_type": original_type,
                    "algorithm": "AEAD_AES_256_GCM",
                    "ciphertext": base64.b64encode(ciphertext).decode(),
                    "associated_data": original_type,
                    "nonce": nonce,
                },
            },
            ensure_ascii=False,
        ).encode()

    def signed_headers(self, body: bytes, stamp: int | None = None) -> dict[str, str]:
        ts, nonce = str(int(time.time()) if stamp is None else stamp), secrets.token_hex(16)
        return {
            "Content-Type": "application/json",
            "Wechatpay-Timestamp": ts,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Serial": self.platform.public_key_id,
            "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
            "Wechatpay-Signature": rsa_sign(self.platform.key, f"{ts}\n{nonce}\n{body.decode()}\n"),
        }

    def transaction_resource(self, trade: Trade) -> dict[str, Any]:
        resource: dict[str, Any] = {
            "appid": trade.appid,
            "mchid": trade.mchid,
            "out_trade_no": trade.out_trade_no,
            "transaction_id": trade.transaction_id,
            "trade_type": trade.trade_type,
            "trade_state": trade.state,
            "trade_state_desc": {"SUCCESS": "支付成功", "NOTPAY": "未支付", "CLOSED": "已关闭"}.get(
                trade.state, ""
            ),
            "bank_type": "OTHERS",
            "attach": "",
            "payer": {"openid": trade.openid or "o_emulated_payer"},
            "amount": {
                "total": trade.total,
                "payer_total": trade.total,
                "currency": trade.currency,
                "payer_currency": trade.currency,
            },
        }
        if trade.success_time is not None:
            resource["success_time"] = _iso(trade.success_time)
        return resource

    def refund_resource(self, refund: Refund) -> dict[str, Any]:
        trade = self.trades[refund.out_trade_no]
        resource: dict[str, Any] = {
            "mchid": trade.mchid,
            "out_trade_no": trade.out_trade_no,
            "transaction_id": trade.transaction_id,
            "out_refund_no": refund.out_refund_no,
            "refund_id": refund.refund_id,
            "refund_status": refund.status,
            "user_received_account": "支付用户零钱",
            "amount": {
                "total": refund.total,
                "refund": refund.refund,
                "payer_total": refund.total,
                "payer_refund": refund.refund,
            },
        }
        if refund.success_time is not None:
            resource["success_time"] = _iso(refund.success_time)
        return resource

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _post(self, url: str, body: bytes, event_type: str) -> int:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        note_id = json.loads(body)["id"]
        try:
            async with self._session.post(url, data=body, headers=self.signed_headers(body)) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError):
            status = 0
        self.deliveries.append(Delivery(note_id, event_type, url, status))
        return status

    async def deliver(self, url: str, body: bytes, event_type: str, first_done: bool = False) -> None:
        """Deliver on WeChat's retry schedule until 2xx (or 409: already applied)."""
        for number, delay in enumerate(RETRY_SCHEDULE):
            if number == 0 and first_done:
                continue
            await asyncio.sleep(delay * self.time_scale)
            status = await self._post(url, body, event_type)
            if 200 <= status < 300 or status == 409:
                return

    def _send(self, url: str, body: bytes, event_type: str) -> None:
        self._spawn(self.deliver(url, body, event_type))
        if self.switches.duplicate:
            self._spawn(self.deliver(url, body, event_type))

    def mark_paid(self, trade: Trade) -> bytes:
        trade.state = "SUCCESS"
        trade.transaction_id = "42000" + secrets.token_hex(12)
        trade.success_time = time.time()
        return self.notification(
            "TRANSACTION.SUCCESS", "支付成功", "transaction", self.transaction_resource(trade)
        )

    # -- merchant API -----------------------------------------------------------------------

    @web.middleware
    async def misbehave(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path.startswith("/v3/"):
            self.requests_seen += 1
            if self.switches.timeout:
                await asyncio.sleep(self.switches.timeout)
            if self.switches.slow:
                await asyncio.sleep(self.switches.slow)
            if self.switches.fail_5xx > 0:
                self.switches.fail_5xx -= 1
                return self._error(500, "SYSTEM_ERROR", "系统错误")
            body = await request.read()
            problem = self._auth_error(request, body)
            if problem is not None:
                return self._error(401, "SIGN_ERROR", problem)
        response: web.StreamResponse = await handler(request)
        return response

    async def create(self, request: web.Request) -> web.Response:
        trade_type = request.match_info["kind"].upper()
        try:
            data = json.loads(await request.read())
            amount = data["amount"]
            total, currency = int(amount["total"]), str(amount.get("currency", "CNY"))
            out_no, description, notify_url = (
                str(data["out_trade_no"]),
                str(data["description"]),
                str(data["notify_url"]),
            )
        except (ValueError, KeyError, TypeError):
            return self._error(400, "PARAM_ERROR", "参数错误")
        if data.get("mchid") != self.merchant.mchid or data.get("appid") != self.merchant.appid:
            return self._error(400, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
        if not _OUT_NO.match(out_no) or not 1 <= len(description) <= 127 or total < 1 or currency != "CNY":
            return self._error(400, "PARAM_ERROR", "参数错误")
        openid = ""
        if trade_type == "JSAPI":
            openid = str((data.get("payer") or {}).get("openid", ""))
            if not openid:
                return self._error(400, "PARAM_ERROR", "JSAPI支付必须传openid")
        if trade_type == "H5" and not (data.get("scene_info") or {}).get("payer_client_ip"):
            return self._error(400, "PARAM_ERROR", "H5支付必须传场景信息")
        trade = self.trades.get(out_no)
        if trade is not None:
            if trade.state == "SUCCESS":
                return self._error(400, "ORDERPAID", "该订单已支付")
            if (trade.total, trade.trade_type) != (total, trade_type):
                return self._error(400, "INVALID_REQUEST", "201 商户订单号重复")
        else:
            token = secrets.token_urlsafe(18)
            trade = Trade(
                appid=self.merchant.appid,
                mchid=self.merchant.mchid,
                out_trade_no=out_no,
                trade_type=trade_type,
                description=description,
                total=total,
                currency=currency,
                notify_url=notify_url,
                token=token,
                prepay_id="wx" + secrets.token_hex(14),
                created=time.time(),
                openid=openid,
            )
            self.trades[out_no] = trade
            self.by_token[token] = out_no
        if self.switches.notify_before_answer and trade.state == "NOTPAY":
            body = self.mark_paid(trade)
            await self._post(trade.notify_url, body, "TRANSACTION.SUCCESS")
            self._spawn(self.deliver(trade.notify_url, body, "TRANSACTION.SUCCESS", first_done=True))
        if trade_type == "NATIVE":
            return self._answer(200, {"code_url": f"{self.base_url}/pay/{trade.token}"})
        if trade_type == "H5":
            return self._answer(
                200, {"h5_url": f"{self.base_url}/pay/{trade.token}?prepay_id={trade.prepay_id}"}
            )
        return self._answer(200, {"prepay_id": trade.prepay_id})

    def _trade_json(self, trade: Trade) -> dict[str, Any]:
        found = self.transaction_resource(trade)
        if trade.state == "NOTPAY":
            found.pop("transaction_id")
            found.pop("payer")
        return found

    async def query(self, request: web.Request) -> web.Response:
        trade = self.trades.get(request.match_info["no"])
        if trade is None or request.query.get("mchid") != self.merchant.mchid:
            return self._error(404, "ORDER_NOT_EXIST", "订单不存在")
        return self._answer(200, self._trade_json(trade))

    async def close(self, request: web.Request) -> web.Response:
        trade = self.trades.get(request.match_info["no"])
        if trade is None:
            return self._error(404, "ORDER_NOT_EXIST", "订单不存在")
        if trade.state in ("SUCCESS", "REFUND"):
            return self._error(400, "ORDERPAID", "订单已支付")
        trade.state = "CLOSED"
        return self._answer(204)

    async def refund(self, request: web.Request) -> web.Response:
        try:
            data = json.loads(await request.read())
            out_no, refund_no = str(data["out_trade_no"]), str(data["out_refund_no"])
            amount, total = int(data["amount"]["refund"]), int(data["amount"]["total"])
        except (ValueError, KeyError, TypeError):
            return self._error(400, "PARAM_ERROR", "参数错误")
        trade = self.trades.get(out_no)
        if trade is None:
            return self._error(404, "RESOURCE_NOT_EXISTS", "订单不存在")
        existing = self.refunds.get(refund_no)
        if existing is not None:  # a retry of the same refund: the same refund
            if (existing.out_trade_no, existing.refund) != (out_no, amount):
                return self._error(400, "INVALID_REQUEST", "退款单号重复")
            return self._answer(200, self._refund_json(existing))
        if trade.state not in ("SUCCESS", "REFUND"):
            return self._error(400, "INVALID_REQUEST", "订单未支付")
        if total != trade.total or amount < 1:
            return self._error(400, "INVALID_REQUEST", "订单金额或退款金额与之前请求不一致")
        mine = [r for r in self.refunds.values() if r.out_trade_no == out_no]
        if len(mine) >= 50:
            return self._error(403, "INVALID_REQUEST", "退款次数超过50次")
        if sum(r.refund for r in mine if r.status in ("PROCESSING", "SUCCESS")) + amount > trade.total:
            return self._error(400, "INVALID_REQUEST", "申请退款金额超过订单可退金额")
        last = max((r.created for r in mine), default=0.0)
        if time.time() - last < self.switches.refund_spacing * self.time_scale:
            return self._error(429, "FREQUENCY_LIMITED", "部分退款需间隔1分钟")
        refund = Refund(
            refund_no,
            "50" + secrets.token_hex(14),
            out_no,
            amount,
            total,
            str(data.get("notify_url", "")),
            time.time(),
        )
        self.refunds[refund_no] = refund
        if self.switches.notify_before_answer:  # done, and notified, before the merchant hears back
            answer = self._refund_json(refund)
            await self._finish_refund(refund, self.switches.refund_outcome, delay=False, wait=True)
            return self._answer(200, answer)
        self._spawn(self._finish_refund(refund, self.switches.refund_outcome))
        return self._answer(200, self._refund_json(refund))

    async def _finish_refund(
        self, refund: Refund, outcome: str, delay: bool = True, wait: bool = False
    ) -> None:
        if delay:
            await asyncio.sleep(self.switches.refund_delay * self.time_scale)
        refund.status = outcome
        trade = self.trades[refund.out_trade_no]
        if outcome == "SUCCESS":
            refund.success_time = time.time()
            trade.state = "REFUND"
        if refund.notify_url:
            body = self.notification(f"REFUND.{outcome}", "退款结果", "refund", self.refund_resource(refund))
            if wait:  # the first delivery answered before anything else happens
                await self._post(refund.notify_url, body, f"REFUND.{outcome}")
                self._spawn(self.deliver(refund.notify_url, body, f"REFUND.{outcome}", first_done=True))
            else:
                self._send(refund.notify_url, body, f"REFUND.{outcome}")
            if self.switches.out_of_order:  # an old fact after a newer one
                old = self.notification(
                    "TRANSACTION.SUCCESS",
                    "支付成功",
                    "transaction",
                    self.transaction_resource(trade) | {"trade_state": "SUCCESS"},
                )
                self._spawn(self.deliver(trade.notify_url, old, "TRANSACTION.SUCCESS"))

    def _refund_json(self, refund: Refund) -> dict[str, Any]:
        trade = self.trades[refund.out_trade_no]
        found: dict[str, Any] = {
            "refund_id": refund.refund_id,
            "out_refund_no": refund.out_refund_no,
            "transaction_id": trade.transaction_id,
            "out_trade_no": trade.out_trade_no,
            "channel": "ORIGINAL",
            "user_received_account": "支付用户零钱",
            "create_time": _iso(refund.created),
            "status": refund.status,
            "amount": {
                "total": refund.total,
                "refund": refund.refund,
                "payer_total": refund.total,
                "payer_refund": refund.refund,
                "currency": trade.currency,
            },
        }
        if refund.success_time is not None:
            found["success_time"] = _iso(refund.success_time)
        return found

    async def refund_query(self, request: web.Request) -> web.Response:
        refund = self.refunds.get(request.match_info["no"])
        if refund is None:
            return self._error(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
        return self._answer(200, self._refund_json(refund))

    # -- bills ------------------------------------------------------------------------------

    def bill_csv(self, day: str) -> str:
        header = (
            "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,"
            "货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,"
            "商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
        )
        rows: list[list[str]] = []

        def on_day(ts: float | None) -> bool:
            return ts is not None and datetime.datetime.fromtimestamp(ts, CHINA).date().isoformat() == day

        for trade in self.trades.values():
            if trade.out_trade_no in self.bill_drop or not on_day(trade.success_time):
                continue
            yuan = f"{self.bill_amounts.get(trade.out_trade_no, trade.total) / 100:.2f}"
            rows.append(
                [
                    _iso(trade.success_time or 0),
                    trade.appid,
                    trade.mchid,
                    "0",
                    "",
                    trade.transaction_id,
                    trade.out_trade_no,
                    trade.openid or "o_emulated_payer",
                    trade.trade_type,
                    "SUCCESS",
                    "OTHERS",
                    self.bill_currency.get(trade.out_trade_no, trade.currency),
                    yuan,
                    "0.00",
                    "0",
                    "0",
                    "0.00",
                    "0.00",
                    "",
                    "",
                    trade.description,
                    "",
                    "0.00",
                    "0.60%",
                    yuan,
                    "0.00",
                    "",
                ]
            )
        for refund in self.refunds.values():
            if not on_day(refund.success_time) or refund.status != "SUCCESS":
                continue
            if refund.out_trade_no in self.bill_drop_refunds:
                continue
            trade = self.trades[refund.out_trade_no]
            rows.append(
                [
                    _iso(refund.success_time or 0),
                    trade.appid,
                    trade.mchid,
                    "0",
                    "",
                    trade.transaction_id,
                    trade.out_trade_no,
                    trade.openid or "o_emulated_payer",
                    trade.trade_type,
                    "REFUND",
                    "OTHERS",
                    trade.currency,
                    "0.00",
                    "0.00",
                    refund.refund_id,
                    refund.out_refund_no,
                    f"{refund.refund / 100:.2f}",
                    "0.00",
                    "ORIGINAL",
                    "SUCCESS",
                    trade.description,
                    "",
                    "0.00",
                    "0.60%",
                    f"{trade.total / 100:.2f}",
                    f"{refund.refund / 100:.2f}",
                    "",
                ]
            )
        rows += self.bill_extra
        lines = [header] + [",".join("`" + value for value in row) for row in rows]
        lines.append(
            "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
        )
        lines.append(f"`{len(rows)},`0.00,`0.00,`0.00,`0.00,`0.00,`0.00")
        return "\n".join(lines) + "\n"

    async def tradebill(self, request: web.Request) -> web.Response:
        day = request.query.get("bill_date", "")
        try:
            datetime.date.fromisoformat(day)
        except ValueError:
            return self._error(400, "PARAM_ERROR", "bill_date 格式错误")
        raw = self.bill_csv(day).encode("utf-8")
        if request.query.get("tar_type", "") == "GZIP":
            raw = gzip.compress(raw)
        token = secrets.token_urlsafe(12)
        self.bills[token] = raw
        return self._answer(
            200,
            {
                "hash_type": "SHA1",
                "hash_value": hashlib.sha1(raw).hexdigest(),
                "download_url": f"{self.base_url}/v3/billdownload/file?token={token}",
            },
        )

    async def bill_download(self, request: web.Request) -> web.Response:
        raw = self.bills.get(request.query.get("token", ""))
        if raw is None:
            return self._error(404, "NO_STATEMENT_EXIST", "账单不存在")
        return web.Response(body=raw, content_type="application/octet-stream")

    # -- the buyer --------------------------------------------------------------------------

    async def page(self, request: web.Request) -> web.Response:
        trade = self.trades.get(self.by_token.get(request.match_info["token"], ""))
        if trade is None:
            raise web.HTTPNotFound(text="no such payment / 没有这笔支付")
        back = request.query.get("redirect_url", "")
        amount = f"¥{trade.total / 100:.2f}"
        state = {
            "NOTPAY": "待支付 waiting",
            "SUCCESS": "支付成功 paid",
            "CLOSED": "已关闭 closed",
            "PAYERROR": "支付失败 failed",
            "REFUND": "已退款 refunded",
        }.get(trade.state, trade.state)
        action = f"/pay/{trade.token}/do" + (f"?redirect_url={html.escape(back, quote=True)}" if back else "")
        buttons = (
            "".join(
                f'<button name="what" value="{v}" id="emu-{v}" type="submit">{label}</button> '
                for v, label in (
                    ("pay", "确认支付 Pay"),
                    ("fail", "支付失败 Fail"),
                    ("abandon", "放弃 Abandon"),
                )
            )
            if trade.state == "NOTPAY"
            else ""
        )
        page = f"""<!doctype html><html lang="zh-CN"><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>微信支付 WeChat Pay (emulator)</title>
<style>body{{font-family:sans-serif;max-width:26rem;margin:2rem auto;text-align:center}}
.brand{{color:#fff;background:#07c160;padding:.6rem;border-radius:.4rem}}.amt{{font-size:2rem}}
button{{font-size:1.1rem;margin:.3rem;padding:.5rem 1rem}}</style>
<h1 class="brand">微信支付 WeChat Pay</h1>
<p><small>模拟器：不会发生真实扣款。 Emulator: no real money moves.</small></p>
<p>{html.escape(trade.description)}</p><p class="amt" id="emu-amount">{amount}</p>
<p id="emu-state">{state}</p>
<form method="post" action="{action}">{buttons}</form></html>"""
        return web.Response(text=page, content_type="text/html")

    async def act(self, request: web.Request) -> web.StreamResponse:
        trade = self.trades.get(self.by_token.get(request.match_info["token"], ""))
        if trade is None:
            raise web.HTTPNotFound(text="no such payment / 没有这笔支付")
        what = (await request.post()).get("what", "")
        if trade.state == "NOTPAY":
            if what == "pay":
                self._send(trade.notify_url, self.mark_paid(trade), "TRANSACTION.SUCCESS")
            elif what == "fail":
                trade.state = "PAYERROR"
        back = request.query.get("redirect_url", "")
        if back and what == "pay":
            raise web.HTTPFound(back)
        raise web.HTTPFound(f"/pay/{trade.token}")

    async def jsapi_pay(self, request: web.Request) -> web.Response:
        """What the WeChat client does on ``getBrandWCPayRequest``: check ``paySign``, then pay."""
        params = await request.json()
        fields = ("appId", "timeStamp", "nonceStr", "package")
        message = "".join(f"{params.get(name)}\n" for name in fields)
        if params.get("appId") != self.merchant.appid or not rsa_verify(
            self.merchant.key.public_key(), message, str(params.get("paySign", ""))
        ):
            return web.json_response({"err_msg": "get_brand_wcpay_request:fail 签名错误"}, status=400)
        prepay = str(params.get("package", "")).removeprefix("prepay_id=")
        trade = next((t for t in self.trades.values() if t.prepay_id == prepay), None)
        if trade is None or trade.state != "NOTPAY":
            return web.json_response({"err_msg": "get_brand_wcpay_request:fail"}, status=400)
        self._send(trade.notify_url, self.mark_paid(trade), "TRANSACTION.SUCCESS")
        return web.json_response({"err_msg": "get_brand_wcpay_request:ok"})

    async def set_switches(self, request: web.Request) -> web.Response:
        data = await request.json()
        for key, value in data.items():
            if hasattr(self.switches, key):
                setattr(self.switches, key, type(getattr(self.switches, key))(value))
        return web.json_response(asdict(self.switches))

    async def on_cleanup(self, app: web.Application) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._session is not None:
            await self._session.close()

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self.misbehave])
        app.router.add_post(r"/v3/pay/transactions/{kind:native|h5|jsapi}", self.create)
        app.router.add_get("/v3/pay/transactions/out-trade-no/{no}", self.query)
        app.router.add_post("/v3/pay/transactions/out-trade-no/{no}/close", self.close)
        app.router.add_post("/v3/refund/domestic/refunds", self.refund)
        app.router.add_get("/v3/refund/domestic/refunds/{no}", self.refund_query)
        app.router.add_get("/v3/bill/tradebill", self.tradebill)
        app.router.add_get("/v3/billdownload/file", self.bill_download)
        app.router.add_get("/pay/{token}", self.page)
        app.router.add_post("/pay/{token}/do", self.act)
        app.router.add_post("/jsapi/pay", self.jsapi_pay)
        app.router.add_post("/_emulator/switches", self.set_switches)
        app.on_cleanup.append(self.on_cleanup)
        return app


@dataclass
class RunningEmulator:
    """An emulator served on loopback from a thread of its own (tests, ``encore demo``)."""

    emulator: WeChatEmulator
    url: str
    loop: asyncio.AbstractEventLoop = field(repr=False)
    thread: threading.Thread = field(repr=False)
    runner: web.AppRunner = field(repr=False)

    def call(self, fn: Any, *args: Any) -> Any:
        """Run ``fn(*args)`` in the emulator's loop (its state is the loop's)."""

        async def run() -> Any:
            return fn(*args)

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(10)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def serve_in_thread(host: str = "127.0.0.1", port: int = 0, time_scale: float = 1.0) -> RunningEmulator:
    emulator = WeChatEmulator(time_scale=time_scale)
    loop = asyncio.new_event_loop()
    ready: dict[str, Any] = {}
    started = threading.Event()

    def main() -> None:
        asyncio.set_event_loop(loop)

        async def boot() -> None:
            runner = web.AppRunner(emulator.app(), access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, host, port)
            await site.start()
            bound = runner.addresses[0][1]
            emulator.base_url = f"http://{host}:{bound}"
            ready["runner"] = runner
            started.set()

        loop.run_until_complete(boot())
        loop.run_forever()

    thread = threading.Thread(target=main, name="wechat-emulator", daemon=True)
    thread.start()
    if not started.wait(30):
        raise RuntimeError("the WeChat Pay emulator did not start")
    return RunningEmulator(emulator, emulator.base_url, loop, thread, ready["runner"])
