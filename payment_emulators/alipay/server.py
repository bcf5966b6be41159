"""An Alipay open-platform gateway emulator (a development and test tool; never mounted in production).

It plays Alipay's side with its own RSA key pair, generated at start:

* ``GET|POST /gateway.do``: verifies the merchant's RSA2 request signature exactly as Alipay
  documents it (every parameter but ``sign``, sorted by name, ``k=v`` joined with ``&``,
  SHA256withRSA with the app's public key), checks ``app_id``, ``sign_type`` and the timestamp,
  and answers ``{"<method>_response": {...}, "sign": "..."}`` signed over the exact JSON text of
  the response object (what python-alipay-sdk verifies). Methods: ``alipay.trade.page.pay`` and
  ``alipay.trade.wap.pay`` (a browser is sent to the cashier), ``alipay.trade.precreate`` (a QR
  whose trade exists only once scanned), ``alipay.trade.query``, ``alipay.trade.close``,
  ``alipay.trade.refund`` (``out_request_no``; ``fund_change``; ACQ errors),
  ``alipay.trade.fastpay.refund.query`` and ``alipay.data.dataservice.bill.downloadurl.query``
  (a zip of GBK CSVs at a URL valid 30 seconds).
* ``/cashier/{token}``: the buyer's page (Chinese and English): pay, fail or abandon, and choose a
  Huabei period count when the merchant did not fix one.
* Asynchronous notifications: form-encoded POSTs signed with the emulator's key (``sign`` and
  ``sign_type`` excluded from the signed text), retried on Alipay's documented schedule (4 m,
  10 m, 10 m, 1 h, 2 h, 6 h, 15 h — scaled by ``retry_scale``) until the answer is exactly
  ``success``.
* ``/_emulator/*``: its public key, the delivered notifications, and misbehaviour switches
  (slow, 5xx, timeout, duplicate and out-of-order notifications, asynchronous or failing refunds).
"""

from __future__ import annotations

import asyncio
import base64
import csv
import datetime
import html
import io
import json
import logging
import re
import secrets
import time
import urllib.parse
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

log = logging.getLogger(__name__)

RETRY_SCHEDULE = (0.0, 240.0, 600.0, 600.0, 3600.0, 7200.0, 21600.0, 54000.0)
BILL_URL_LIFE = 30.0
TIMESTAMP_WINDOW = 600.0  # requests more than 10 minutes off are refused
_YUAN = re.compile(r"^(0|[1-9]\d{0,8})(\.\d{1,2})?$")
_OUT_NO = re.compile(r"^[0-9A-Za-z_]{1,64}$")
PRODUCT_CODES = {
    "alipay.trade.page.pay": {"FAST_INSTANT_TRADE_PAY"},
    # documented QUICK_WAP_WAY; python-alipay-sdk's default QUICK_WAP_PAY accepted but logged
    "alipay.trade.wap.pay": {"QUICK_WAP_WAY", "QUICK_WAP_PAY"},
}


def to_fen(text: str) -> int:
    if not _YUAN.match(text):
        raise ValueError(text)
    whole, _, decimals = text.partition(".")
    return int(whole) * 100 + int(decimals.ljust(2, "0"))


def to_yuan(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def signing_text(params: dict[str, str], exclude: tuple[str, ...]) -> str:
    return "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k not in exclude and v != "")


def now_text() -> str:
    return datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class Refund:
    out_request_no: str
    amount: int
    status: str  # PROCESSING | REFUND_SUCCESS
    at: datetime.datetime


@dataclass
class Trade:
    app_id: str
    out_trade_no: str
    subject: str
    total: int
    notify_url: str
    return_url: str
    method: str
    product_code: str
    hb_fq_num: str = ""
    hb_fq_seller_percent: str = ""
    trade_no: str = field(
        default_factory=lambda: time.strftime("%Y%m%d") + "2200" + secrets.token_hex(7)[:14]
    )
    status: str = "PENDING"  # PENDING (not yet at Alipay) | WAIT_BUYER_PAY | TRADE_SUCCESS | TRADE_CLOSED
    created: datetime.datetime = field(default_factory=datetime.datetime.now)
    paid_at: datetime.datetime | None = None
    refunds: dict[str, Refund] = field(default_factory=dict)
    fund_channel: str = ""

    @property
    def refunded(self) -> int:
        return sum(r.amount for r in self.refunds.values() if r.status == "REFUND_SUCCESS")


@dataclass
class Switches:
    slow_ms: int = 0
    fail_5xx: int = 0  # the next N gateway requests answer 502
    timeout_s: float = 0.0  # gateway requests hang this long
    duplicate_notify: bool = False
    hold_notifications: bool = False  # queue them; /_emulator/flush delivers newest first
    refund_mode: str = "sync"  # sync | async | fail
    retry_scale: float = 1.0
    # precreate: the buyer "pays" at once and the notification is sent before the creation
    # answer (which waits notify_first_ms): the merchant hears of a payment it has not recorded yet
    notify_before_answer: bool = False
    notify_first_ms: int = 300


class AlipayEmulator:
    def __init__(self, base_url: str = "", key_bits: int = 2048) -> None:
        self.base_url = base_url.rstrip("/")
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=key_bits)
        self.apps: dict[str, tuple[rsa.RSAPublicKey, str]] = {}
        self.trades: dict[str, Trade] = {}
        self.cashiers: dict[str, str] = {}  # token → out_trade_no
        self.bills: dict[str, tuple[bytes, float]] = {}
        self.switches = Switches()
        self.deliveries: list[dict[str, Any]] = []
        self.held: list[tuple[str, dict[str, str]]] = []
        self.pending_refunds: list[tuple[Trade, Refund]] = []
        self.bill_extra: list[list[str]] = []
        self._client: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # -- keys ----------------------------------------------------------------------------------

    @property
    def public_key_pem(self) -> str:
        return (
            self._key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )

    def register_app(self, app_id: str, app_public_key_pem: str, seller_id: str) -> None:
        key = serialization.load_pem_public_key(app_public_key_pem.encode())
        assert isinstance(key, rsa.RSAPublicKey)
        self.apps[app_id] = (key, seller_id)

    def sign(self, text: str) -> str:
        return base64.b64encode(self._key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()

    # -- the gateway ---------------------------------------------------------------------------

    def _answer(self, method: str, body: dict[str, Any]) -> web.Response:
        inner = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        key = method.replace(".", "_") + "_response"
        raw = f'{{"{key}":{inner},"sign":"{self.sign(inner)}"}}'
        return web.Response(text=raw, content_type="application/json", charset="utf-8")

    @staticmethod
    def _fail(sub_code: str, sub_msg: str, code: str = "40004") -> dict[str, Any]:
        msg = {
            "40004": "Business Failed",
            "40002": "Invalid Arguments",
            "20000": "Service Currently Unavailable",
        }
        return {"code": code, "msg": msg.get(code, "Failed"), "sub_code": sub_code, "sub_msg": sub_msg}

    def _check_request(self, params: dict[str, str]) -> dict[str, Any] | None:
        """None when the merchant's request is well signed and fresh, else the error body."""
        app = self.apps.get(params.get("app_id", ""))
        if app is None:
            return self._fail("isv.invalid-app-id", "无效的AppID参数", "40002")
        if params.get("sign_type") != "RSA2":
            return self._fail("isv.invalid-signature-type", "无效的签名类型", "40002")
        try:
            signature = base64.b64decode(params.get("sign", ""), validate=True)
            app[0].verify(
                signature, signing_text(params, ("sign",)).encode(), padding.PKCS1v15(), hashes.SHA256()
            )
        except (InvalidSignature, ValueError):
            return self._fail("isv.invalid-signature", "验签出错", "40002")
        try:
            sent = datetime.datetime.strptime(params.get("timestamp", ""), "%Y-%m-%d %H:%M:%S")
        except ValueError:
            return self._fail("isv.invalid-timestamp", "非法的时间戳参数", "40002")
        if abs((datetime.datetime.now() - sent).total_seconds()) > TIMESTAMP_WINDOW:
            return self._fail("isv.invalid-timestamp", "时间戳超出允许范围", "40002")
        return None

    async def gateway(self, request: web.Request) -> web.StreamResponse:
        sw = self.switches
        if sw.timeout_s:
            await asyncio.sleep(sw.timeout_s)
        if sw.slow_ms:
            await asyncio.sleep(sw.slow_ms / 1000)
        if sw.fail_5xx > 0:
            sw.fail_5xx -= 1
            return web.Response(status=502, text="Bad Gateway")
        params = dict(request.query)
        if request.method == "POST":
            params.update({k: str(v) for k, v in (await request.post()).items()})
        method = params.get("method", "")
        error = self._check_request(params)
        client_side = method in PRODUCT_CODES
        if error is not None:
            log.warning("alipay emulator: %s refused: %s", method, error["sub_code"])
            if client_side:
                return web.Response(status=400, text=f"支付宝 错误 Alipay error: {error['sub_code']}")
            return self._answer(method or "error", error)
        try:
            biz = json.loads(params.get("biz_content") or "{}")
        except ValueError:
            biz = None
        if not isinstance(biz, dict):
            return self._answer(
                method, self._fail("isv.invalid-biz-content", "biz_content 不是 JSON", "40002")
            )
        handlers: dict[
            str, Callable[[dict[str, str], dict[str, Any]], web.StreamResponse | dict[str, Any]]
        ] = {
            "alipay.trade.page.pay": self._cashier_start,
            "alipay.trade.wap.pay": self._cashier_start,
            "alipay.trade.precreate": self._precreate,
            "alipay.trade.query": self._query,
            "alipay.trade.close": self._close,
            "alipay.trade.refund": self._refund,
            "alipay.trade.fastpay.refund.query": self._refund_query,
            "alipay.data.dataservice.bill.downloadurl.query": self._bill_url,
        }
        handler = handlers.get(method)
        if handler is None:
            return self._answer(
                method or "error", self._fail("isv.invalid-method", "不存在的方法名", "40002")
            )
        result = handler(params, biz)
        if isinstance(result, web.StreamResponse):
            return result
        if method == "alipay.trade.precreate" and sw.notify_before_answer and result.get("code") == "10000":
            trade = self.trades[result["out_trade_no"]]
            trade.status = "WAIT_BUYER_PAY"
            self.pay(trade)
            await asyncio.sleep(sw.notify_first_ms / 1000)
        return self._answer(method, result)

    def _new_trade(self, params: dict[str, str], biz: dict[str, Any]) -> Trade | dict[str, Any]:
        method = params["method"]
        out_no = str(biz.get("out_trade_no", ""))
        if not _OUT_NO.match(out_no):
            return self._fail("ACQ.INVALID_PARAMETER", "out_trade_no 无效")
        try:
            total = to_fen(str(biz.get("total_amount", "")))
        except ValueError:
            return self._fail("ACQ.INVALID_PARAMETER", "total_amount 无效")
        if not 1 <= total <= 100_000_000_00:
            return self._fail("ACQ.TOTAL_FEE_EXCEED", "订单金额超过限额")
        product = str(biz.get("product_code", ""))
        if method in PRODUCT_CODES and product not in PRODUCT_CODES[method]:
            return self._fail("ACQ.INVALID_PARAMETER", f"product_code {product} 无效")
        if product == "QUICK_WAP_PAY":
            log.warning("alipay emulator: wap pay with undocumented product_code QUICK_WAP_PAY")
        extend = biz.get("extend_params") or {}
        num, percent = str(extend.get("hb_fq_num", "")), str(extend.get("hb_fq_seller_percent", ""))
        if (num or percent) and (num not in {"3", "6", "12"} or percent not in {"0", "100"}):
            return self._fail(
                "ACQ.INVALID_PARAMETER", "花呗分期参数无效 (hb_fq_num 3/6/12, hb_fq_seller_percent 0/100)"
            )
        trade = Trade(
            app_id=params["app_id"],
            out_trade_no=out_no,
            subject=str(biz.get("subject", "")),
            total=total,
            notify_url=params.get("notify_url", ""),
            return_url=params.get("return_url", ""),
            method=method,
            product_code=product,
            hb_fq_num=num,
            hb_fq_seller_percent=percent,
        )
        known = self.trades.get(out_no)
        if known is not None:
            same = (known.total, known.hb_fq_num, known.app_id) == (
                trade.total,
                trade.hb_fq_num,
                trade.app_id,
            )
            if not same or known.status not in ("PENDING", "WAIT_BUYER_PAY"):
                return self._fail("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改")
            return known
        self.trades[out_no] = trade
        return trade

    def _cashier_start(self, params: dict[str, str], biz: dict[str, Any]) -> web.StreamResponse:
        trade = self._new_trade(params, biz)
        if not isinstance(trade, Trade):
            return web.Response(status=400, text=f"支付宝 错误 Alipay error: {trade['sub_code']}")
        token = self._cashier_token(trade)
        raise web.HTTPFound(f"{self.base_url}/cashier/{token}")

    def _cashier_token(self, trade: Trade) -> str:
        for token, out_no in self.cashiers.items():
            if out_no == trade.out_trade_no:
                return token
        token = secrets.token_urlsafe(16)
        self.cashiers[token] = trade.out_trade_no
        return token

    def _precreate(self, params: dict[str, str], biz: dict[str, Any]) -> dict[str, Any]:
        trade = self._new_trade(params, biz)
        if not isinstance(trade, Trade):
            return trade
        token = self._cashier_token(trade)
        return {
            "code": "10000",
            "msg": "Success",
            "out_trade_no": trade.out_trade_no,
            "qr_code": f"{self.base_url}/qr/{token}",
        }

    def _find(self, params: dict[str, str], biz: dict[str, Any]) -> Trade | None:
        trade = self.trades.get(str(biz.get("out_trade_no", "")))
        if trade is None and biz.get("trade_no"):
            trade = next((t for t in self.trades.values() if t.trade_no == biz["trade_no"]), None)
        if trade is None or trade.status == "PENDING" or trade.app_id != params["app_id"]:
            return None
        return trade

    def _query(self, params: dict[str, str], biz: dict[str, Any]) -> dict[str, Any]:
        trade = self._find(params, biz)
        if trade is None:
            return self._fail("ACQ.TRADE_NOT_EXIST", "交易不存在")
        body = {
            "code": "10000",
            "msg": "Success",
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "trade_status": trade.status,
            "total_amount": to_yuan(trade.total),
            "buyer_logon_id": "buy***@example.com",
        }
        if trade.paid_at:
            body["send_pay_date"] = trade.paid_at.strftime("%Y-%m-%d %H:%M:%S")
            body["receipt_amount"] = to_yuan(trade.total)
        return body

    def _close(self, params: dict[str, str], biz: dict[str, Any]) -> dict[str, Any]:
        trade = self._find(params, biz)
        if trade is None:
            return self._fail("ACQ.TRADE_NOT_EXIST", "交易不存在")
        if trade.status != "WAIT_BUYER_PAY":
            return self._fail("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
        trade.status = "TRADE_CLOSED"
        return {
            "code": "10000",
            "msg": "Success",
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
        }

    def _refund(self, params: dict[str, str], biz: dict[str, Any]) -> dict[str, Any]:
        trade = self._find(params, biz)
        if trade is None:
            return self._fail("ACQ.TRADE_NOT_EXIST", "交易不存在")
        try:
            amount = to_fen(str(biz.get("refund_amount", "")))
        except ValueError:
            return self._fail("ACQ.INVALID_PARAMETER", "refund_amount 无效")
        request_no = str(biz.get("out_request_no") or trade.out_trade_no)
        if not biz.get("out_request_no") and amount != trade.total:
            return self._fail("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "部分退款需要 out_request_no")
        base = {
            "code": "10000",
            "msg": "Success",
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "buyer_logon_id": "buy***@example.com",
        }
        known = trade.refunds.get(request_no)
        if known is not None:
            if known.amount != amount:
                return self._fail("ACQ.CONTEXT_INCONSISTENT", "同一退款请求号金额不一致")
            return base | {"fund_change": "N", "refund_fee": to_yuan(trade.refunded)}
        if trade.status != "TRADE_SUCCESS":
            return self._fail("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
        committed = sum(r.amount for r in trade.refunds.values())
        if amount < 1 or committed + amount > trade.total:
            return self._fail("ACQ.REASON_TRADE_REFUND_FEE_ERR", "退款金额超限")
        if self.switches.refund_mode == "fail":
            return self._fail("ACQ.SELLER_BALANCE_NOT_ENOUGH", "卖家余额不足")
        refund = Refund(request_no, amount, "PROCESSING", datetime.datetime.now())
        trade.refunds[request_no] = refund
        if self.switches.refund_mode == "async":
            self.pending_refunds.append((trade, refund))
            self._spawn(self._finish_refund_later(trade, refund))
            return base | {"fund_change": "N", "refund_fee": to_yuan(trade.refunded)}
        self._complete_refund(trade, refund)
        return base | {
            "fund_change": "Y",
            "refund_fee": to_yuan(trade.refunded),
            "gmt_refund_pay": refund.at.strftime("%Y-%m-%d %H:%M:%S"),
        }

    async def _finish_refund_later(self, trade: Trade, refund: Refund) -> None:
        await asyncio.sleep(0.2 * self.switches.retry_scale + 0.05)
        self._complete_refund(trade, refund)

    def _complete_refund(self, trade: Trade, refund: Refund) -> None:
        refund.status = "REFUND_SUCCESS"
        refund.at = datetime.datetime.now()
        if trade.refunded == trade.total:
            trade.status = "TRADE_CLOSED"
        self.notify(trade, refund)

    def _refund_query(self, params: dict[str, str], biz: dict[str, Any]) -> dict[str, Any]:
        trade = self._find(params, biz)
        if trade is None:
            return self._fail("ACQ.TRADE_NOT_EXIST", "交易不存在")
        refund = trade.refunds.get(str(biz.get("out_request_no", "")))
        body: dict[str, Any] = {"code": "10000", "msg": "Success"}
        if refund is not None and refund.status == "REFUND_SUCCESS":
            body |= {
                "trade_no": trade.trade_no,
                "out_trade_no": trade.out_trade_no,
                "out_request_no": refund.out_request_no,
                "total_amount": to_yuan(trade.total),
                "refund_amount": to_yuan(refund.amount),
                "refund_status": "REFUND_SUCCESS",
            }
        return body

    def _bill_url(self, params: dict[str, str], biz: dict[str, Any]) -> dict[str, Any]:
        if biz.get("bill_type") not in ("trade", "signcustomer"):
            return self._fail("isp.bill_type_invalid", "账单类型无效")
        try:
            day = datetime.date.fromisoformat(str(biz.get("bill_date", "")))
        except ValueError:
            return self._fail("isv.invalid-bill-date", "账单日期格式无效", "40002")
        if day > datetime.date.today():
            return self._fail("isp.bill_not_exist", "账单不存在")
        token = secrets.token_urlsafe(16)
        self.bills[token] = (self._bill_zip(params["app_id"], day), time.monotonic() + BILL_URL_LIFE)
        return {
            "code": "10000",
            "msg": "Success",
            "bill_download_url": f"{self.base_url}/bills/{token}.csv.zip",
        }

    def _bill_zip(self, app_id: str, day: datetime.date) -> bytes:
        seller = self.apps[app_id][1]
        header = [
            "支付宝交易号",
            "商户订单号",
            "业务类型",
            "商品名称",
            "创建时间",
            "完成时间",
            "门店编号",
            "门店名称",
            "操作员",
            "终端号",
            "对方账户",
            "订单金额（元）",
            "商家实收（元）",
            "支付宝红包（元）",
            "集分宝（元）",
            "支付宝优惠（元）",
            "商家优惠（元）",
            "券核销金额（元）",
            "券名称",
            "商家红包消费金额（元）",
            "卡消费金额（元）",
            "退款批次号/请求号",
            "服务费（元）",
            "分润（元）",
            "备注",
        ]
        rows: list[list[str]] = []
        for t in self.trades.values():
            if t.app_id != app_id:
                continue
            fmt = "%Y-%m-%d %H:%M:%S"
            if t.paid_at and t.paid_at.date() == day:
                rows.append(
                    [
                        t.trade_no,
                        t.out_trade_no,
                        "交易",
                        t.subject,
                        t.created.strftime(fmt),
                        t.paid_at.strftime(fmt),
                        "",
                        "",
                        "",
                        "",
                        "buy***@example.com",
                        to_yuan(t.total),
                        to_yuan(t.total),
                        "0.00",
                        "0.00",
                        "0.00",
                        "0.00",
                        "0.00",
                        "",
                        "0.00",
                        "0.00",
                        "",
                        "0.00",
                        "0.00",
                        "",
                    ]
                )
            for r in t.refunds.values():
                if r.status == "REFUND_SUCCESS" and r.at.date() == day:
                    rows.append(
                        [
                            t.trade_no,
                            t.out_trade_no,
                            "退款",
                            t.subject,
                            t.created.strftime(fmt),
                            r.at.strftime(fmt),
                            "",
                            "",
                            "",
                            "",
                            "buy***@example.com",
                            "-" + to_yuan(r.amount),
                            "-" + to_yuan(r.amount),
                            "0.00",
                            "0.00",
                            "0.00",
                            "0.00",
                            "0.00",
                            "",
                            "0.00",
                            "0.00",
                            r.out_request_no,
                            "0.00",
                            "0.00",
                            "",
                        ]
                    )
        rows.extend(self.bill_extra)
        out = io.StringIO()
        out.write(f"#支付宝业务明细查询\n#账号：[{seller}]\n#起始日期：[{day:%Y年%m月%d日} 00:00:00]\n")
        out.write(
            "#-----------------------------------------业务明细列表----------------------------------------\n"
        )
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
        out.write(
            "#-----------------------------------------业务明细列表结束------------------------------------\n"
        )
        stamp = day.strftime("%Y%m%d")
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as zipped:
            zipped.writestr(f"{seller}_{stamp}_业务明细.csv", out.getvalue().encode("gbk"))
            zipped.writestr(
                f"{seller}_{stamp}_业务明细(汇总).csv", f"#汇总\n交易笔数,{len(rows)}\n".encode("gbk")
            )
        return archive.getvalue()

    async def bill_file(self, request: web.Request) -> web.Response:
        found = self.bills.get(request.match_info["token"])
        if found is None or time.monotonic() > found[1]:
            return web.Response(status=404, text="账单链接已过期 bill URL expired")
        return web.Response(body=found[0], content_type="application/zip")

    # -- the buyer -----------------------------------------------------------------------------

    async def scan(self, request: web.Request) -> web.Response:
        """Scanning a precreate QR: the trade now exists at Alipay, waiting for the buyer."""
        out_no = self.cashiers.get(request.match_info["token"])
        if out_no is None:
            return web.Response(status=404, text="二维码无效 unknown QR code")
        trade = self.trades[out_no]
        if trade.status == "PENDING":
            trade.status = "WAIT_BUYER_PAY"
        raise web.HTTPFound(f"{self.base_url}/cashier/{request.match_info['token']}")

    async def cashier(self, request: web.Request) -> web.Response:
        out_no = self.cashiers.get(request.match_info["token"])
        if out_no is None:
            return web.Response(status=404, text="收银台会话无效 unknown cashier session")
        t = self.trades[out_no]
        if t.hb_fq_num:
            who = (
                "商家承担手续费 promoter pays the fee"
                if t.hb_fq_seller_percent == "100"
                else "买家承担手续费 buyer pays the fee"
            )
            huabei = f"<p>花呗分期 {t.hb_fq_num} 期（{who}） Huabei in {t.hb_fq_num} instalments</p>"
        else:
            options = "".join(f'<option value="{n}">{n} 期 instalments</option>' for n in ("3", "6", "12"))
            huabei = (
                '<label>花呗分期 Huabei <select name="hb_fq_num">'
                f'<option value="">不分期 pay at once</option>{options}</select></label>'
            )
        page = (
            '<!doctype html><html lang="zh-CN"><meta charset="utf-8">'
            "<title>支付宝 收银台 Alipay cashier</title>"
            '<body style="font-family:sans-serif;max-width:28em;margin:2em auto">'
            '<h1 style="color:#1677ff">支付宝 Alipay</h1>'
            "<p>模拟器：不会发生真实扣款。 Emulator: no real money moves.</p>"
            f"<p>{html.escape(t.subject)}</p><p id=amount>¥ {to_yuan(t.total)}</p>"
            f"<p>状态 status: <span id=status>{t.status}</span></p>"
            f'<form method="post">{huabei}<p>'
            '<button name="action" value="pay" id=pay>确认付款 Pay</button> '
            '<button name="action" value="fail" id=fail>付款失败 Fail</button> '
            '<button name="action" value="abandon" id=abandon>放弃 Abandon</button></p></form></body></html>'
        )
        return web.Response(text=page, content_type="text/html")

    async def cashier_action(self, request: web.Request) -> web.Response:
        out_no = self.cashiers.get(request.match_info["token"])
        if out_no is None:
            return web.Response(status=404, text="收银台会话无效 unknown cashier session")
        form = await request.post()
        trade = self.trades[out_no]
        action = str(form.get("action", ""))
        if action == "abandon":
            if trade.return_url:
                raise web.HTTPFound(trade.return_url)
            return web.Response(text="已放弃 abandoned", content_type="text/plain")
        if action == "fail":
            if trade.status == "PENDING":
                trade.status = "WAIT_BUYER_PAY"  # the buyer reached Alipay: the trade exists
            return web.Response(status=402, text="付款失败 payment failed (余额不足 insufficient balance)")
        if action != "pay":
            return web.Response(status=400, text="unknown action")
        chosen = str(form.get("hb_fq_num", ""))
        if chosen and not trade.hb_fq_num:
            if chosen not in ("3", "6", "12"):
                return web.Response(status=400, text="花呗分期期数无效 bad period count")
            trade.hb_fq_num, trade.hb_fq_seller_percent = chosen, "0"  # standard cashier: buyer pays
        if not self.pay(trade):
            return web.Response(status=409, text=f"交易状态 {trade.status}: 不能付款 cannot be paid")
        if trade.return_url:
            back = {
                "out_trade_no": trade.out_trade_no,
                "trade_no": trade.trade_no,
                "total_amount": to_yuan(trade.total),
                "seller_id": self.apps[trade.app_id][1],
                "app_id": trade.app_id,
                "method": trade.method + ".return",
                "timestamp": now_text(),
                "charset": "utf-8",
                "version": "1.0",
                "sign_type": "RSA2",
            }
            back["sign"] = self.sign(signing_text(back, ("sign", "sign_type")))
            separator = "&" if "?" in trade.return_url else "?"
            raise web.HTTPFound(trade.return_url + separator + urllib.parse.urlencode(back))
        return web.Response(text="支付成功 paid", content_type="text/plain")

    def pay(self, trade: Trade) -> bool:
        """The buyer pays (also what the cashier's "pay" button does)."""
        if trade.status not in ("PENDING", "WAIT_BUYER_PAY"):
            return False
        trade.status = "TRADE_SUCCESS"
        trade.paid_at = datetime.datetime.now()
        trade.fund_channel = "PCREDIT" if trade.hb_fq_num else "ALIPAYACCOUNT"
        self.notify(trade)
        return True

    # -- notifications -------------------------------------------------------------------------

    def notification(self, trade: Trade, refund: Refund | None = None) -> dict[str, str]:
        fmt = "%Y-%m-%d %H:%M:%S"
        fields = {
            "notify_time": now_text(),
            "notify_type": "trade_status_sync",
            "notify_id": "2026" + secrets.token_hex(16),
            "charset": "utf-8",
            "version": "1.0",
            "sign_type": "RSA2",
            "app_id": trade.app_id,
            "auth_app_id": trade.app_id,
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "buyer_id": "2088102177846880",
            "buyer_logon_id": "buy***@example.com",
            "seller_id": self.apps[trade.app_id][1],
            "trade_status": trade.status,
            "total_amount": to_yuan(trade.total),
            "receipt_amount": to_yuan(trade.total),
            "invoice_amount": to_yuan(trade.total),
            "buyer_pay_amount": to_yuan(trade.total),
            "point_amount": "0.00",
            "subject": trade.subject,
            "gmt_create": trade.created.strftime(fmt),
            "fund_bill_list": json.dumps(
                [{"amount": to_yuan(trade.total), "fundChannel": trade.fund_channel}]
            ),
        }
        if trade.paid_at:
            fields["gmt_payment"] = trade.paid_at.strftime(fmt)
        if trade.hb_fq_num:
            fields["hb_fq_num"] = trade.hb_fq_num
        if refund is not None:
            fields |= {
                "out_biz_no": refund.out_request_no,
                "refund_fee": to_yuan(trade.refunded),
                "gmt_refund": refund.at.strftime(fmt + ".000"),
            }
            if trade.status == "TRADE_CLOSED":
                fields["gmt_close"] = refund.at.strftime(fmt)
        fields["sign"] = self.sign(signing_text(fields, ("sign", "sign_type")))
        return fields

    def notify(self, trade: Trade, refund: Refund | None = None) -> None:
        if not trade.notify_url:
            return
        fields = self.notification(trade, refund)
        if self.switches.hold_notifications:
            self.held.append((trade.notify_url, fields))
            return
        self._spawn(self._deliver(trade.notify_url, fields))
        if self.switches.duplicate_notify:
            self._spawn(self._deliver(trade.notify_url, dict(fields)))

    def flush(self) -> int:
        """Deliver the held notifications, newest first (out of order)."""
        held, self.held = self.held, []
        for url, fields in reversed(held):
            self._spawn(self._deliver(url, fields))
        return len(held)

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, url: str, fields: dict[str, str]) -> None:
        if self._client is None or self._client.closed:
            self._client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        body = urllib.parse.urlencode(fields)
        for attempt, delay in enumerate(RETRY_SCHEDULE):
            await asyncio.sleep(delay * self.switches.retry_scale)
            record: dict[str, Any] = {"url": url, "fields": fields, "attempt": attempt}
            try:
                async with self._client.post(
                    url,
                    data=body,
                    headers={"content-type": "application/x-www-form-urlencoded; charset=utf-8"},
                ) as response:
                    record |= {"status": response.status, "body": await response.text()}
            except (aiohttp.ClientError, TimeoutError) as exc:
                record |= {"status": 0, "body": str(exc)}
            self.deliveries.append(record)
            if record["status"] == 200 and record["body"] == "success":
                return
        log.warning("alipay emulator: notification %s to %s never acknowledged", fields["notify_id"], url)

    # -- control -------------------------------------------------------------------------------

    async def control(self, request: web.Request) -> web.Response:
        what = request.match_info["what"]
        if what == "public_key" and request.method == "GET":
            return web.Response(text=self.public_key_pem, content_type="application/x-pem-file")
        if what == "deliveries" and request.method == "GET":
            return web.json_response(self.deliveries)
        if what == "switches" and request.method == "POST":
            changes = await request.json()
            for key, value in changes.items():
                if not hasattr(self.switches, key):
                    return web.json_response({"error": f"no switch {key}"}, status=400)
                setattr(self.switches, key, type(getattr(self.switches, key))(value))
            return web.json_response(vars(self.switches))
        if what == "flush" and request.method == "POST":
            return web.json_response({"delivered": self.flush()})
        if what == "bill_line" and request.method == "POST":
            # plant a line in every bill (a payment Alipay has and the merchant may not): for
            # reconciliation tests. Fields: trade_no, out_trade_no, kind (交易|退款), amount (yuan)
            line = await request.json()
            row = [""] * 25
            row[0], row[1], row[2], row[11] = (
                line["trade_no"],
                line["out_trade_no"],
                line["kind"],
                line["amount"],
            )
            row[21] = line.get("out_request_no", "")
            self.bill_extra.append(row)
            return web.json_response({"planted": len(self.bill_extra)})
        if what == "pay" and request.method == "POST":
            out_no = (await request.json()).get("out_trade_no", "")
            trade = self.trades.get(out_no)
            if trade is None or not self.pay(trade):
                return web.json_response({"error": "cannot pay"}, status=409)
            return web.json_response({"trade_no": trade.trade_no})
        return web.json_response({"error": "unknown control"}, status=404)

    def app(self) -> web.Application:
        application = web.Application()
        application.router.add_route("GET", "/gateway.do", self.gateway)
        application.router.add_route("POST", "/gateway.do", self.gateway)
        application.router.add_get("/qr/{token}", self.scan)
        application.router.add_get("/cashier/{token}", self.cashier)
        application.router.add_post("/cashier/{token}", self.cashier_action)
        application.router.add_get("/bills/{token}.csv.zip", self.bill_file)
        application.router.add_route("*", "/_emulator/{what}", self.control)
        application.on_cleanup.append(self._close_client)
        return application

    async def _close_client(self, _: web.Application) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._client is not None:
            await self._client.close()
