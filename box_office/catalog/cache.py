"""A short-lived per-process copy of what every sale reads: a session, its event, zones, types.

Why: in an on-sale spike every hold, order and payment used to read the session, the event,
its zones and ticket types again, four to six round trips out of about ten. They change
rarely (an organiser re-prices a zone, moves a sale window, changes a limit), so each process
keeps them for :data:`TTL` seconds.

How stale can it be? A change made through this process clears the copy at commit (an engine
hook sees every write to these tables: ORM flush, bulk or Core statement). A change made by
another worker process is seen here within :data:`TTL` seconds. Nothing about stock depends on
this copy: seats and GA places are always taken by conditional writes in the database, so the
copy can never cause an oversell; at worst a price or limit change reaches a sale a second late.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Delete, Engine, Insert, Update, event, select
from sqlalchemy.orm import Session as Db

from box_office.errors import NotFound
from box_office.store.models import Event, EventKey, Session, SessionGa, TicketType, Zone

TTL = 1.0
_CATALOG_TABLES = frozenset(str(m.__tablename__) for m in (Event, Zone, TicketType, Session, EventKey))
# GA areas are cached too (id, code, zone), but their stock counters change on every GA hold,
# so writes to them do not clear the cache; an area code not in the copy re-reads it instead.


@dataclass(frozen=True)
class ZoneFacts:
    id: int
    code: str
    price_cents: int


@dataclass(frozen=True)
class TypeFacts:
    code: str
    kind: str
    prices: dict[str, int]


@dataclass(frozen=True)
class AreaFacts:
    id: int
    code: str
    zone_id: int


@dataclass(frozen=True)
class SessionFacts:
    """The catalog facts a sale needs, read in one go."""

    id: int
    event_id: int
    name: str
    starts_at: float
    ends_at: float
    currency: str
    real_name: bool
    hold_seconds: int
    sale_starts_at: float
    sale_ends_at: float
    limit_per_account: int | None
    limit_per_device: int | None
    limit_per_id: int | None
    zones: dict[int, ZoneFacts]
    types: dict[str, TypeFacts]  # in id order: the first of a kind is its default
    areas: dict[int, AreaFacts]

    def zone_by_code(self, code: str | None) -> ZoneFacts | None:
        return next((z for z in self.zones.values() if z.code == code), None)

    def area_by_code(self, code: str) -> AreaFacts | None:
        return next((a for a in self.areas.values() if a.code == code), None)


class CatalogCache:
    """Session facts per process, dropped after :data:`TTL` s or on any local catalog write."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._facts: dict[int, tuple[float, SessionFacts]] = {}
        self._generation = 0

    def session(self, db: Db, session_id: int, *, fresh: bool = False) -> SessionFacts:
        """The facts of ``session_id`` (read through ``db`` when not fresh); NotFound if none.

        ``fresh=True`` re-reads them: for a code the copy does not know (a zone, type or GA
        area added a moment ago in another process).
        """
        now = self._clock()
        with self._lock:
            cached = self._facts.get(session_id)
            generation = self._generation
        if cached is not None and now - cached[0] < TTL and not fresh:
            return cached[1]
        facts = _read_facts(db, session_id)
        with self._lock:
            if generation == self._generation:  # no local write cleared the cache meanwhile
                if len(self._facts) > 1000:
                    self._facts.clear()
                self._facts[session_id] = (now, facts)
        return facts

    def clear(self) -> None:
        with self._lock:
            self._facts.clear()
            self._generation += 1

    def watch(self, engine: Engine) -> None:
        """Clear this cache whenever a transaction on ``engine`` commits a catalog change.

        Hooked on the engine, not the ORM session, so that every write is seen: ORM flushes,
        bulk statements and Core statements on the session's connection alike.
        """

        def executed(conn: Connection, statement: Any, *_: Any) -> None:
            table = statement.table if isinstance(statement, Insert | Update | Delete) else None
            if str(getattr(table, "name", "")) in _CATALOG_TABLES:
                conn.info["catalog_changed"] = True

        def committed(conn: Connection) -> None:
            if conn.info.pop("catalog_changed", False):
                self.clear()

        event.listen(engine, "after_execute", executed)
        event.listen(engine, "commit", committed)
        event.listen(engine, "rollback", lambda conn: conn.info.pop("catalog_changed", None))


def _read_facts(db: Db, session_id: int) -> SessionFacts:
    row = db.execute(
        select(Session, Event.currency)
        .join(Event, Event.id == Session.event_id)
        .where(Session.id == session_id)
    ).first()
    if row is None:
        raise NotFound(f"no session {session_id}")
    session, currency = row
    zones = {
        z.id: ZoneFacts(z.id, z.code, z.price_cents)
        for z in db.execute(
            select(Zone.id, Zone.code, Zone.price_cents).where(Zone.event_id == session.event_id)
        )
    }
    types = {
        t.code: TypeFacts(t.code, t.kind, dict(t.prices or {}))
        for t in db.execute(
            select(TicketType.code, TicketType.kind, TicketType.prices)
            .where(TicketType.event_id == session.event_id)
            .order_by(TicketType.id)
        )
    }
    areas = {
        a.id: AreaFacts(a.id, a.code, a.zone_id)
        for a in db.execute(
            select(SessionGa.id, SessionGa.code, SessionGa.zone_id).where(SessionGa.session_id == session_id)
        )
    }
    return SessionFacts(
        id=session.id,
        event_id=session.event_id,
        name=session.name,
        starts_at=session.starts_at,
        ends_at=session.ends_at,
        currency=currency,
        real_name=session.real_name,
        hold_seconds=session.hold_seconds,
        sale_starts_at=session.sale_starts_at,
        sale_ends_at=session.sale_ends_at,
        limit_per_account=session.limit_per_account,
        limit_per_device=session.limit_per_device,
        limit_per_id=session.limit_per_id,
        zones=zones,
        types=types,
        areas=areas,
    )
