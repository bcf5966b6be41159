"""Fixtures: the Alipay and card emulators on loopback (each its own event loop in a thread),
providers built from real settings pointing the real SDKs at them, and a box office served by
uvicorn with those providers registered (SQLite; the notify route is the same on PostgreSQL)."""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from box_office.payments.alipay import settings as alipay_settings
from box_office.payments.alipay.provider import AlipayProvider
from payment_emulators.alipay.server import AlipayEmulator
from tests.local_services import free_port

APP_ID = "2021000000000001"
SELLER_ID = "2088000000000001"
T = TypeVar("T")


class Running:
    """An aiohttp application served on 127.0.0.1 from its own event loop in a thread."""

    def __init__(self, app: web.Application, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.loop = asyncio.new_event_loop()
        started: Future[web.AppRunner] = Future()

        async def start() -> None:
            runner = web.AppRunner(app)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port).start()
            started.set_result(runner)

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            self.loop.create_task(start())
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        self.runner = started.result(timeout=30)

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the emulator's loop (its state belongs to that loop)."""

        async def wrapped() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(wrapped(), self.loop).result(timeout=30)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.02)


def rsa_pem(bits: int = 2048) -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


class AlipayWorld:
    def __init__(self, emulator: AlipayEmulator, running: Running, env: dict[str, str]) -> None:
        self.emulator = emulator
        self.running = running
        self.env = env

    def provider(self, **env: str) -> AlipayProvider:
        loaded = alipay_settings.load(self.env | env)
        assert loaded is not None
        return AlipayProvider(loaded)

    def switches(self, **values: Any) -> None:
        def apply() -> None:
            for key, value in values.items():
                setattr(self.emulator.switches, key, value)

        self.running.call(apply)


@pytest.fixture(scope="session")
def alipay_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AlipayWorld]:
    tmp = tmp_path_factory.mktemp("alipay")
    private, public = rsa_pem()
    (tmp / "app_private.pem").write_text(private)
    port = free_port()
    emulator = AlipayEmulator(f"http://127.0.0.1:{port}")
    emulator.register_app(APP_ID, public, SELLER_ID)
    emulator.switches.retry_scale = 0.001  # Alipay's 4-minute first retry becomes 0.24 s
    (tmp / "alipay_public.pem").write_text(emulator.public_key_pem)
    running = Running(emulator.app(), port)
    env = {
        "BOX_OFFICE_ALIPAY_APP_ID": APP_ID,
        "BOX_OFFICE_ALIPAY_SELLER_ID": SELLER_ID,
        "BOX_OFFICE_ALIPAY_APP_PRIVATE_KEY_FILE": str(tmp / "app_private.pem"),
        "BOX_OFFICE_ALIPAY_PUBLIC_KEY_FILE": str(tmp / "alipay_public.pem"),
        "BOX_OFFICE_ALIPAY_GATEWAY": f"{running.url}/gateway.do",
        "BOX_OFFICE_ALIPAY_TIMEOUT": "5",
    }
    yield AlipayWorld(emulator, running, env)
    running.stop()


@pytest.fixture
def alipay(alipay_world: AlipayWorld) -> Iterator[AlipayWorld]:
    """The shared emulator with its switches reset after each test."""
    yield alipay_world
    alipay_world.switches(
        slow_ms=0,
        fail_5xx=0,
        timeout_s=0.0,
        duplicate_notify=False,
        hold_notifications=False,
        refund_mode="sync",
        notify_before_answer=False,
    )


def unique(prefix: str = "order") -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


class CardWorld:
    def __init__(self, emulator: Any, running: Running, env: dict[str, str]) -> None:
        self.emulator = emulator
        self.running = running
        self.env = env

    def provider(self, **env: str) -> Any:
        from box_office.payments.card import settings as card_settings
        from box_office.payments.card.provider import CardProvider

        loaded = card_settings.load(self.env | env)
        assert loaded is not None
        return CardProvider(loaded)

    def switches(self, **values: Any) -> None:
        def apply() -> None:
            for key, value in values.items():
                setattr(self.emulator.switches, key, value)

        self.running.call(apply)

    def webhook(self, url: str, events: tuple[str, ...] = ("*",)) -> None:
        def apply() -> None:
            self.emulator.webhook_url = url
            self.emulator.enabled_events = set(events)

        self.running.call(apply)


@pytest.fixture(scope="session")
def card_world() -> Iterator[CardWorld]:
    from payment_emulators.card.server import CardEmulator

    secret_key = "sk_test_" + secrets.token_hex(12)
    webhook_secret = "whsec_" + secrets.token_hex(16)
    port = free_port()
    emulator = CardEmulator(secret_key, webhook_secret, f"http://127.0.0.1:{port}")
    emulator.switches.retry_scale = 0.001
    running = Running(emulator.app(), port)
    env = {
        "BOX_OFFICE_CARD_SECRET_KEY": secret_key,
        "BOX_OFFICE_CARD_WEBHOOK_SECRET": webhook_secret,
        "BOX_OFFICE_CARD_API_BASE": running.url,
        "BOX_OFFICE_CARD_TIMEOUT": "5",
    }
    yield CardWorld(emulator, running, env)
    running.stop()


@pytest.fixture
def card(card_world: CardWorld) -> Iterator[CardWorld]:
    yield card_world
    card_world.switches(
        slow_ms=0, fail_5xx=0, timeout_s=0.0, duplicate_webhook=False, hold_webhooks=False, refund_mode="sync"
    )
