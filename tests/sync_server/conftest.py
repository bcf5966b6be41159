"""Fixtures: a real sync server on loopback (aiohttp, SQLite file), real gate stores, real clients."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from gate_agent.config import GateConfig
from gate_agent.pipeline import ScanPipeline
from gate_agent.store import GateStore
from gate_agent.sync.client import SyncClient, SyncSettings
from sync_server.app import create_app
from sync_server.store import ServerStore
from tests.local_services import free_port, running_under_ci
from ticket_format import SigningKey, TicketClaims, issue
from wire.snapshot import TicketRecord

EVENT = "evt-sync"


@dataclass
class Tickets:
    key: SigningKey
    tokens: dict[str, str] = field(default_factory=dict)
    zones: dict[str, str] = field(default_factory=dict)

    def make(self, count: int, zones: tuple[str, ...] = ("A", "B")) -> list[str]:
        now = int(time.time())
        ids = []
        for i in range(count):
            ticket_id = str(uuid.uuid4())
            zone = zones[i % len(zones)]
            claims = TicketClaims(
                ticket_id, EVENT, zone=zone, valid_from=now - 3600, valid_until=now + 6 * 3600
            )
            self.tokens[ticket_id] = issue(claims, self.key)
            self.zones[ticket_id] = zone
            ids.append(ticket_id)
        return ids

    def records(self, ids: list[str] | None = None, status: str = "valid") -> list[TicketRecord]:
        return [
            TicketRecord(ticket_id=t, version=1, event_id=EVENT, zone=self.zones[t], status=status)  # type: ignore[arg-type]
            for t in (ids or list(self.tokens))
        ]


class Server:
    """A sync server on a fixed loopback port that a test can stop and start again."""

    def __init__(self, db_path: Path, db_url: str | None = None) -> None:
        self.url_db = db_url or f"sqlite:///{db_path}"
        self.store = ServerStore.open(self.url_db)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.runner: web.AppRunner | None = None

    async def start(self) -> None:
        self.runner = web.AppRunner(create_app(self.store), shutdown_timeout=1)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None

    def enrol(self, gate: str, direction: str = "in", zones: tuple[str, ...] = ()) -> tuple[str, str]:
        """(device_id, credential) through the store's own enrolment path."""
        code = self.store.create_enrol_code(EVENT, gate, direction, zones)
        enrolment = self.store.enrol(code, gate)
        return enrolment.device_id, enrolment.credential


@dataclass
class Gate:
    """One gate: its own SQLite store, the production scan pipeline and the sync client."""

    gate_id: str
    store: GateStore
    pipeline: ScanPipeline
    client: SyncClient
    device_id: str
    task: asyncio.Task[None] | None = None

    def scan(self, token: str) -> Any:
        return self.pipeline.scan(token, source="test", repeat_window=0)

    def start(self) -> None:
        self.task = asyncio.create_task(self.client.run())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            self.task = None


@pytest.fixture
def tickets() -> Tickets:
    return Tickets(SigningKey.generate())


PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


def fresh_postgres() -> str:
    """A new empty PostgreSQL database; skipped when unreachable, but failed under CI=true."""
    import psycopg

    name = f"sync_test_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        if running_under_ci():  # CI=true or CI=1
            pytest.fail(f"PostgreSQL on 127.0.0.1:5432 is required under CI: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def drop_postgres(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def server(request: pytest.FixtureRequest, tmp_path: Path, tickets: Tickets) -> AsyncIterator[Server]:
    """A live sync server; every test using it runs on SQLite and on PostgreSQL."""
    url = fresh_postgres() if request.param == "postgres" else None
    srv = Server(tmp_path / "sync.sqlite", url)
    srv.store.set_event(EVENT, Keyring_json(tickets.key))
    await srv.start()
    yield srv
    try:
        await asyncio.wait_for(srv.stop(), 30)
    except TimeoutError:
        for task in asyncio.all_tasks():
            task.print_stack()
        raise
    srv.store.close()
    if url is not None:
        drop_postgres(url)


def Keyring_json(key: SigningKey) -> dict[str, Any]:
    from ticket_format import Keyring

    return Keyring([key.trusted()]).to_json()


@pytest.fixture
def make_gate(tmp_path: Path, server: Server) -> Iterator[Any]:
    gates: list[Gate] = []

    def make(gate_id: str, url: str | None = None, **settings: Any) -> Gate:
        device_id, credential = server.enrol(gate_id)
        store = GateStore.open(tmp_path / f"{gate_id}.sqlite")
        config = GateConfig(gate_id=gate_id, event_id=EVENT, device_id=device_id)
        table = {"url": url or server.url, "credential": credential, "poll_interval": 0.5, **settings}
        client = SyncClient(
            store=store,
            config=SimpleNamespace(sync=table, source=None, gate=config),
            settings=SyncSettings(table),
        )
        gate = Gate(gate_id, store, ScanPipeline(store, config), client, device_id)
        gates.append(gate)
        return gate

    yield make
    for gate in gates:
        gate.store.close()


async def wait_for(predicate: Any, timeout: float = 15.0, interval: float = 0.02) -> None:
    """Poll ``predicate`` (sync or async) until true; fail with the timeout otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)


async def post_json(url: str, body: Any, credential: str | None = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {credential}"} if credential else {}
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json=body, headers=headers) as resp,
    ):
        return resp.status, await resp.json()


class Proxy:
    """A TCP proxy on loopback that the test controls: pass, drop answers, or stall.

    ``drop_responses``: requests reach the server, but the connection is cut as soon as the
    server answers, so the client never sees the acknowledgement (the worst case for
    idempotency). ``stall``: bytes are swallowed both ways until the mode changes.
    """

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.mode = "pass"
        self.cut = 0
        self.connections = 0
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port, reuse_address=True)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            for writer in list(self.writers):
                writer.close()
            await self.server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self.writers.update((writer, up_writer))

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, answers: bool) -> None:
            try:
                while data := await src.read(65536):
                    while self.mode == "stall":
                        await asyncio.sleep(0.05)
                    if answers and self.mode == "drop_responses":
                        self.cut += 1
                        break
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                for w in (writer, up_writer):
                    w.close()
                    self.writers.discard(w)

        await asyncio.gather(pipe(reader, up_writer, False), pipe(up_reader, writer, True))
