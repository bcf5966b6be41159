"""The sync server's database adapter, one module per job, behind one facade.

| module | job |
|---|---|
| ``base`` | engine, the dialect's upsert, the ticket change cursor |
| ``tickets`` | events, ticket states (import, feed), snapshot pages, deltas |
| ``devices`` | enrolment codes, devices, last-seen state, revocation, out-of-scope attempts |
| ``scans`` | idempotent ingest within the device's scope, reconciliation |
| ``stats`` | the dashboard's, ``/api/stats``' and ``/metrics``' numbers |
| ``organisers`` | organiser accounts and sessions |
| ``feed_state`` | the box office feed's cursor and the check-ins still to report |

:class:`ServerStore` holds one of each (``store.tickets``, ``store.device_store``,
``store.scans``, ``store.statistics``, ``store.organisers``, ``store.feed``) and keeps the flat
methods the web app, the CLI, the benchmarks and the tests call, each a one-line hand-over.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import Engine

from sync_server import db
from sync_server.scan_time import TimeWindow
from sync_server.store.base import SEQ, Database
from sync_server.store.devices import (
    DEFAULT_CODE_TTL,
    ONLINE_WINDOW,
    Device,
    DeviceStore,
    EnrolError,
    UnknownEvent,
)
from sync_server.store.feed_state import FeedStateStore, Report, conflict_checkin_id
from sync_server.store.organisers import SESSION_TTL, OrganiserStore
from sync_server.store.scans import IngestResult, OutOfScope, ScanStore
from sync_server.store.stats import StatsStore
from sync_server.store.tickets import NotFound, TicketScope, TicketStore
from wire.snapshot import SnapshotHeader, TicketRecord
from wire.sync_api import DeltaPage, Enrolment, ScanBatch

__all__ = [
    "DEFAULT_CODE_TTL",
    "ONLINE_WINDOW",
    "SEQ",
    "Device",
    "EnrolError",
    "IngestResult",
    "NotFound",
    "OutOfScope",
    "Report",
    "ServerStore",
    "TicketScope",
    "UnknownEvent",
    "conflict_checkin_id",
]


class ServerStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.database = Database(engine)
        self.dialect = self.database.dialect
        self.tickets = TicketStore(self.database)
        self.device_store = DeviceStore(self.database)
        self.scans = ScanStore(self.database, self.device_store)
        self.statistics = StatsStore(self.database, self.device_store)
        self.session_names: dict[str, str] = {}
        """Session id -> name, as the box office's keyring last said (for the dashboards)."""
        self.organisers = OrganiserStore(self.database)
        self.feed = FeedStateStore(self.database)

    @classmethod
    def open(cls, url: str) -> ServerStore:
        return cls(db.make_engine(url))

    def close(self) -> None:
        self.engine.dispose()

    def cursor(self) -> int:
        return self.database.cursor()

    # ------------------------------------------------------------ events and tickets

    def set_event(
        self,
        event_id: str,
        keyring: Mapping[str, Any],
        *,
        session_id: str | None = None,
        identity_key: str | None = None,
        rules: Mapping[str, Any] | None = None,
        name: str | None = None,
    ) -> None:
        self.tickets.set_event(
            event_id, keyring, session_id=session_id, identity_key=identity_key, rules=rules, name=name
        )

    def event(self, event_id: str) -> dict[str, Any] | None:
        return self.tickets.event(event_id)

    def events(self) -> list[str]:
        return self.tickets.events()

    def upsert_tickets(self, records: Iterable[TicketRecord], *, batch_size: int = 5000) -> int:
        return self.tickets.upsert_tickets(records, batch_size=batch_size)

    def snapshot_header(self, event_id: str) -> SnapshotHeader:
        return self.tickets.snapshot_header(event_id)

    def iter_tickets(
        self, event_id: str, after: str | None = None, page: int = 5000
    ) -> Iterator[TicketRecord]:
        return self.tickets.iter_tickets(event_id, after, page)

    def ticket_count(self, event_id: str, after: str | None = None) -> int:
        return self.tickets.ticket_count(event_id, after)

    def deltas(self, event_id: str, after: int, limit: int = 1000) -> DeltaPage:
        return self.tickets.deltas(event_id, after, limit)

    # ------------------------------------------------------------ enrolment and devices

    def create_enrol_code(
        self,
        event_id: str,
        gate_id: str,
        direction: str = "in",
        zones: Sequence[str] = (),
        ttl: float = DEFAULT_CODE_TTL,
    ) -> str:
        return self.device_store.create_enrol_code(event_id, gate_id, direction, zones, ttl)

    def enrol(self, code: str, name: str | None = None, software_version: str | None = None) -> Enrolment:
        return self.device_store.enrol(code, name, software_version)

    def authenticate(self, credential: str) -> Device | None:
        return self.device_store.authenticate(credential)

    def touch(
        self,
        device_id: str,
        *,
        cursor: str | None = None,
        backlog: int | None = None,
        version: str | None = None,
        clock_offset: float | None = None,
    ) -> None:
        self.device_store.touch(
            device_id, cursor=cursor, backlog=backlog, version=version, clock_offset=clock_offset
        )

    def devices(self, online_ids: Iterable[str] = ()) -> list[dict[str, Any]]:
        return self.device_store.devices(online_ids)

    def revoke_device(self, device_id: str) -> bool:
        return self.device_store.revoke_device(device_id)

    # ------------------------------------------------------------ scans and statistics

    def ingest(
        self, device: Device, batch: ScanBatch, *, window: TimeWindow | None = None, now: float | None = None
    ) -> IngestResult:
        return self.scans.ingest(device, batch, window=window, now=now)

    def scan_count(self, event_id: str | None = None) -> int:
        return self.scans.scan_count(event_id)

    def stats(
        self, event_id: str, online_ids: Iterable[str] = (), now: float | None = None
    ) -> dict[str, Any]:
        stats = self.statistics.stats(event_id, online_ids, now)
        event = self.tickets.event(event_id) or {}
        session_id = event.get("session_id")
        stats["event_name"] = event.get("name") or None
        stats["session_id"] = session_id
        stats["session_name"] = self.session_names.get(str(session_id)) if session_id else None
        return stats

    # ------------------------------------------------------------ organisers

    def add_organiser(self, username: str, password: str) -> None:
        self.organisers.add_organiser(username, password)

    def login(self, username: str, password: str, ttl: float = SESSION_TTL) -> str | None:
        return self.organisers.login(username, password, ttl)

    def session_user(self, token: str) -> str | None:
        return self.organisers.session_user(token)

    def logout(self, token: str) -> None:
        self.organisers.logout(token)
