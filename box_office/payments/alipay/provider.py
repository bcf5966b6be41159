"""The Alipay provider: python-alipay-sdk pointed at a gateway (Alipay's, or the local emulator).

The SDK signs every request with the app's RSA2 key and verifies every synchronous answer with
Alipay's public key (an unsigned answer raises). We add what it leaves to the caller:

* asynchronous notifications: the signature (with ``sign_type`` checked by the SDK), then the
  ``app_id`` and ``seller_id`` are ours, the ``total_amount`` in yuan is an exact number of fen,
  and ``trade_status`` maps to our states (only TRADE_SUCCESS / TRADE_FINISHED mean paid);
* business answers: the SDK returns ``code != 10000`` answers as data; they become
  :class:`PaymentError` (or a failed refund) here;
* wap pay: the SDK sends ``product_code=QUICK_WAP_PAY``, Alipay documents ``QUICK_WAP_WAY``;
  we pass the documented code explicitly (the SDK lets keyword arguments override it);
* the gateway address: the SDK hard-codes it in ``_gateway``; this is the one private attribute
  we set (to the configured gateway).

Every call is logged with its method and our reference (the trade number Alipay answers), never a
key or a signature.
"""

from __future__ import annotations

import binascii
import csv
import datetime
import io
import logging
import re
import secrets
import socket
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable
from typing import Any

from alipay import AliPay
from alipay.exceptions import AliPayException, AliPayValidationError
from alipay.utils import AliPayConfig

from box_office.core import instalments
from box_office.payments.alipay.money import fen, yuan
from box_office.payments.alipay.settings import AlipaySettings
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

PAID_STATUSES = {"TRADE_SUCCESS", "TRADE_FINISHED"}
STATUS = {
    "WAIT_BUYER_PAY": "created",
    "TRADE_SUCCESS": "paid",
    "TRADE_FINISHED": "paid",
    "TRADE_CLOSED": "closed",
}
WAP_PRODUCT_CODE = "QUICK_WAP_WAY"  # documented; the SDK's default QUICK_WAP_PAY is not
#: Refund refusals that will not change on retry (anything else: try again with the same number).
FINAL_REFUND_ERRORS = {
    "ACQ.REASON_TRADE_REFUND_FEE_ERR",
    "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL",
    "ACQ.TRADE_NOT_ALLOW_REFUND",
    "ACQ.TRADE_NOT_EXIST",
    "ACQ.TRADE_HAS_CLOSE",
    "ACQ.SELLER_BALANCE_NOT_ENOUGH",
    "ACQ.REFUND_CHARGE_ERROR",
}
_OUT_TRADE_NO = re.compile(r"[^0-9A-Za-z_]")
TRANSPORT_ERRORS = (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError, OSError)


def out_trade_no(merchant_order: str) -> str:
    """A fresh trade number for one payment attempt: Alipay never accepts a trade number twice
    with other parameters (a changed Huabei plan needs a new one), so every attempt gets its own.
    Letters, digits and underscores, at most 64 characters."""
    return _OUT_TRADE_NO.sub("_", merchant_order)[:48] + "_" + secrets.token_hex(6)


class AlipayProvider:
    """:class:`~box_office.payments.provider.PaymentProvider` for Alipay (see the module doc)."""

    name = "alipay"
    channels: tuple[str, ...] = ("page", "wap", "precreate")

    def __init__(self, settings: AlipaySettings, default_channel: str = "page") -> None:
        self.settings = settings
        self.default_channel = default_channel
        self._sdk = AliPay(
            appid=settings.app_id,
            app_notify_url=None,
            app_private_key_string=settings.app_private_key_pem,
            alipay_public_key_string=settings.alipay_public_key_pem,
            sign_type="RSA2",
            config=AliPayConfig(timeout=settings.timeout),
        )
        self._sdk._gateway = settings.gateway  # the SDK's only way to change its gateway

    def huabei_offers(self, amount_cents: int) -> list[dict[str, int]]:
        """What the checkout shows for Huabei on an order of ``amount_cents``: one entry per
        period count this box office allows, with the promoter's choice of who pays the fee
        (``BOX_OFFICE_ALIPAY_HUABEI_SELLER_PERCENT``); empty when the amount is outside Huabei's
        range. Pass the chosen ``periods`` and ``seller_percent`` back in the PayRequest."""
        return instalments.offers(
            amount_cents, self.settings.huabei_seller_percent, self.settings.huabei_periods
        )

    # -- calls ---------------------------------------------------------------------------------

    def _call(self, what: str, ref: str, call: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """One server API call: transport and signature failures become PaymentError."""
        try:
            answer = call()
        except AliPayValidationError:
            log.warning("alipay %s %s: answer signature did not verify", what, ref)
            raise PaymentError(f"Alipay {what}: the answer's signature did not verify") from None
        except AliPayException as exc:
            log.warning("alipay %s %s: error answer", what, ref)
            raise PaymentError(f"Alipay {what} refused: {str(exc)[:200]}") from None
        except urllib.error.HTTPError as exc:
            log.warning("alipay %s %s: HTTP %s", what, ref, exc.code)
            raise PaymentError(f"Alipay {what}: gateway answered HTTP {exc.code}") from None
        except TRANSPORT_ERRORS as exc:
            log.warning("alipay %s %s: unreachable (%s)", what, ref, type(exc).__name__)
            raise PaymentError(f"Alipay unreachable during {what}: {exc}") from None
        except ValueError as exc:  # a body that is not JSON
            raise PaymentError(f"Alipay {what}: unreadable answer ({exc})") from None
        log.info(
            "alipay %s %s: code %s %s trade_no %s",
            what,
            ref,
            answer.get("code"),
            answer.get("sub_code", ""),
            answer.get("trade_no", ""),
        )
        return answer

    @staticmethod
    def _ok(answer: dict[str, Any]) -> bool:
        return str(answer.get("code")) == "10000"

    # -- payments ------------------------------------------------------------------------------

    def create(
        self, merchant_order: str, amount_cents: int, currency: str, notify_url: str
    ) -> CreatedPayment:
        return self.start(
            PayRequest(
                merchant_order=merchant_order,
                amount_cents=amount_cents,
                currency=currency,
                notify_url=notify_url,
                description=merchant_order,
                channel=self.default_channel,
                return_url=self.settings.return_url,
            )
        )

    def start(self, request: PayRequest) -> CreatedPayment:
        channel = self.default_channel if request.channel == "default" else request.channel
        if channel not in self.channels:
            raise PaymentError(f"Alipay has no {channel} channel (page, wap, precreate)")
        if request.currency != "CNY":
            raise PaymentError(f"Alipay collects CNY here, not {request.currency}")
        if request.amount_cents < 1:
            raise PaymentError("nothing to pay")
        ref = out_trade_no(request.merchant_order)
        extra: dict[str, Any] = {}
        if request.instalments:
            try:
                instalments.plan(request.amount_cents, request.instalments, request.instalment_seller_percent)
            except instalments.InstalmentError as exc:
                raise PaymentError(f"Huabei: {exc}") from None
            extra["extend_params"] = {
                "hb_fq_num": str(request.instalments),
                "hb_fq_seller_percent": str(request.instalment_seller_percent),
            }
        subject = request.description[:256] or request.merchant_order
        total = yuan(request.amount_cents)
        return_url = request.return_url or self.settings.return_url or None
        if channel == "precreate":
            answer = self._call(
                "precreate",
                ref,
                lambda: self._sdk.api_alipay_trade_precreate(
                    subject, ref, total, notify_url=request.notify_url, **extra
                ),
            )
            if not self._ok(answer) or not answer.get("qr_code"):
                raise PaymentError(
                    f"Alipay precreate refused: {answer.get('sub_code') or answer.get('code')}"
                )
            qr = str(answer["qr_code"])
            return CreatedPayment(ref=ref, pay_url=qr, qr_text=qr, channel=channel)
        if channel == "wap":
            if return_url:
                extra["quit_url"] = return_url
            query = self._sdk.api_alipay_trade_wap_pay(
                subject,
                ref,
                total,
                return_url=return_url,
                notify_url=request.notify_url,
                product_code=WAP_PRODUCT_CODE,
                **extra,
            )
        else:
            query = self._sdk.api_alipay_trade_page_pay(
                subject, ref, total, return_url=return_url, notify_url=request.notify_url, **extra
            )
        log.info("alipay %s %s: signed cashier URL made", channel, ref)
        url = f"{self.settings.gateway}?{query}"
        return CreatedPayment(ref=ref, pay_url=url, qr_text=url, channel=channel)

    def query(self, ref: str) -> PaymentState:
        answer = self._call("trade.query", ref, lambda: self._sdk.api_alipay_trade_query(out_trade_no=ref))
        if not self._ok(answer):
            if answer.get("sub_code") == "ACQ.TRADE_NOT_EXIST":
                # precreate / wap: the trade exists at Alipay only once the buyer scans or pays
                return PaymentState(ref, "created", 0, 0, "CNY")
            raise PaymentError(f"Alipay trade.query refused: {answer.get('sub_code') or answer.get('code')}")
        status = STATUS.get(str(answer.get("trade_status")))
        if status is None:
            raise PaymentError(f"Alipay trade.query: unknown trade_status {answer.get('trade_status')!r}")
        try:
            amount = fen(str(answer.get("total_amount", "")))
        except ValueError as exc:
            raise PaymentError(f"Alipay trade.query: {exc}") from None
        return PaymentState(ref, status, amount, 0, "CNY")

    def close(self, ref: str) -> PaymentState:
        answer = self._call("trade.close", ref, lambda: self._sdk.api_alipay_trade_close(out_trade_no=ref))
        if self._ok(answer):
            return PaymentState(ref, "closed", 0, 0, "CNY")
        if answer.get("sub_code") == "ACQ.TRADE_NOT_EXIST":
            # Never scanned: nothing to close at Alipay. Should the buyer still pay before the
            # QR's timeout, the settle step refunds a payment for an order that is gone.
            return PaymentState(ref, "closed", 0, 0, "CNY")
        state = self.query(ref)
        if state.status == "closed":
            return state
        raise PaymentError(f"Alipay trade.close refused: {answer.get('sub_code')} (trade is {state.status})")

    # -- notifications -------------------------------------------------------------------------

    def _verified_form(self, body: bytes) -> dict[str, str]:
        """The notification's fields once its RSA2 signature and our ids check out."""
        try:
            text = body.decode("utf-8")
            pairs = urllib.parse.parse_qsl(text, keep_blank_values=True, strict_parsing=True)
        except (UnicodeDecodeError, ValueError):
            raise NotificationError("not a form-encoded notification") from None
        data = dict(pairs)
        if len(data) != len(pairs):
            raise NotificationError("a field appears twice")
        signature = data.pop("sign", "")
        if not signature or data.get("sign_type") != "RSA2":
            raise NotificationError("unsigned, or not signed RSA2")
        try:
            good = self._sdk.verify(dict(data), signature)
        except (AliPayException, ValueError, binascii.Error):
            good = False
        if not good:
            raise NotificationError("bad signature")
        data.pop("sign_type", None)
        if data.get("app_id") != self.settings.app_id:
            raise NotificationError("app_id is not ours")
        if data.get("seller_id") != self.settings.seller_id:
            raise NotificationError("seller_id is not ours")
        if not data.get("notify_id") or not data.get("out_trade_no"):
            raise NotificationError("notify_id and out_trade_no are required")
        return data

    def verify_notification(self, headers: dict[str, str], body: bytes) -> Capture:
        data = self._verified_form(body)
        status = STATUS.get(data.get("trade_status", ""))
        if status is None:
            raise NotificationError(f"unknown trade_status {data.get('trade_status')!r}")
        try:
            amount = fen(data.get("total_amount", ""))
        except ValueError as exc:
            raise NotificationError(str(exc)) from None
        if data.get("refund_fee") and status == "closed":
            status = "refunded"  # a full refund closes the trade
        return Capture(f"alipay:{data['notify_id']}", data["out_trade_no"], status, amount, "CNY")

    def verify_refund_notification(self, headers: dict[str, str], body: bytes) -> RefundState:
        """A refund notice (``out_biz_no`` = our ``out_request_no``). Its ``refund_fee`` is the
        trade's total refunded so far, so this refund's own state is asked of Alipay."""
        data = self._verified_form(body)
        refund_no = data.get("out_biz_no", "")
        if not refund_no or not data.get("refund_fee"):
            raise NotificationError("not a refund notification")
        return self.refund_query(data["out_trade_no"], refund_no)

    def notify_ack(self, ok: bool) -> tuple[int, bytes, str]:
        """Alipay wants exactly the seven characters ``success``; anything else makes it retry."""
        return (200, b"success", "text/plain") if ok else (400, b"fail", "text/plain")

    # -- refunds -------------------------------------------------------------------------------

    def refund(self, ref: str, amount_cents: int) -> PaymentState:
        """Refund a whole payment (a payment for an order that expired meanwhile). The request
        number is derived from the reference, so a retry repeats the same refund, never a second."""
        state = self.start_refund(ref, f"{ref}_R", amount_cents, amount_cents, "order expired")
        if state.status != "succeeded":
            raise PaymentError(f"Alipay refund of {ref} is {state.status}")
        return PaymentState(ref, "refunded", amount_cents, amount_cents, "CNY")

    def refund_status(self, ref: str) -> PaymentState:
        return self.query(ref)

    def start_refund(
        self, ref: str, refund_no: str, amount_cents: int, total_cents: int, reason: str
    ) -> RefundState:
        if not 0 < amount_cents <= total_cents:
            raise PaymentError(f"refund of {amount_cents} fen: must be more than 0 and at most {total_cents}")
        answer = self._call(
            "trade.refund",
            ref,
            lambda: self._sdk.api_alipay_trade_refund(
                yuan(amount_cents),
                out_trade_no=ref,
                out_request_no=refund_no,
                refund_reason=reason[:256],
            ),
        )
        if self._ok(answer):
            if answer.get("fund_change") == "Y":
                return RefundState(refund_no, ref, amount_cents, "succeeded", str(answer.get("trade_no", "")))
            # "N": a repeat of a refund already made, or one still being processed: ask.
            return self.refund_query(ref, refund_no)
        sub_code = str(answer.get("sub_code", ""))
        status = "failed" if sub_code in FINAL_REFUND_ERRORS else "pending"
        log.warning("alipay refund %s/%s: %s → %s", ref, refund_no, sub_code, status)
        return RefundState(refund_no, ref, amount_cents, status)

    def refund_query(self, ref: str, refund_no: str) -> RefundState:
        answer = self._call(
            "fastpay.refund.query",
            ref,
            lambda: self._sdk.api_alipay_trade_fastpay_refund_query(refund_no, out_trade_no=ref),
        )
        if not self._ok(answer):
            raise PaymentError(f"Alipay refund query refused: {answer.get('sub_code') or answer.get('code')}")
        amount_text = str(answer.get("refund_amount", "") or "0")
        try:
            amount = fen(amount_text)
        except ValueError as exc:
            raise PaymentError(f"Alipay refund query: {exc}") from None
        # Alipay answers refund data only once the refund succeeded; otherwise it is still pending.
        status = "succeeded" if answer.get("refund_status") == "REFUND_SUCCESS" else "pending"
        return RefundState(refund_no, ref, amount, status, str(answer.get("trade_no", "")))

    # -- bills ---------------------------------------------------------------------------------

    def bill(self, day: datetime.date) -> list[BillLine]:
        """The day's trade bill: its download URL (valid 30 s), then the GBK CSV in its zip."""
        answer = self._call(
            "bill.downloadurl.query",
            day.isoformat(),
            lambda: self._sdk.server_api(
                "alipay.data.dataservice.bill.downloadurl.query",
                {"bill_type": "trade", "bill_date": day.isoformat()},
            ),
        )
        if not self._ok(answer) or not answer.get("bill_download_url"):
            raise PaymentError(f"Alipay bill for {day}: {answer.get('sub_code') or answer.get('code')}")
        url = str(answer["bill_download_url"])
        if not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            raise PaymentError("Alipay bill URL is not https")
        try:
            with urllib.request.urlopen(url, timeout=self.settings.timeout) as response:
                archive = response.read()
        except TRANSPORT_ERRORS as exc:
            raise PaymentError(f"Alipay bill download failed: {exc}") from None
        return parse_bill(archive)


BILL_COLUMNS = ("支付宝交易号", "商户订单号", "业务类型", "订单金额（元）", "退款批次号/请求号")


def parse_bill(archive: bytes) -> list[BillLine]:
    """Lines of an Alipay trade bill archive (zip of GBK CSVs; the detail file, not the summary).

    Comment lines start with ``#``; the header names the columns; 业务类型 is 交易 (a payment) or
    退款 (a refund, with a negative amount and its request number)."""
    try:
        with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
            names = [n for n in zipped.namelist() if n.endswith(".csv") and "汇总" not in n]
            if len(names) != 1:
                raise PaymentError("Alipay bill: expected one detail CSV in the archive")
            text = zipped.read(names[0]).decode("gbk")
    except (zipfile.BadZipFile, UnicodeDecodeError) as exc:
        raise PaymentError(f"Alipay bill unreadable: {exc}") from None
    rows = [row for row in csv.reader(io.StringIO(text)) if row and not row[0].startswith("#")]
    if not rows:
        return []
    header = [cell.strip() for cell in rows[0]]
    try:
        index = {name: header.index(name) for name in BILL_COLUMNS}
    except ValueError as exc:
        raise PaymentError(f"Alipay bill: missing column ({exc})") from None
    lines = []
    for row in rows[1:]:
        cells = [cell.strip().lstrip("\t") for cell in row]
        kind = {"交易": "payment", "退款": "refund"}.get(cells[index["业务类型"]])
        if kind is None:
            continue
        amount_text = cells[index["订单金额（元）"]].lstrip("-")
        try:
            amount = fen(amount_text)
        except ValueError as exc:
            raise PaymentError(f"Alipay bill: {exc}") from None
        txn = cells[index["支付宝交易号"]]
        if kind == "refund":
            txn = f"{txn}/{cells[index['退款批次号/请求号']]}"
        lines.append(BillLine(cells[index["商户订单号"]], txn, kind, amount, "CNY", "succeeded"))
    return lines
