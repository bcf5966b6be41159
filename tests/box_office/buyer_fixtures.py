"""A box office for the buyer-account tests (issue #13), on SQLite and PostgreSQL, and helpers
that sign in as a buyer would: ask for a code, read the SMS (or e-mail), send the code back.

All these tests come from 127.0.0.1, so this box office lets one address ask for many codes
(``otp_per_ip_hour``); the per-IP throttle itself is tested with its default.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from box_office.api.app import create_app
from box_office.core.otp import normalise_phone
from box_office.notify.mail import SmtpMailer
from box_office.notify.sms import CapturingSms
from box_office.store.migrate import upgrade
from tests.box_office.conftest import (
    MailSink,
    Server,
    database_url,
    drop_postgres,
    settings_for,
    start_uvicorn,
)
from tests.local_services import free_port


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def buyers_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, smtp: MailSink
) -> Iterator[Server]:
    backend: str = request.param
    tmp = tmp_path_factory.mktemp(f"buyers_{backend}")
    url = database_url(backend, tmp, "buyers_test")
    upgrade(url)
    port = free_port()
    settings = settings_for(
        url,
        tmp,
        port,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        extra={"no_orphan_seats": "on", "otp_per_ip_hour": "100000"},
    )
    sms = CapturingSms()
    app = create_app(settings, sms=sms, mailer=SmtpMailer("127.0.0.1", smtp.port))
    ctx = app.state.box_office.ctx
    offset = [0.0]
    ctx.clock = lambda: time.time() + offset[0]  # tests move the box office's clock forward
    uv, thread = start_uvicorn(app, port)
    server = Server(f"http://127.0.0.1:{port}", backend, sms, smtp, settings)
    server.app_ctx = ctx  # type: ignore[attr-defined]
    server.skip = lambda seconds: offset.__setitem__(0, offset[0] + seconds)  # type: ignore[attr-defined]
    yield server
    uv.should_exit = True
    thread.join(timeout=10)
    if backend == "postgres":
        drop_postgres(url)


def skip(server: Server, seconds: float) -> None:
    """Move the box office's clock forward (past a resend gap, an expiry)."""
    server.skip(seconds)  # type: ignore[attr-defined]


def new_phone() -> str:
    return "139" + "".join(random.choice("0123456789") for _ in range(8))


def code_sent_to(server: Server, e164: str, before: int) -> str:
    """The code of the first SMS to ``e164`` after the first ``before`` messages (a code is sent
    within the request that asks for it, so it is there when the answer is)."""
    for to, text in server.sms.sent[before:]:
        if to == e164:
            found = re.search(r"(?<!\d)\d{6}(?!\d)", text)
            assert found, text
            return found.group(0)
    raise AssertionError(f"no SMS to {e164}")


def ask_code(server: Server, phone: str, **headers: str) -> tuple[httpx.Response, str | None]:
    before = len(server.sms.sent)
    answer = server.client().post("/api/auth/sms", json={"phone": phone}, headers=headers)
    if answer.status_code != 202:
        return answer, None
    return answer, code_sent_to(server, normalise_phone(phone), before)


def sign_in(
    server: Server, phone: str | None = None, device: str | None = None
) -> tuple[httpx.Client, dict[str, Any]]:
    """A signed-in buyer's client (bearer token, server-issued device id as X-Device-Id)."""
    phone = phone or new_phone()
    headers = {"X-Device-Id": device} if device else {}
    answer, code = ask_code(server, phone, **headers)
    assert answer.status_code == 202, answer.text
    verified = server.client().post(
        "/api/auth/verify", json={"challenge": answer.json()["challenge"], "code": code}, headers=headers
    )
    assert verified.status_code == 200, verified.text
    body = verified.json()
    client = server.client(body["token"])
    client.headers["X-Device-Id"] = body["device_id"]
    return client, body | {"phone": phone}


def step_up(server: Server, client: httpx.Client, action: str) -> str:
    """A step-up proof for ``action``: the SMS code to the buyer's verified number, traded."""
    before = len(server.sms.sent)
    asked = client.post("/api/me/step-up", json={"action": action})
    assert asked.status_code == 202, asked.text
    to = server.sms.sent[before][0]  # sent within the request, to the verified number
    code = code_sent_to(server, to, before)
    proof = client.post("/api/me/step-up/verify", json={"challenge": asked.json()["challenge"], "code": code})
    assert proof.status_code == 200, proof.text
    return str(proof.json()["step_up"])


__all__ = ["buyers_server"]
