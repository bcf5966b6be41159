"""Fixtures: the WeChat Pay emulator on loopback, and a box office whose real ``wechatpayv3``
client is pointed at it (over real HTTP both ways), on SQLite and on PostgreSQL."""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from box_office.api.app import create_app
from box_office.api.deps import AppState
from box_office.config import Settings
from box_office.notify.sms import CapturingSms
from box_office.store.migrate import upgrade
from payment_emulators.wechat.keys import write_kit
from payment_emulators.wechat.server import RunningEmulator, WeChatEmulator, serve_in_thread
from tests.box_office.conftest import Server, database_url, drop_postgres, settings_for, start_uvicorn
from tests.local_services import free_port

TIME_SCALE = 0.01  # the emulator's delays (notification retries, refunds) a hundred times shorter
_NAMES = itertools.count()


@dataclass
class WeChatWorld:
    server: Server
    emu: RunningEmulator
    state: AppState
    kit: dict[str, str]

    @property
    def emulator(self) -> WeChatEmulator:
        return self.emu.emulator

    def switches(self, **values: Any) -> None:
        def apply() -> None:
            for key, value in values.items():
                setattr(self.emulator.switches, key, value)

        self.emu.call(apply)

    def reset(self) -> None:
        self.switches(
            slow=0.0,
            fail_5xx=0,
            timeout=0.0,
            duplicate=False,
            out_of_order=False,
            notify_before_answer=False,
            refund_outcome="SUCCESS",
            refund_delay=2.0,
            refund_spacing=60.0,
        )


def wait_for(check: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    """Poll ``check`` until it answers something truthy (a guard against hangs, not a timing)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.03)


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def wechat(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WeChatWorld]:
    """One emulator per box office: each is one merchant with its own books (order numbers of the
    SQLite and the PostgreSQL box office would otherwise meet in one emulator's bills)."""
    backend: str = request.param
    wechat_emulator = serve_in_thread(time_scale=TIME_SCALE)
    tmp: Path = tmp_path_factory.mktemp(f"wechat_{backend}")
    url = database_url(backend, tmp, f"wechat_{next(_NAMES)}")
    upgrade(url)
    emulator = wechat_emulator.emulator
    kit = write_kit(tmp / "kit", emulator.platform, emulator.merchant, wechat_emulator.url)
    kit["BOX_OFFICE_WECHAT_TIMEOUT"] = "1.5"
    port = free_port()
    settings: Settings = settings_for(url, tmp, port, extra={"no_orphan_seats": "on"} | kit)
    app = create_app(settings, sms=CapturingSms())
    uv, thread = start_uvicorn(app, port)
    world = WeChatWorld(
        Server(f"http://127.0.0.1:{port}", backend, CapturingSms(), None, settings),  # type: ignore[arg-type]
        wechat_emulator,
        app.state.box_office,
        kit,
    )
    yield world
    uv.should_exit = True
    thread.join(timeout=10)
    wechat_emulator.stop()
    if backend == "postgres":
        drop_postgres(url)


@pytest.fixture
def wx(wechat: WeChatWorld) -> Iterator[WeChatWorld]:
    """The world with the emulator behaving, reset after each test."""
    wechat.reset()
    yield wechat
    wechat.reset()


@contextlib.contextmanager
def client(url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, timeout=30) as c:
        yield c
