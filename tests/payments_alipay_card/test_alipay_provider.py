"""Alipay through the real python-alipay-sdk against the emulator on loopback: page, wap and
precreate payments, signed notifications verified (and forged ones refused), query and close,
full, partial, failing and asynchronous refunds, Huabei parameters, the daily bill, and the
provider being slow, down or answering with the wrong key."""

from __future__ import annotations

import datetime
import urllib.parse
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from aiohttp import web

from box_office.payments.provider import NotificationError, PaymentError, PayRequest
from tests.local_services import free_port
from tests.payments_alipay_card.conftest import APP_ID, AlipayWorld, Running, rsa_pem, unique, wait_for


class Receiver:
    """A merchant notify endpoint: keeps every body, answers what ``answers`` says (then success)."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.answers: list[str] = []
        app = web.Application()
        app.router.add_post("/notify", self.notify)
        self.running = Running(app, free_port())
        self.url = self.running.url + "/notify"

    async def notify(self, request: web.Request) -> web.Response:
        self.bodies.append(await request.read())
        return web.Response(text=self.answers.pop(0) if self.answers else "success")

    def fields(self, index: int = -1) -> dict[str, str]:
        return dict(urllib.parse.parse_qsl(self.bodies[index].decode()))


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    yield made
    made.running.stop()


def start(alipay: AlipayWorld, receiver: Receiver, amount: int = 12345, **kw: Any) -> tuple[Any, Any]:
    provider = alipay.provider()
    request = PayRequest(unique(), amount, "CNY", receiver.url, "周杰伦 演唱会 Jay Chou live", **kw)
    return provider, provider.start(request)


def buyer_pays(created_url: str, **form: str) -> httpx.Response:
    """The buyer opens the cashier (following Alipay's redirect) and presses pay."""
    with httpx.Client(follow_redirects=True, timeout=10) as browser:
        page = browser.get(created_url)
        assert page.status_code == 200, page.text
        assert "支付宝" in page.text and "Alipay" in page.text
        return browser.post(str(page.url), data={"action": "pay", **form}, follow_redirects=False)


def notified(receiver: Receiver, ref: str, count: int = 1) -> list[bytes]:
    bodies = wait_for(
        lambda: (
            [b for b in receiver.bodies if ref.encode() in b][:count]
            if len([b for b in receiver.bodies if ref.encode() in b]) >= count
            else None
        )
    )
    assert bodies, f"no notification for {ref}"
    return list(bodies)


def test_page_pay_notifies_a_verified_capture_of_the_exact_amount(
    alipay: AlipayWorld, receiver: Receiver
) -> None:
    provider, created = start(alipay, receiver, 12345, channel="page", return_url="http://127.0.0.1:1/back")
    assert created.channel == "page" and created.pay_url.startswith(alipay.running.url + "/gateway.do?")
    assert provider.query(created.ref).status == "created"  # not at Alipay until the buyer pays
    answer = buyer_pays(created.pay_url)
    assert answer.status_code == 302 and answer.headers["location"].startswith("http://127.0.0.1:1/back?")
    body = notified(receiver, created.ref)[0]
    capture = provider.verify_notification({}, body)
    assert (capture.ref, capture.status, capture.amount_cents, capture.currency) == (
        created.ref,
        "paid",
        12345,
        "CNY",
    )
    assert capture.event_id.startswith("alipay:")
    state = provider.query(created.ref)
    assert (state.status, state.amount_cents) == ("paid", 12345)
    assert provider.notify_ack(True) == (200, b"success", "text/plain")


def test_wap_pay_sends_the_documented_product_code(alipay: AlipayWorld, receiver: Receiver) -> None:
    provider, created = start(alipay, receiver, 100, channel="wap", return_url="http://127.0.0.1:1/back")
    buyer_pays(created.pay_url)
    trade = alipay.running.call(lambda: alipay.emulator.trades[created.ref])
    assert trade.product_code == "QUICK_WAP_WAY"  # not the SDK's QUICK_WAP_PAY
    assert provider.verify_notification({}, notified(receiver, created.ref)[0]).amount_cents == 100


def test_precreate_qr_trade_exists_only_once_scanned(alipay: AlipayWorld, receiver: Receiver) -> None:
    provider, created = start(alipay, receiver, 9900, channel="precreate")
    assert created.qr_text == created.pay_url and "/qr/" in created.qr_text
    assert provider.query(created.ref).status == "created"
    assert provider.close(created.ref).status == "closed"  # nothing at Alipay to close yet
    buyer_pays(created.qr_text)
    assert provider.verify_notification({}, notified(receiver, created.ref)[0]).status == "paid"


def test_close_an_unpaid_trade_then_it_cannot_be_paid(alipay: AlipayWorld, receiver: Receiver) -> None:
    provider, created = start(alipay, receiver, 500, channel="precreate")
    with httpx.Client(follow_redirects=True, timeout=10) as browser:
        assert browser.get(created.qr_text).status_code == 200  # scanned: WAIT_BUYER_PAY
    assert provider.query(created.ref).status == "created"
    assert provider.close(created.ref).status == "closed"
    assert provider.query(created.ref).status == "closed"
    assert buyer_pays(created.qr_text).status_code == 409


def test_huabei_parameters_reach_alipay_and_bad_plans_are_refused(
    alipay: AlipayWorld, receiver: Receiver
) -> None:
    _provider, created = start(
        alipay, receiver, 60000, channel="precreate", instalments=6, instalment_seller_percent=100
    )
    trade = alipay.running.call(lambda: alipay.emulator.trades[created.ref])
    assert (trade.hb_fq_num, trade.hb_fq_seller_percent) == ("6", "100")
    buyer_pays(created.qr_text)
    fields = dict(urllib.parse.parse_qsl(notified(receiver, created.ref)[0].decode()))
    assert '"fundChannel": "PCREDIT"' in fields["fund_bill_list"] and fields["hb_fq_num"] == "6"
    with pytest.raises(PaymentError, match="hb_fq_num"):
        start(alipay, receiver, 60000, channel="precreate", instalments=4)
    with pytest.raises(PaymentError, match="hb_fq_seller_percent"):
        start(alipay, receiver, 60000, channel="precreate", instalments=3, instalment_seller_percent=50)
    with pytest.raises(PaymentError, match="amount"):
        start(alipay, receiver, 5000, channel="precreate", instalments=3)  # below 100 CNY


def _paid(alipay: AlipayWorld, receiver: Receiver, amount: int) -> tuple[Any, str, bytes]:
    provider, created = start(alipay, receiver, amount, channel="precreate")
    buyer_pays(created.qr_text)
    return provider, created.ref, notified(receiver, created.ref)[0]


def test_forged_and_foreign_notifications_are_refused(alipay: AlipayWorld, receiver: Receiver) -> None:
    provider, _ref, body = _paid(alipay, receiver, 2000)
    fields = dict(urllib.parse.parse_qsl(body.decode()))
    tampered = urllib.parse.urlencode(fields | {"total_amount": "0.01"}).encode()
    with pytest.raises(NotificationError, match="bad signature"):
        provider.verify_notification({}, tampered)
    unsigned = urllib.parse.urlencode({k: v for k, v in fields.items() if k != "sign"}).encode()
    with pytest.raises(NotificationError, match="unsigned"):
        provider.verify_notification({}, unsigned)
    with pytest.raises(NotificationError, match="unsigned"):
        provider.verify_notification({}, urllib.parse.urlencode(fields | {"sign_type": "RSA"}).encode())
    # signed by someone else's key (a forger's "Alipay")
    forger_private, _ = rsa_pem()
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    from payment_emulators.alipay.server import signing_text

    key = serialization.load_pem_private_key(forger_private.encode(), None)
    import base64

    forged = fields | {"notify_id": "forged1"}
    forged["sign"] = base64.b64encode(
        key.sign(signing_text(forged, ("sign", "sign_type")).encode(), padding.PKCS1v15(), hashes.SHA256())  # type: ignore[union-attr,call-arg]
    ).decode()
    with pytest.raises(NotificationError, match="bad signature"):
        provider.verify_notification({}, urllib.parse.urlencode(forged).encode())
    with pytest.raises(NotificationError):
        provider.verify_notification({}, b"\xff\xfe")
    # a genuine notification, but for another merchant: wrong seller, then wrong app id
    with pytest.raises(NotificationError, match="seller_id"):
        alipay.provider(BOX_OFFICE_ALIPAY_SELLER_ID="2088999999999999").verify_notification({}, body)
    with pytest.raises(NotificationError, match="app_id"):
        alipay.provider(BOX_OFFICE_ALIPAY_APP_ID="2021999999999999").verify_notification({}, body)
    assert provider.verify_notification({}, body).status == "paid"  # the genuine one still passes


def test_refunds_full_partial_over_and_retried(alipay: AlipayWorld, receiver: Receiver) -> None:
    provider, ref, _ = _paid(alipay, receiver, 10000)
    first = provider.start_refund(ref, ref + "_1", 3000, 10000, "one ticket")
    assert (first.status, first.amount_cents) == ("succeeded", 3000)
    again = provider.start_refund(ref, ref + "_1", 3000, 10000, "one ticket")  # a retry: same number
    assert (again.status, again.amount_cents) == ("succeeded", 3000)
    trade = alipay.running.call(lambda: alipay.emulator.trades[ref])
    assert trade.refunded == 3000  # refunded once, not twice
    too_much = provider.start_refund(ref, ref + "_2", 7001, 10000, "too much")
    assert too_much.status == "failed"
    with pytest.raises(PaymentError):
        provider.start_refund(ref, ref + "_3", 10001, 10000, "over the total")
    rest = provider.start_refund(ref, ref + "_2b", 7000, 10000, "the rest")
    assert rest.status == "succeeded"
    assert provider.query(ref).status == "closed"  # fully refunded trades close
    assert provider.refund_query(ref, ref + "_1").status == "succeeded"
    # the refund notifications are signed and carry our request number
    refund_bodies = wait_for(
        lambda: (
            [b for b in receiver.bodies if b"out_biz_no" in b and ref.encode() in b][:2]
            if len([b for b in receiver.bodies if b"out_biz_no" in b and ref.encode() in b]) >= 2
            else None
        )
    )
    states = {provider.verify_refund_notification({}, b).refund_no for b in refund_bodies}
    assert states == {ref + "_1", ref + "_2b"}


def test_refund_failure_and_asynchronous_refund(alipay: AlipayWorld, receiver: Receiver) -> None:
    provider, ref, _ = _paid(alipay, receiver, 8000)
    alipay.switches(refund_mode="fail")
    assert provider.start_refund(ref, ref + "_f", 8000, 8000, "x").status == "failed"
    alipay.switches(refund_mode="async")
    pending = provider.start_refund(ref, ref + "_a", 8000, 8000, "x")
    assert pending.status == "pending"
    done = wait_for(lambda: provider.refund_query(ref, ref + "_a").status == "succeeded")
    assert done
    notice = notified(receiver, ref + "&", 1)  # noqa: F841 - payment notice
    body = wait_for(
        lambda: next((b for b in receiver.bodies if b"out_biz_no=" + (ref + "_a").encode() in b), None)
    )
    state = provider.verify_refund_notification({}, body)
    assert (state.refund_no, state.status, state.amount_cents) == (ref + "_a", "succeeded", 8000)
    assert provider.verify_notification({}, body).status == "refunded"


def test_bill_lists_the_days_payments_and_refunds(alipay: AlipayWorld, receiver: Receiver) -> None:
    provider, ref, _ = _paid(alipay, receiver, 4321)
    provider.start_refund(ref, ref + "_b", 321, 4321, "partial")
    lines = [line for line in provider.bill(datetime.date.today()) if line.ref == ref]
    assert sorted((line.kind, line.amount_cents) for line in lines) == [("payment", 4321), ("refund", 321)]
    assert all(line.currency == "CNY" and line.status == "succeeded" for line in lines)
    with pytest.raises(PaymentError):
        provider.bill(datetime.date.today() + datetime.timedelta(days=2))


def test_notifications_are_retried_until_success(alipay: AlipayWorld, receiver: Receiver) -> None:
    receiver.answers[:] = ["fail", "SUCCESS "]  # neither is the exact 7 characters
    _provider, ref, _ = _paid(alipay, receiver, 300)
    bodies = notified(receiver, ref, 3)
    assert len({dict(urllib.parse.parse_qsl(b.decode()))["notify_id"] for b in bodies}) == 1  # same notice

    def recorded() -> list[dict[str, Any]]:
        """The emulator's record of its deliveries: the third is noted once its answer is read,
        just after the receiver has it, so wait for it rather than read at once."""
        found: list[dict[str, Any]] = alipay.running.call(
            lambda: [d for d in alipay.emulator.deliveries if d["fields"]["out_trade_no"] == ref]
        )
        return found if len(found) >= 3 else []

    deliveries = wait_for(recorded)
    assert [d["body"] for d in deliveries] == ["fail", "SUCCESS ", "success"]


def test_provider_down_slow_or_signing_with_another_key(
    alipay: AlipayWorld, receiver: Receiver, tmp_path: Any
) -> None:
    provider = alipay.provider()
    request = PayRequest(unique(), 100, "CNY", receiver.url, "x", channel="precreate")
    alipay.switches(fail_5xx=1)
    with pytest.raises(PaymentError, match="HTTP 502"):
        provider.start(request)
    alipay.switches(timeout_s=2.0)
    slow = alipay.provider(BOX_OFFICE_ALIPAY_TIMEOUT="0.5")
    with pytest.raises(PaymentError, match="unreachable"):
        slow.query("nothing")
    alipay.switches(timeout_s=0.0)
    _, other_public = rsa_pem()
    (tmp_path / "other.pem").write_text(other_public)
    wrong_key = alipay.provider(BOX_OFFICE_ALIPAY_PUBLIC_KEY_FILE=str(tmp_path / "other.pem"))
    with pytest.raises(PaymentError, match="signature"):
        wrong_key.start(request)
    with pytest.raises(PaymentError, match="CNY"):
        provider.start(PayRequest(unique(), 100, "USD", receiver.url, "x"))


def test_our_request_signature_is_checked(alipay: AlipayWorld, receiver: Receiver, tmp_path: Any) -> None:
    impostor_private, _ = rsa_pem()
    (tmp_path / "impostor.pem").write_text(impostor_private)
    impostor = alipay.provider(BOX_OFFICE_ALIPAY_APP_PRIVATE_KEY_FILE=str(tmp_path / "impostor.pem"))
    with pytest.raises(PaymentError, match="invalid-signature"):
        impostor.start(PayRequest(unique(), 100, "CNY", receiver.url, "x", channel="precreate"))
    created = impostor.start(PayRequest(unique(), 100, "CNY", receiver.url, "x", channel="page"))
    assert httpx.get(created.pay_url, timeout=10).status_code == 400
    assert APP_ID in created.pay_url


def test_checkout_offers_follow_the_promoters_setting(alipay: AlipayWorld) -> None:
    buyer_pays_fee = alipay.provider(BOX_OFFICE_ALIPAY_HUABEI_PERIODS="3,12")
    assert [o["periods"] for o in buyer_pays_fee.huabei_offers(68000)] == [3, 12]
    assert buyer_pays_fee.huabei_offers(68000)[1]["buyer_fee_cents"] == 5100
    promoter_pays = alipay.provider(BOX_OFFICE_ALIPAY_HUABEI_SELLER_PERCENT="100")
    offers = promoter_pays.huabei_offers(68000)
    assert [o["periods"] for o in offers] == [3, 6, 12] and all(o["buyer_fee_cents"] == 0 for o in offers)
    assert promoter_pays.huabei_offers(9999) == []


def test_a_planted_bill_line_shows_in_the_bill(alipay: AlipayWorld) -> None:
    planted = httpx.post(
        alipay.running.url + "/_emulator/bill_line",
        json={"trade_no": "2026112722001", "out_trade_no": "not_ours_1", "kind": "交易", "amount": "88.00"},
        timeout=10,
    )
    assert planted.status_code == 200
    try:
        lines = alipay.provider().bill(datetime.date.today())
        assert [(x.ref, x.kind, x.amount_cents) for x in lines if x.ref == "not_ours_1"] == [
            ("not_ours_1", "payment", 8800)
        ]
    finally:
        alipay.running.call(alipay.emulator.bill_extra.clear)


def test_a_notification_can_come_before_the_creation_answer(alipay: AlipayWorld, receiver: Receiver) -> None:
    alipay.switches(notify_before_answer=True)
    provider = alipay.provider()
    request = PayRequest(unique(), 4200, "CNY", receiver.url, "x", channel="precreate")
    seen_before = len(receiver.bodies)
    created = provider.start(request)
    early = [b for b in receiver.bodies[seen_before:] if created.ref.encode() in b]
    assert early, "the emulator was to notify before answering"
    assert provider.verify_notification({}, early[0]).status == "paid"
