"""Buyer accounts (issue #13): sign-in by SMS code, brute force, replay, throttling, account
enumeration, codes stored hashed, the development shortcut refused, and the limits bypass."""

from __future__ import annotations

import dataclasses
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select

from box_office.api.app import create_app
from box_office.buyers import accounts, otp
from box_office.context import Context
from box_office.errors import ServiceError
from box_office.store.models import BuyerOtp
from tests.box_office.buyer_fixtures import ask_code, buyers_server, new_phone, sign_in, skip
from tests.box_office.conftest import Server
from tests.box_office.helpers import Concert, buy, hold, order

__all__ = ["buyers_server"]


def test_sign_in_by_sms_code_one_number_one_account(buyers_server: Server) -> None:
    phone = new_phone()
    client, first = sign_in(buyers_server, phone)
    assert first["new_account"] is True and first["device_id"].startswith("d1.")
    me = client.get("/api/me").json()
    assert me["phone"] == f"+86 {phone[:3]}****{phone[-4:]}" and me["passkey"] is False
    # the same number written another way is the same account (a minute later: the resend gap)
    skip(buyers_server, 61)
    again, second = sign_in(buyers_server, f"+86 {phone[:3]}-{phone[3:7]}-{phone[7:]}")
    assert second["account_id"] == first["account_id"] and second["new_account"] is False
    assert again.get("/api/orders").status_code == 200
    # the SMS is in Chinese by default, names no API URL
    texts = [text for to, text in buyers_server.sms.sent if to == "+86" + phone]
    assert texts and "验证码" in texts[-1] and "/api/" not in texts[-1]
    signed_out = again.post("/api/auth/sign-out")
    assert signed_out.status_code == 204
    assert again.get("/api/orders").status_code == 401


def test_same_answer_for_known_and_unknown_numbers(buyers_server: Server) -> None:
    known = new_phone()
    sign_in(buyers_server, known)
    skip(buyers_server, 61)
    unknown = new_phone()
    answers = []
    for phone in (known, unknown):
        answer, code = ask_code(buyers_server, phone)
        assert answer.status_code == 202 and code is not None
        answers.append(answer)
    shapes = [
        {
            k: (v if k not in ("challenge", "sent_to", "device_id") else type(v).__name__)
            for k, v in a.json().items()
        }
        for a in answers
    ]
    assert shapes[0] == shapes[1]
    assert answers[0].headers.keys() == answers[1].headers.keys()
    # a wrong code is refused the same way for both
    wrong = [
        buyers_server.client().post(
            "/api/auth/verify", json={"challenge": a.json()["challenge"], "code": "000000"}
        )
        for a in answers
    ]
    assert [w.status_code for w in wrong] == [403, 403]
    assert [w.json()["code"] for w in wrong] == ["otp_wrong", "otp_wrong"]


def test_sixth_try_is_refused_even_with_the_right_code(buyers_server: Server) -> None:
    answer, code = ask_code(buyers_server, new_phone())
    assert code is not None
    challenge = answer.json()["challenge"]
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    anon = buyers_server.client()
    for left in (4, 3, 2, 1, 0):
        tried = anon.post("/api/auth/verify", json={"challenge": challenge, "code": wrong})
        assert tried.status_code == 403 and tried.json()["code"] == "otp_wrong", tried.text
        assert f"{left} tries left" in tried.json()["detail"]
    sixth = anon.post("/api/auth/verify", json={"challenge": challenge, "code": code})
    assert sixth.status_code == 403 and sixth.json()["code"] == "otp_locked"


def test_a_code_works_once(buyers_server: Server) -> None:
    answer, code = ask_code(buyers_server, new_phone())
    body = {"challenge": answer.json()["challenge"], "code": code}
    first = buyers_server.client().post("/api/auth/verify", json=body)
    assert first.status_code == 200
    replay = buyers_server.client().post("/api/auth/verify", json=body)
    assert replay.status_code == 403 and replay.json()["code"] == "otp_used"
    unknown = buyers_server.client().post("/api/auth/verify", json={"challenge": "nope", "code": code})
    assert unknown.status_code == 403 and unknown.json()["code"] == "otp_unknown"


def test_codes_are_stored_only_as_keyed_digests(buyers_server: Server) -> None:
    answer, code = ask_code(buyers_server, new_phone())
    assert code is not None
    engine = create_engine(buyers_server.settings.database_url)
    try:
        with engine.connect() as db:
            row = db.execute(select(BuyerOtp).where(BuyerOtp.id == answer.json()["challenge"])).one()
    finally:
        engine.dispose()
    assert code not in " ".join(str(v) for v in row) and len(row.digest) == 64


def test_resend_is_throttled_per_number_and_per_device(buyers_server: Server) -> None:
    phone = new_phone()
    first, _ = ask_code(buyers_server, phone)
    again, code = ask_code(buyers_server, phone)
    assert again.status_code == 429 and code is None
    assert again.json()["code"] == "otp_throttled" and 0 < again.json()["retry_after"] <= 60
    assert int(again.headers["Retry-After"]) == again.json()["retry_after"]
    # one device asking for codes to one number after another
    device = first.json()["device_id"]
    other, _ = ask_code(buyers_server, new_phone(), **{"X-Device-Id": device})
    assert other.status_code == 429 and other.json()["code"] == "otp_throttled"


def test_sends_are_throttled_per_ip(buyers_server: Server) -> None:
    """The default 20 codes an hour from one address, with the adapter on the same database."""
    settings = dataclasses.replace(buyers_server.settings, extra={})
    ctx = Context.from_settings(settings)
    ip = f"198.51.100.{uuid.uuid4().int % 250}"
    try:
        for _ in range(20):
            otp.create(ctx, "sms", "+86" + new_phone(), purpose="sign_in", ip=ip, device=uuid.uuid4().hex)
        with pytest.raises(otp.Throttled) as refused:
            otp.create(ctx, "sms", "+86" + new_phone(), purpose="sign_in", ip=ip, device=uuid.uuid4().hex)
        assert refused.value.retry_after > 3000
    finally:
        ctx.db.dispose()


def test_bad_numbers_are_422(buyers_server: Server) -> None:
    for wrong in ("12345", "+8612345678901", "23800138000"):
        answer = buyers_server.client().post("/api/auth/sms", json={"phone": wrong})
        assert answer.status_code == 422 and answer.json()["errors"][0]["loc"] == ["body", "phone"]
    answer = buyers_server.client().post("/api/auth/email", json={"email": "nobody@localhost"})
    assert answer.status_code == 422


def test_accounts_from_an_unverified_email_are_refused_outside_development(tmp_path: object) -> None:
    from tests.box_office.conftest import settings_for

    url = f"sqlite:///{tmp_path}/closed.sqlite3"
    from box_office.store.migrate import upgrade

    upgrade(url)
    settings = settings_for(url, tmp_path, 1, sandbox=False)  # type: ignore[arg-type]
    assert settings.accounts_open is False
    with TestClient(create_app(settings, background=False)) as client:
        made = client.post("/api/accounts", json={"email": "scalper@example.test"})
    assert made.status_code == 403 and made.json()["code"] == "verification_required"


def test_the_limits_bypass_stops_at_the_limit(buyers_server: Server) -> None:
    """As tried by a scalper: several sign-ins under one identity with invented device ids held
    18 seats against a limit of 6. Now every way stops at 6."""
    concert = Concert(buyers_server, session={"limit_per_account": 6, "limit_per_device": 6})
    phone = new_phone()
    held_total = 0
    refusals = []
    for n in range(3):
        skip(buyers_server, 61)
        client, _ = sign_in(buyers_server, phone)
        client.headers["X-Device-Id"] = f"made-up-device-{n}"  # ignored: not issued by the server
        seats = [f"A-{n + 1}-{i}" for i in range(1, 7)]
        answer = hold(client, concert.session_id, seats=seats)
        if answer.status_code == 201:
            made = order(client, answer.json()["id"])
            assert made.status_code == 201, made.text
            held_total += 6
        else:
            refusals.append(answer.json()["code"])
    assert held_total == 6 and refusals == ["limit_account", "limit_account"]
    # e-mail sign-in of one address is one account too
    # three verified numbers on one phone (the server's device id carried over): the device limit
    first, body = sign_in(buyers_server)
    device = body["device_id"]
    assert hold(first, concert.session_id, seats=["A-1-7", "A-1-8", "A-1-9", "A-1-10"]).status_code == 201
    skip(buyers_server, 31)
    second, _ = sign_in(buyers_server, device=device)
    refused = hold(second, concert.session_id, seats=["A-2-7", "A-2-8", "A-2-9"])
    assert refused.status_code == 409 and refused.json()["code"] == "limit_device", refused.text
    # an open hold counts: one account cannot sit on more seats by holding again
    assert (
        hold(first, concert.session_id, seats=["A-3-7", "A-3-8", "A-3-9"]).json()["code"] == "limit_account"
    )


def test_email_sign_in_for_buyers_from_abroad(buyers_server: Server) -> None:
    address = f"{uuid.uuid4().hex[:8]}@Example.test"
    asked = buyers_server.client().post("/api/auth/email", json={"email": address, "lang": "en"})
    assert asked.status_code == 202, asked.text
    message = next(m for m in reversed(buyers_server.smtp.messages) if m["To"] == address.lower())
    code = message["Subject"].rsplit(" ", 1)[1]
    assert "Your code" in message.get_content() and "验证码" in message.get_content()
    verified = buyers_server.client().post(
        "/api/auth/verify", json={"challenge": asked.json()["challenge"], "code": code}
    )
    assert verified.status_code == 200, verified.text
    # the address in capitals is the same address: same throttle, same account
    again = buyers_server.client().post("/api/auth/email", json={"email": address.upper()})
    assert again.status_code == 429
    ctx = Context.from_settings(buyers_server.settings)
    try:
        same, created = accounts.account_for_identity(ctx, "email", otp.normalised("email", address.upper()))
    finally:
        ctx.db.dispose()
    assert same == verified.json()["account_id"] and created is False


def test_adapter_refuses_unknown_purpose(buyers_server: Server) -> None:
    ctx = Context.from_settings(buyers_server.settings)
    try:
        with pytest.raises(ServiceError) as refused:
            otp.check(ctx, "no-such", "123456", "step_up")
        assert refused.value.code == "otp_unknown"
    finally:
        ctx.db.dispose()


def test_buy_with_a_verified_account(buyers_server: Server) -> None:
    concert = Concert(buyers_server)
    client, _ = sign_in(buyers_server)
    done = buy(concert, client, seats=["A-3-1"])
    assert done["status"] == "ticketed"
