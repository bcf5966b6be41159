"""A sync server app with settings of the test's choosing, on the fixture's store (and loopback)."""

from __future__ import annotations

import contextlib
import ssl
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from sync_server.app import STATE, State, create_app
from sync_server.settings import ServerSettings
from sync_server.store import ServerStore
from tests.local_services import free_port


@dataclass
class Live:
    url: str
    app: web.Application

    @property
    def state(self) -> State:
        return self.app[STATE]


@contextlib.asynccontextmanager
async def running(
    store: ServerStore, settings: ServerSettings | None = None, ssl_context: ssl.SSLContext | None = None
) -> AsyncIterator[Live]:
    app = create_app(store, settings=settings)
    runner = web.AppRunner(app, shutdown_timeout=1)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port, ssl_context=ssl_context).start()
    scheme = "https" if ssl_context else "http"
    try:
        yield Live(f"{scheme}://127.0.0.1:{port}", app)
    finally:
        await runner.cleanup()


class FakeClock:
    """A monotonic clock the test moves by hand (for the throttles' back-off)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def scan_as(
    device_id: str,
    gate: str,
    ticket_id: str | None,
    *,
    at: float | None = None,
    verdict: str = "ok",
    direction: str = "in",
    **extra: object,
) -> dict[str, Any]:
    """A scan as the device ``device_id`` at ``gate`` would upload it."""
    admit = True if verdict == "ok" else (None if verdict == "exit_ok" else False)
    return {
        "scan_id": str(uuid.uuid4()),
        "at": time.time() if at is None else at,
        "verdict": verdict,
        "admit": admit,
        "gate": gate,
        "device": device_id,
        "direction": direction,
        "ticket_id": ticket_id,
        **extra,
    }
