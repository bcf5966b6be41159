"""Aliyun SMS (issue #13): the documented signature, the adapter against the local emulator
(which checks every request as the service would), and a box office sending through it."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from box_office.api.app import create_app
from box_office.notify.sms_aliyun import AliyunSms, SmsRefused, signature, templates_from
from box_office.notify.sms_emulator import Emulator, template_setting
from box_office.store.migrate import upgrade
from tests.box_office.conftest import MailSink, Server, settings_for, start_uvicorn
from tests.box_office.helpers import Concert, hold, order, pay, wait_status
from tests.local_services import free_port

KEYS = {"test-id": "test-secret"}


@pytest.fixture
def emulator() -> Iterator[tuple[Emulator, str]]:
    fake = Emulator(KEYS)
    server = fake.serve()
    yield fake, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def adapter(endpoint: str, secret: str = "test-secret") -> AliyunSms:
    return AliyunSms("test-id", secret, "Encore", templates_from(template_setting()), endpoint=endpoint)


def test_signature_matches_the_documented_example() -> None:
    """The SendSms example of Aliyun's signature documentation, byte for byte."""
    params = {
        "AccessKeyId": "testId",
        "Action": "SendSms",
        "Format": "XML",
        "OutId": "123",
        "PhoneNumbers": "15300000001",
        "RegionId": "cn-hangzhou",
        "SignName": "阿里云短信测试专用",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
        "SignatureVersion": "1.0",
        "TemplateCode": "SMS_71390007",
        "TemplateParam": '{"customer":"test"}',
        "Timestamp": "2017-07-12T02:42:19Z",
        "Version": "2017-05-25",
    }
    assert signature("testSecret", "GET", params) == "zJDF+Lrzhj/ThnlvIToysFRq6t4="


def test_adapter_sends_templates_in_both_languages(emulator: tuple[Emulator, str]) -> None:
    fake, url = emulator
    sms = adapter(url)
    sms.send_template("+8613800138000", "otp", "zh", {"code": "123456", "minutes": "5"})
    sms.send_template("+447700900123", "otp", "en", {"code": "654321", "minutes": "5"})
    zh, en = fake.messages
    assert zh["phone"] == "13800138000" and zh["text"].startswith("【Encore】您的验证码为123456")
    assert en["phone"] == "447700900123" and "Your code is 654321" in en["text"]


def test_emulator_refuses_what_the_service_would(emulator: tuple[Emulator, str]) -> None:
    fake, url = emulator
    with pytest.raises(SmsRefused, match="SignatureDoesNotMatch"):
        adapter(url, secret="wrong").send_template(
            "+8613800138000", "otp", "zh", {"code": "1", "minutes": "5"}
        )
    signed = adapter(url).signed_params("+8613800138000", "SMS_100", {"code": "123456", "minutes": "5"})
    assert httpx.get(url, params=signed).json()["Code"] == "OK"
    assert httpx.get(url, params=signed).json()["Code"] == "SignatureNonceUsed"  # a replay
    tampered = adapter(url).signed_params("+8613800138000", "SMS_100", {"code": "123456", "minutes": "5"})
    tampered["PhoneNumbers"] = "13900000000"
    assert httpx.get(url, params=tampered).json()["Code"] == "SignatureDoesNotMatch"
    with pytest.raises(SmsRefused, match="TEMPLATE_PARAMS"):
        adapter(url).send_template("+8613800138000", "otp", "zh", {"code": "123456"})
    assert len(fake.messages) == 1


def test_a_box_office_texts_through_aliyun(
    emulator: tuple[Emulator, str], tmp_path: Path, smtp: MailSink
) -> None:
    fake, url = emulator
    db = f"sqlite:///{tmp_path / 'aliyun.sqlite3'}"
    upgrade(db)
    port = free_port()
    extra = {
        "no_orphan_seats": "on",
        "otp_per_ip_hour": "1000",
        "aliyun_access_key_id": "test-id",
        "aliyun_access_key_secret": "test-secret",
        "aliyun_sign_name": "Encore",
        "aliyun_templates": template_setting(),
        "aliyun_endpoint": url,
    }
    settings = settings_for(
        db, tmp_path, port, sms_backend="aliyun", extra=extra, smtp_host="127.0.0.1", smtp_port=smtp.port
    )
    uv, thread = start_uvicorn(create_app(settings), port)
    try:
        box_office = Server(f"http://127.0.0.1:{port}", "sqlite", None, smtp, settings)  # type: ignore[arg-type]
        asked = box_office.client().post("/api/auth/sms", json={"phone": "13800138001", "lang": "en"})
        assert asked.status_code == 202, asked.text
        text = fake.messages[-1]["text"]
        assert fake.messages[-1]["phone"] == "13800138001" and "Your code is" in text
        code = re.search(r"\d{6}", text).group(0)  # type: ignore[union-attr]
        verified = box_office.client().post(
            "/api/auth/verify", json={"challenge": asked.json()["challenge"], "code": code}
        )
        client = box_office.client(verified.json()["token"])
        # the tickets SMS, in Chinese to a mainland number, points at the buyer's order page
        concert = Concert(box_office)
        held = hold(client, concert.session_id, seats=["A-2-1"]).json()
        made = order(client, held["id"], phone="+86 138 0013 8001").json()
        pay(client, made["id"])
        assert wait_status(client, made["id"], "ticketed")["status"] == "ticketed"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any("/me/orders/" in m["text"] for m in fake.messages):
            time.sleep(0.05)
        sent = next(m for m in fake.messages if "/me/orders/" in m["text"])
        assert sent["text"].startswith("【Encore】") and f"/me/orders/{made['id']}" in sent["text"]
        assert "Test Concert" in sent["text"] and "/api/" not in sent["text"]
    finally:
        uv.should_exit = True
        thread.join(timeout=10)
