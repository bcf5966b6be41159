"""WeChat Pay through the real ``wechatpayv3`` SDK against the emulator, over real HTTP: each
channel's happy path, and every way a notification can be false (each refused, nothing changed)."""

from __future__ import annotations

import base64
import json
import logging
import re
import time
from typing import Any

import httpx
import pytest

from payment_emulators.wechat.keys import new_platform, rsa_sign
from tests.box_office.helpers import Concert
from tests.payments.conftest import WeChatWorld, wait_for
from tests.payments.wechat_helpers import (
    DESKTOP,
    IPHONE,
    WECHAT,
    buyer_pays,
    count,
    open_order,
    order_now,
    start,
    wait_order,
)


def test_native_qr_on_desktop_pays_and_tickets(wx: WeChatWorld) -> None:
    concert = Concert(wx.server)
    buyer = concert.buyer()
    made = open_order(concert, buyer, "A-1-1")
    answer = start(buyer, made["id"], DESKTOP)
    assert answer.status_code == 201, answer.text
    payment = answer.json()
    assert payment["channel"] == "native" and payment["provider"] == "wechat"
    assert payment["qr_text"].startswith(wx.emu.url + "/pay/")
    page = httpx.get(payment["pay_url"], timeout=30)
    assert page.status_code == 200 and "Test Concert" in page.text, page.text
    assert f"¥{made['total_cents'] / 100:.2f}" in page.text
    assert buyer_pays(wx, payment["pay_url"]).status_code == 302
    done = wait_order(buyer, made["id"], "ticketed")
    assert [p["status"] for p in done["payments"]] == ["succeeded"]
    assert [t["status"] for t in done["tickets"]] == ["valid"]


def test_h5_on_a_phone_redirects_back(wx: WeChatWorld) -> None:
    concert = Concert(wx.server)
    buyer = concert.buyer()
    made = open_order(concert, buyer, "A-1-1")
    back = f"{wx.server.url}/orders/{made['id']}"
    answer = start(buyer, made["id"], IPHONE, return_url=back)
    assert answer.status_code == 201, answer.text
    payment = answer.json()
    assert payment["channel"] == "h5"
    assert "redirect_url=" in payment["pay_url"]
    pressed = httpx.post(
        payment["pay_url"].replace("?", "/do?", 1).split("&prepay_id")[0],
        data={"what": "pay"},
        follow_redirects=False,
        timeout=30,
    )
    assert pressed.status_code == 302
    wait_order(buyer, made["id"], "ticketed")


def test_jsapi_inside_wechat_signs_pay_sign(wx: WeChatWorld) -> None:
    concert = Concert(wx.server)
    buyer = concert.buyer()
    made = open_order(concert, buyer, "A-1-1")
    other_buyer = concert.buyer()
    other = open_order(concert, other_buyer, "A-3-1")
    missing = start(other_buyer, other["id"], WECHAT, channel="jsapi")
    assert missing.status_code == 201 and missing.json()["channel"] == "native"  # no openid: a QR
    answer = start(buyer, made["id"], WECHAT, openid="oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")
    assert answer.status_code == 201, answer.text
    params = answer.json()["client_params"]
    assert set(params) == {"appId", "timeStamp", "nonceStr", "package", "signType", "paySign"}
    assert params["signType"] == "RSA" and params["package"].startswith("prepay_id=wx")
    forged = httpx.post(f"{wx.emu.url}/jsapi/pay", json=params | {"nonceStr": "x" * 32}, timeout=30)
    assert forged.status_code == 400  # the WeChat client checks paySign over the four fields
    paid = httpx.post(f"{wx.emu.url}/jsapi/pay", json=params, timeout=30)
    assert paid.status_code == 200, paid.text
    wait_order(buyer, made["id"], "ticketed")


def test_the_buyer_fails_or_abandons_nothing_sells(wx: WeChatWorld) -> None:
    concert = Concert(wx.server)
    buyer = concert.buyer()
    made = open_order(concert, buyer, "A-1-1")
    payment = start(buyer, made["id"]).json()
    buyer_pays(wx, payment["pay_url"], "abandon")
    buyer_pays(wx, payment["pay_url"], "fail")
    assert wx.emulator.trades[_ref(wx, made["id"])].state == "PAYERROR"
    current = order_now(buyer, made["id"])
    assert current["status"] == "pending_payment"
    assert [p["status"] for p in current["payments"]] == ["created"]


def _ref(wx: WeChatWorld, order_id: int) -> str:
    return next(
        t.out_trade_no for t in wx.emulator.trades.values() if t.out_trade_no.startswith(f"EO{order_id}T")
    )


# -- notifications that must not be trusted ----------------------------------------------------


def _notify(wx: WeChatWorld, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(
        f"{wx.server.url}/api/payments/wechat/notify", content=body, headers=headers, timeout=30
    )


def _resource(wx: WeChatWorld, ref: str, **changes: Any) -> dict[str, Any]:
    trade = wx.emulator.trades[ref]
    resource = wx.emulator.transaction_resource(trade) | {
        "trade_state": "SUCCESS",
        "transaction_id": "4200001",
    }
    amount = resource["amount"] | changes.pop("amount", {})
    return resource | {"amount": amount} | changes


def _note(wx: WeChatWorld, resource: dict[str, Any]) -> bytes:
    return wx.emulator.notification("TRANSACTION.SUCCESS", "支付成功", "transaction", resource)


def _unchanged(wx: WeChatWorld, buyer: httpx.Client, order_id: int) -> None:
    current = order_now(buyer, order_id)
    assert current["status"] == "pending_payment"
    assert [p["status"] for p in current["payments"]] == ["created"]
    assert (
        count(
            wx,
            "SELECT count(*) FROM payment_notifications WHERE payment_id = :p",
            p=current["payments"][0]["id"],
        )
        == 0
    )


def test_false_notifications_are_refused_and_change_nothing(wx: WeChatWorld) -> None:
    concert = Concert(wx.server)
    buyer = concert.buyer()
    made = open_order(concert, buyer, "A-1-1")
    assert start(buyer, made["id"]).status_code == 201
    ref = _ref(wx, made["id"])
    genuine = _note(wx, _resource(wx, ref))
    cases: dict[str, tuple[bytes, dict[str, str], int]] = {}
    # forged: signed by a key that is not WeChat Pay's, under WeChat Pay's key id
    stranger = new_platform()
    headers = wx.emulator.signed_headers(genuine)
    message = f"{headers['Wechatpay-Timestamp']}\n{headers['Wechatpay-Nonce']}\n{genuine.decode()}\n"
    cases["forged signature"] = (
        genuine,
        headers | {"Wechatpay-Signature": rsa_sign(stranger.key, message)},
        401,
    )
    cases["wrong serial"] = (genuine, headers | {"Wechatpay-Serial": stranger.public_key_id}, 401)
    cases["stale"] = (genuine, wx.emulator.signed_headers(genuine, stamp=int(time.time()) - 360), 401)
    cases["from the future"] = (
        genuine,
        wx.emulator.signed_headers(genuine, stamp=int(time.time()) + 360),
        401,
    )
    cases["probe"] = (genuine, headers | {"Wechatpay-Signature": "WECHATPAY/SIGNTEST/" + "A" * 40}, 401)
    note = json.loads(genuine)
    raw = bytearray(base64.b64decode(note["resource"]["ciphertext"]))
    raw[5] ^= 0x01
    note["resource"]["ciphertext"] = base64.b64encode(bytes(raw)).decode()
    tampered = json.dumps(note, ensure_ascii=False).encode()  # re-signed: only the AES-GCM tag catches it
    cases["tampered ciphertext"] = (tampered, wx.emulator.signed_headers(tampered), 401)
    edited = genuine.replace(b'"TRANSACTION.SUCCESS"', b'"TRANSACTION.SUCCESS" ')
    cases["body changed after signing"] = (edited, headers, 401)
    other_mch = _note(wx, _resource(wx, ref, mchid="1900000999"))
    cases["wrong merchant"] = (other_mch, wx.emulator.signed_headers(other_mch), 401)
    other_app = _note(wx, _resource(wx, ref, appid="wx0000000000000000"))
    cases["wrong app"] = (other_app, wx.emulator.signed_headers(other_app), 401)
    cheap = _note(wx, _resource(wx, ref, amount={"total": 1, "payer_total": 1}))
    cases["wrong amount"] = (cheap, wx.emulator.signed_headers(cheap), 422)
    dollars = _note(wx, _resource(wx, ref, amount={"currency": "USD"}))
    cases["wrong currency"] = (dollars, wx.emulator.signed_headers(dollars), 422)
    unknown = _note(wx, _resource(wx, ref, out_trade_no="EO999999TNOSUCH"))
    cases["unknown payment"] = (unknown, wx.emulator.signed_headers(unknown), 404)
    for name, (body, sent, expected) in cases.items():
        answer = _notify(wx, body, sent)
        assert answer.status_code == expected, (name, answer.status_code, answer.text)
        assert answer.json()["code"], name
        _unchanged(wx, buyer, made["id"])
    # the genuine one settles; replayed (same id) it is refused, stale it is refused
    first = _notify(wx, genuine, wx.emulator.signed_headers(genuine))
    assert first.status_code == 200, first.text
    wait_order(buyer, made["id"], "ticketed")
    assert _notify(wx, genuine, wx.emulator.signed_headers(genuine)).status_code == 409
    stale = wx.emulator.signed_headers(genuine, stamp=int(time.time()) - 400)
    assert _notify(wx, genuine, stale).status_code == 401
    assert (
        count(wx, "SELECT count(*) FROM tickets WHERE order_id = :o AND status = 'valid'", o=made["id"]) == 1
    )


def test_duplicate_notifications_settle_once(wx: WeChatWorld) -> None:
    wx.switches(duplicate=True)
    concert = Concert(wx.server)
    buyer = concert.buyer()
    made = open_order(concert, buyer, "A-1-1")
    payment = start(buyer, made["id"]).json()
    buyer_pays(wx, payment["pay_url"])
    wait_order(buyer, made["id"], "ticketed")
    ref = _ref(wx, made["id"])
    deliveries = wait_for(
        lambda: (
            (d := [x for x in wx.emulator.deliveries if ref in _decrypted_ref(wx, x.notification_id)])
            and len(d) >= 2
            and d
        ),
        what="both deliveries",
    )
    assert len({d.notification_id for d in deliveries}) == 1  # the same notification twice
    assert sorted(d.status for d in deliveries) == [200, 409]
    assert (
        count(
            wx,
            "SELECT count(*) FROM payment_notifications WHERE notify_id LIKE 'wechat:%' AND payment_id = :p",
            p=payment["id"],
        )
        == 1
    )
    assert (
        count(wx, "SELECT count(*) FROM tickets WHERE order_id = :o AND status = 'valid'", o=made["id"]) == 1
    )


def _decrypted_ref(wx: WeChatWorld, notification_id: str) -> str:
    return wx.emulator.sent_refs.get(notification_id, "")


def test_notification_before_the_creation_answer(wx: WeChatWorld) -> None:
    wx.switches(notify_before_answer=True)
    concert = Concert(wx.server)
    buyer = concert.buyer()
    made = open_order(concert, buyer, "A-1-1")
    answer = start(buyer, made["id"])
    assert answer.status_code == 201, answer.text
    ref = _ref(wx, made["id"])
    first = next(d for d in wx.emulator.deliveries if _decrypted_ref(wx, d.notification_id) == ref)
    assert first.status == 404  # the payment was not recorded yet: WeChat Pay retries
    wait_order(buyer, made["id"], "ticketed")
    statuses = [d.status for d in wx.emulator.deliveries if _decrypted_ref(wx, d.notification_id) == ref]
    assert statuses[0] == 404 and statuses[-1] == 200 and statuses.count(200) == 1


def test_provider_down_at_creation_is_a_clear_503_and_nothing_half_made(wx: WeChatWorld) -> None:
    concert = Concert(wx.server)
    buyer = concert.buyer()
    made = open_order(concert, buyer, "A-1-1")
    wx.switches(slow=0.5)  # slow but within the client's timeout: fine
    patient = concert.buyer()
    slow_order = open_order(concert, patient, "A-3-1")
    assert start(patient, slow_order["id"]).status_code == 201
    for switch in ({"fail_5xx": 1}, {"timeout": 3.0}):
        wx.reset()
        wx.switches(**switch)
        answer = start(buyer, made["id"])
        assert answer.status_code == 503, answer.text
        assert answer.headers["Retry-After"] and answer.json()["code"] == "provider_unavailable"
        assert "wechat is unavailable" in answer.json()["detail"].lower()
        current = order_now(buyer, made["id"])
        assert current["status"] == "pending_payment" and current["payments"] == []
    wx.reset()
    held = buyer.get(f"/api/orders/{made['id']}").json()
    assert held["status"] == "pending_payment"  # the hold kept: paying again works
    payment = start(buyer, made["id"]).json()
    buyer_pays(wx, payment["pay_url"])
    wait_order(buyer, made["id"], "ticketed")


def test_every_call_is_logged_with_its_request_id_and_no_secret(
    wx: WeChatWorld, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    concert = Concert(wx.server)
    buyer = concert.buyer()
    made = open_order(concert, buyer, "A-1-1")
    payment = start(buyer, made["id"]).json()
    buyer_pays(wx, payment["pay_url"])
    wait_order(buyer, made["id"], "ticketed")
    calls = [r.getMessage() for r in caplog.records if r.name == "box_office.payments.wechat.provider"]
    created = [m for m in calls if m.startswith("wechat pay native")]
    assert created and all(re.search(r"request_id=[0-9a-f]{32}", m) for m in created), calls
    everything = "\n".join(r.getMessage() for r in caplog.records)
    secrets_shown = [
        wx.emulator.merchant.apiv3_key,
        "PRIVATE KEY",
        "WECHATPAY2-SHA256-RSA2048 mchid",
        "paySign",
    ]
    assert [s for s in secrets_shown if s in everything] == []
