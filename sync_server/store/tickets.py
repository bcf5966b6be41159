"""Events and ticket states: import and feed upserts with a change cursor, snapshot and deltas."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select

from sync_server import db
from sync_server.store.base import Database
from ticket_format import Keyring
from wire.snapshot import SnapshotHeader, TicketRecord
from wire.sync_api import DeltaPage

_TICKET_FIELDS = (
    "ticket_id",
    "version",
    "event_id",
    "session_id",
    "zone",
    "seat",
    "ticket_type",
    "status",
    "real_name",
    "identity_sealed",
    "used_at",
    "used_gate",
    "bound_payload",
)


class NotFound(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class TicketScope:
    """What the scope rules need to know of a ticket: whose event, session and zone it is."""

    event_id: str
    session_id: str | None
    zone: str | None


def _record(row: Any) -> TicketRecord:
    return TicketRecord(
        ticket_id=row.ticket_id,
        version=row.version,
        event_id=row.event_id,
        session_id=row.session_id,
        zone=row.zone,
        seat=row.seat,
        ticket_type=row.ticket_type,
        status=row.status,
        real_name=bool(row.real_name),
        identity_sealed=row.identity_sealed,
        used_at=row.used_at,
        used_gate=row.used_gate,
        bound_payload=row.bound_payload,
    )


def _same_state(a: TicketRecord, b: TicketRecord) -> bool:
    """Equal apart from use (which is the server's own fact, not the box office's)."""
    return all(
        str(getattr(a, n)) == str(getattr(b, n)) for n in _TICKET_FIELDS if n not in ("used_at", "used_gate")
    )


class TicketStore:
    def __init__(self, database: Database) -> None:
        self.db = database
        self.engine = database.engine

    # ------------------------------------------------------------ events

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
        Keyring.from_json(dict(keyring))  # refuse a bad keyring here, not at every gate
        values: dict[str, Any] = {
            "event_id": event_id,
            "session_id": session_id,
            "keyring": dict(keyring),
            "identity_key": identity_key,
            "rules": dict(rules or {}),
        }
        if name is not None:  # the event's name from the box office (dashboards show it)
            values["name"] = name
        stmt = self.db.insert(db.events).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=["event_id"], set_={k: stmt.excluded[k] for k in values if k != "event_id"}
        )
        with self.engine.begin() as conn:
            conn.execute(stmt)

    def event(self, event_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(db.events).where(db.events.c.event_id == event_id)).first()
        return None if row is None else dict(row._mapping)

    def _own_session(self, event_id: str) -> ColumnElement[bool]:
        """What a device of ``event_id`` may read: tickets of the event's own session (or of no
        session), never another session's, whatever the feed brought in (contract 4, scope)."""
        t = db.tickets
        with self.engine.connect() as conn:
            session = conn.execute(
                select(db.events.c.session_id).where(db.events.c.event_id == event_id)
            ).scalar_one_or_none()
        if session is None:
            return t.c.event_id == event_id
        return (t.c.event_id == event_id) & or_(t.c.session_id.is_(None), t.c.session_id == session)

    def events(self) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(db.events.c.event_id).order_by(db.events.c.event_id)).scalars())

    # ------------------------------------------------------------ tickets

    def upsert_tickets(self, records: Iterable[TicketRecord], *, batch_size: int = 5000) -> int:
        """Store full ticket states (import or feed); each changed ticket gets a new cursor value.

        A record older than what is stored (lower version) is ignored, so a replayed import
        never undoes a re-issue. ``used_at``/``used_gate`` are the server's own facts (from
        scans) and are kept. Revocation time is noted for reconciliation.
        """
        total = 0
        batch: list[TicketRecord] = []
        for record in records:
            batch.append(record)
            if len(batch) >= batch_size:
                total += self._upsert_batch(batch)
                batch = []
        if batch:
            total += self._upsert_batch(batch)
        return total

    def _upsert_batch(self, records: Sequence[TicketRecord]) -> int:
        now = time.time()
        latest: dict[str, TicketRecord] = {}
        for record in records:
            old = latest.get(record.ticket_id)
            if old is None or record.version >= old.version:
                latest[record.ticket_id] = record
        t = db.tickets
        with self.engine.begin() as conn:
            current = {
                row.ticket_id: row
                for row in conn.execute(select(t).where(t.c.ticket_id.in_(list(latest)))).fetchall()
            }
            rows = []
            for ticket_id, record in latest.items():
                old_row = current.get(ticket_id)
                if old_row is not None:
                    if record.version < old_row.version:
                        continue
                    if _same_state(_record(old_row), record):
                        continue
                revoked_at = None
                if record.status != "valid":
                    revoked_at = old_row.revoked_at if old_row is not None and old_row.revoked_at else now
                rows.append(
                    {
                        **{name: getattr(record, name) for name in _TICKET_FIELDS},
                        "event_id": str(record.event_id),
                        "session_id": None if record.session_id is None else str(record.session_id),
                        "used_at": old_row.used_at if old_row is not None else None,
                        "used_gate": old_row.used_gate if old_row is not None else None,
                        "revoked_at": revoked_at,
                    }
                )
            if not rows:
                return 0
            first = self.db.next_seq(conn, len(rows))
            for offset, row in enumerate(rows):
                row["seq"] = first + offset
            stmt = self.db.insert(t)
            stmt = stmt.on_conflict_do_update(
                index_elements=["ticket_id"],
                set_={c.name: stmt.excluded[c.name] for c in t.c if c.name != "ticket_id"},
            )
            conn.execute(stmt, rows)
        return len(rows)

    # ------------------------------------------------------------ snapshot and deltas

    def snapshot_header(self, event_id: str) -> SnapshotHeader:
        event = self.event(event_id)
        if event is None:
            raise NotFound(f"no ticket data for event {event_id!r} yet (run sync-server import)")
        return SnapshotHeader(
            event_id=event_id,
            session_id=event["session_id"],
            keyring=event["keyring"],
            identity_key=event["identity_key"],
            rules=event["rules"] or {},
            cursor=str(self.db.cursor()),
            created_at=int(time.time()),
        )

    def iter_tickets(
        self, event_id: str, after: str | None = None, page: int = 5000
    ) -> Iterator[TicketRecord]:
        """Every ticket of the event in id order, read in keyset pages (never all in memory)."""
        t = db.tickets
        columns = [t.c[name] for name in _TICKET_FIELDS]
        last = after
        own = self._own_session(event_id)
        while True:
            query = select(*columns).where(own)
            if last is not None:
                query = query.where(t.c.ticket_id > last)
            with self.engine.connect() as conn:
                rows = conn.execute(query.order_by(t.c.ticket_id).limit(page)).fetchall()
            for row in rows:
                yield _record(row)
            if len(rows) < page:
                return
            last = rows[-1].ticket_id

    def ticket_count(self, event_id: str, after: str | None = None) -> int:
        t = db.tickets
        query = select(func.count()).select_from(t).where(t.c.event_id == event_id)
        if after is not None:
            query = query.where(t.c.ticket_id > after)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def deltas(self, event_id: str, after: int, limit: int = 1000) -> DeltaPage:
        t = db.tickets
        own = self._own_session(event_id)
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t).where(own, t.c.seq > after).order_by(t.c.seq).limit(limit + 1)
            ).fetchall()
            head = self.db.head(conn)
        more = len(rows) > limit
        rows = rows[:limit]
        cursor = rows[-1].seq if more else max(head, after)
        return DeltaPage(str(after), str(cursor), tuple(_record(r) for r in rows), more)
