"""Findings 4 and 10 of issue 19: organiser logins cannot be brute-forced or slow the gates,
unknown users cost the same work, cookies are Secure over TLS, cross-site requests are refused."""

from __future__ import annotations

import asyncio
import base64
import ssl
import threading
from pathlib import Path

import aiohttp
import pytest

from sync_server import auth
from sync_server.settings import ServerSettings
from tests.sync_server.conftest import Server, post_json
from tests.sync_server.live import FakeClock, running
from tests.sync_server.test_cli import make_ca

EVIL = "https://evil.example"


async def login(url: str, username: str, password: str, **headers: str) -> tuple[int, dict[str, str]]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{url}/login", json={"username": username, "password": password}, headers=headers
        ) as resp,
    ):
        return resp.status, dict(resp.headers)


async def test_wrong_passwords_lock_the_user_out_with_back_off_and_then_let_them_in(server: Server) -> None:
    """Finding 4: 120 wrong passwords at 27 tries/s met no limit."""
    server.store.add_organiser("ops", "correct horse")
    clock = FakeClock()
    settings = ServerSettings(login_free_per_user=3, clock=clock)
    async with running(server.store, settings) as live:
        for _ in range(4):
            assert (await login(live.url, "ops", "wrong"))[0] == 401
        status, headers = await login(live.url, "ops", "correct horse")
        assert status == 429 and headers["Retry-After"] == "1"  # locked: not even the right one
        clock.now += 1.5
        assert (await login(live.url, "ops", "wrong"))[0] == 401  # the 5th failure: 2 s now
        status, headers = await login(live.url, "ops", "correct horse")
        assert status == 429 and headers["Retry-After"] == "2"
        clock.now += 2.5
        assert (await login(live.url, "ops", "correct horse"))[0] == 200
        # HTTP Basic (scripts, Prometheus) is the same door and is throttled the same way
        wrong = {"Authorization": "Basic " + base64.b64encode(b"ops:nope").decode()}
        async with aiohttp.ClientSession() as session:
            answers = []
            for _ in range(5):
                async with session.get(f"{live.url}/api/stats", headers=wrong) as resp:
                    answers.append(resp.status)
        assert answers == [401, 401, 401, 401, 429]
        assert live.state.counters["login_throttled"] == 3


async def test_many_user_names_from_one_address_are_throttled_too(server: Server) -> None:
    settings = ServerSettings(login_free_per_address=5, clock=FakeClock())
    async with running(server.store, settings) as live:
        answers = [(await login(live.url, f"user{i}", "guess"))[0] for i in range(7)]
        assert answers == [401] * 6 + [429]


async def test_password_checks_run_off_the_database_thread(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finding 4: each try ran scrypt on the single database thread; gates waited behind it."""
    server.store.add_organiser("ops", "correct horse")
    _, credential = server.enrol("north")
    entered, release = threading.Event(), threading.Event()
    real = auth.check_password

    def slow_check(password: str, stored: str) -> bool:
        entered.set()
        release.wait(30)
        return real(password, stored)

    monkeypatch.setattr(auth, "check_password", slow_check)
    attempt = asyncio.create_task(login(server.url, "ops", "wrong"))
    try:
        assert await asyncio.to_thread(entered.wait, 15)
        gate = {"Authorization": f"Bearer {credential}"}
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session,  # fail, never hang
            session.get(f"{server.url}/api/deltas", headers=gate) as resp,
        ):
            # answered while the password check still runs (it waits for `release`)
            assert resp.status == 200 and not attempt.done()
    finally:
        release.set()
    assert (await attempt)[0] == 401


async def test_an_unknown_user_costs_the_same_password_work_as_a_known_one(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finding 4: a wrong password took 33 ms for a known user and 2 ms for an unknown one."""
    server.store.add_organiser("ops", "correct horse")
    calls: list[str] = []
    real = auth.check_password

    def counting(password: str, stored: str) -> bool:
        calls.append(stored.split("$")[0])
        return real(password, stored)

    monkeypatch.setattr(auth, "check_password", counting)
    assert (await login(server.url, "nobody", "wrong"))[0] == 401
    assert (await login(server.url, "ops", "wrong"))[0] == 401
    assert calls == ["scrypt", "scrypt"]  # one scrypt each, with the same parameters


async def test_the_session_cookie_is_secure_over_tls(server: Server, tmp_path: Path) -> None:
    """Finding 10: the session cookie had no Secure flag over TLS."""
    server.store.add_organiser("ops", "correct horse")
    ca, cert, key = make_ca(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    client = ssl.create_default_context(cafile=str(ca))
    body = {"username": "ops", "password": "correct horse"}
    async with (
        running(server.store, ssl_context=context) as live,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=client)) as session,
        session.post(f"{live.url}/login", json=body) as resp,
    ):
        assert resp.status == 200
        cookie = resp.cookies["encore_session"]
        assert cookie["secure"] is True and cookie["httponly"] is True
    status, headers = await login(server.url, "ops", "correct horse")  # plain HTTP (loopback)
    assert status == 200 and "Secure" not in headers["Set-Cookie"]


async def test_cross_site_requests_and_dashboard_sockets_are_refused(server: Server) -> None:
    """Finding 10: a text/plain POST from another origin revoked a device; a cross-origin
    dashboard WebSocket was accepted."""
    server.store.add_organiser("ops", "correct horse")
    device, _ = server.enrol("north")
    own = server.url
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as session:
        async with session.post(
            f"{own}/login", json={"username": "ops", "password": "correct horse"}, headers={"Origin": own}
        ) as resp:
            assert resp.status == 200
        revoke = f"{own}/api/devices/{device}/revoke"
        forged = {"Origin": EVIL, "Content-Type": "text/plain"}
        async with session.post(revoke, data="x", headers=forged) as resp:
            body = await resp.json()
            assert resp.status == 403 and body["code"] == "forbidden" and "evil.example" in body["detail"]
        async with session.post(revoke, headers={"Referer": f"{EVIL}/page"}) as resp:
            assert resp.status == 403
        assert not server.store.devices()[0]["revoked"]
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(f"{own}/dashboard/ws", headers={"Origin": EVIL})
        assert refused.value.status == 403
        async with session.ws_connect(f"{own}/dashboard/ws", headers={"Origin": own}) as ws:
            assert (await ws.receive_json())["type"] == "stats"
        async with session.post(revoke, headers={"Origin": own}) as resp:
            assert resp.status == 200
    status, body = await post_json(f"{own}/login", {"username": "ops", "password": "x"})
    assert status == 401  # no Origin at all (a script): judged by its credentials
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{own}/login", json={"username": "ops", "password": "correct horse"}, headers={"Origin": EVIL}
        ) as resp,
    ):
        assert resp.status == 403  # login CSRF


async def test_bad_login_fields_get_400_naming_the_field(server: Server) -> None:
    url = f"{server.url}/login"
    nul = base64.b64encode(b"o\x00ps:x").decode()
    async with aiohttp.ClientSession() as session:
        for body, field in (
            ({"username": "\ud800", "password": "x"}, "'username'"),
            ({"username": "a\x00", "password": "x"}, "'username'"),
            ({"username": "ops", "password": "x" * 2000}, "'password'"),
            ({"username": "x" * 101, "password": "x"}, "'username'"),
        ):
            async with session.post(url, json=body) as resp:
                answer = await resp.json()
                assert resp.status == 400 and field in answer["detail"], (body, answer)
        async with session.get(f"{server.url}/api/stats", headers={"Authorization": f"Basic {nul}"}) as resp:
            assert resp.status == 401


async def test_concurrent_guesses_are_limited_like_a_sequence(server: Server) -> None:
    server.store.add_organiser("ops", "correct horse")
    async with running(server.store, ServerSettings(login_free_per_user=3, clock=FakeClock())) as live:
        answers = await asyncio.gather(*(login(live.url, "ops", f"guess{i}") for i in range(12)))
    statuses = sorted(status for status, _ in answers)
    assert statuses == [401] * 4 + [429] * 8  # 3 free tries and the one that locked the name
