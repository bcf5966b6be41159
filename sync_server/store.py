"""The sync server's database adapter: devices, ticket states, the merged scan log, statistics.

Synchronous SQLAlchemy Core; the web app runs these methods in one worker thread so the
event loop never blocks on the database and SQLite sees one writer at a time.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from sync_server import auth, db
from sync_server.reconcile import CONFLICT, ENTRY, REFUSED, ScanFact, classify
from ticket_format import Keyring
from wire.snapshot import SnapshotHeader, TicketRecord
from wire.sync_api import DeltaPage, Enrolment, Scan, ScanAck, ScanBatch

SEQ = "ticket_seq"
DEFAULT_CODE_TTL = 24 * 3600.0
ONLINE_WINDOW = 30.0
"""A device seen within this many seconds (or with its push channel open) counts as online."""

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
)


class EnrolError(Exception):
    """An enrolment code that cannot be used; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class NotFound(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class Device:
    device_id: str
    event_id: str
    gate_id: str
    direction: str
    zones: tuple[str, ...]
    revoked: bool


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
    )


def _same_state(a: TicketRecord, b: TicketRecord) -> bool:
    """Equal apart from use (which is the server's own fact, not the box office's)."""
    return all(
        str(getattr(a, n)) == str(getattr(b, n)) for n in _TICKET_FIELDS if n not in ("used_at", "used_gate")
    )


class ServerStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        with engine.begin() as conn:
            if conn.execute(select(db.counters.c.value).where(db.counters.c.name == SEQ)).first() is None:
                conn.execute(db.counters.insert().values(name=SEQ, value=0))

    @classmethod
    def open(cls, url: str) -> ServerStore:
        return cls(db.make_engine(url))

    def close(self) -> None:
        self.engine.dispose()

    # ------------------------------------------------------------ helpers

    def _insert(self, table: Any) -> Any:
        """INSERT that updates on primary-key conflict, for both dialects."""
        return (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(table)

    @staticmethod
    def _next_seq(conn: Connection, count: int) -> int:
        """Reserve ``count`` cursor values; returns the first. The row lock orders writers."""
        last = conn.execute(
            update(db.counters)
            .where(db.counters.c.name == SEQ)
            .values(value=db.counters.c.value + count)
            .returning(db.counters.c.value)
        ).scalar_one()
        return int(last) - count + 1

    def cursor(self) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(select(db.counters.c.value).where(db.counters.c.name == SEQ)).scalar_one()
            )

    # ------------------------------------------------------------ events and tickets

    def set_event(
        self,
        event_id: str,
        keyring: Mapping[str, Any],
        *,
        session_id: str | None = None,
        identity_key: str | None = None,
        rules: Mapping[str, Any] | None = None,
    ) -> None:
        Keyring.from_json(dict(keyring))  # refuse a bad keyring here, not at every gate
        values = {
            "event_id": event_id,
            "session_id": session_id,
            "keyring": dict(keyring),
            "identity_key": identity_key,
            "rules": dict(rules or {}),
        }
        stmt = self._insert(db.events).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=["event_id"], set_={k: stmt.excluded[k] for k in values if k != "event_id"}
        )
        with self.engine.begin() as conn:
            conn.execute(stmt)

    def event(self, event_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(db.events).where(db.events.c.event_id == event_id)).first()
        return None if row is None else dict(row._mapping)

    def events(self) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(db.events.c.event_id).order_by(db.events.c.event_id)).scalars())

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
            first = self._next_seq(conn, len(rows))
            for offset, row in enumerate(rows):
                row["seq"] = first + offset
            stmt = self._insert(t)
            stmt = stmt.on_conflict_do_update(
                index_elements=["ticket_id"],
                set_={c.name: stmt.excluded[c.name] for c in t.c if c.name != "ticket_id"},
            )
            conn.execute(stmt, rows)
        return len(rows)

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
            cursor=str(self.cursor()),
            created_at=int(time.time()),
        )

    def iter_tickets(
        self, event_id: str, after: str | None = None, page: int = 5000
    ) -> Iterator[TicketRecord]:
        """Every ticket of the event in id order, read in keyset pages (never all in memory)."""
        t = db.tickets
        columns = [t.c[name] for name in _TICKET_FIELDS]
        last = after
        while True:
            query = select(*columns).where(t.c.event_id == event_id)
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
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t).where(t.c.event_id == event_id, t.c.seq > after).order_by(t.c.seq).limit(limit + 1)
            ).fetchall()
            head = int(
                conn.execute(select(db.counters.c.value).where(db.counters.c.name == SEQ)).scalar_one()
            )
        more = len(rows) > limit
        rows = rows[:limit]
        cursor = rows[-1].seq if more else max(head, after)
        return DeltaPage(str(after), str(cursor), tuple(_record(r) for r in rows), more)

    # ------------------------------------------------------------ enrolment and devices

    def create_enrol_code(
        self,
        event_id: str,
        gate_id: str,
        direction: str = "in",
        zones: Sequence[str] = (),
        ttl: float = DEFAULT_CODE_TTL,
    ) -> str:
        if direction not in ("in", "out"):
            raise ValueError("direction must be 'in' or 'out'")
        code = auth.new_code()
        now = time.time()
        with self.engine.begin() as conn:
            conn.execute(
                db.enrol_codes.insert().values(
                    code_hash=auth.token_hash(auth.normalise_code(code)),
                    event_id=event_id,
                    gate_id=gate_id,
                    direction=direction,
                    zones=list(zones),
                    created_at=now,
                    expires_at=now + ttl,
                )
            )
        return code

    def enrol(self, code: str, name: str | None = None, software_version: str | None = None) -> Enrolment:
        """Spend a code on a new device: one conditional update, so a code works exactly once."""
        c = db.enrol_codes
        code_hash = auth.token_hash(auth.normalise_code(code))
        now = time.time()
        device_id = uuid.uuid4().hex[:16]
        credential = auth.new_token(f"gate-{device_id}")
        with self.engine.begin() as conn:
            row = conn.execute(select(c).where(c.c.code_hash == code_hash)).first()
            if row is None:
                raise EnrolError(403, "unknown enrolment code")
            if row.used_at is not None:
                raise EnrolError(409, "this enrolment code was already used; ask venue IT for a new one")
            if row.expires_at < now:
                raise EnrolError(410, "this enrolment code has expired; ask venue IT for a new one")
            spent = conn.execute(
                update(c)
                .where(c.c.code_hash == code_hash, c.c.used_at.is_(None))
                .values(used_at=now, device_id=device_id)
            ).rowcount
            if spent != 1:
                raise EnrolError(409, "this enrolment code was already used; ask venue IT for a new one")
            conn.execute(
                db.devices.insert().values(
                    device_id=device_id,
                    token_hash=auth.token_hash(credential),
                    event_id=row.event_id,
                    gate_id=row.gate_id,
                    direction=row.direction,
                    zones=row.zones,
                    name=name,
                    created_at=now,
                    last_seen=now,
                    software_version=software_version,
                )
            )
            event = conn.execute(
                select(db.events.c.session_id).where(db.events.c.event_id == row.event_id)
            ).first()
        return Enrolment(
            device_id=device_id,
            credential=credential,
            event_id=row.event_id,
            gate_id=row.gate_id,
            direction=row.direction,
            allowed_zones=tuple(row.zones or ()),
            session_id=None if event is None else event.session_id,
        )

    def authenticate(self, credential: str) -> Device | None:
        d = db.devices
        with self.engine.connect() as conn:
            row = conn.execute(select(d).where(d.c.token_hash == auth.token_hash(credential))).first()
        if row is None:
            return None
        return Device(
            row.device_id,
            row.event_id,
            row.gate_id,
            row.direction,
            tuple(row.zones or ()),
            row.revoked_at is not None,
        )

    def touch(
        self,
        device_id: str,
        *,
        cursor: str | None = None,
        backlog: int | None = None,
        version: str | None = None,
    ) -> None:
        values: dict[str, Any] = {"last_seen": time.time()}
        if cursor is not None:
            values["cursor"] = cursor
        if backlog is not None:
            values["backlog"] = backlog
        if version is not None:
            values["software_version"] = version
        with self.engine.begin() as conn:
            conn.execute(update(db.devices).where(db.devices.c.device_id == device_id).values(**values))

    def devices(self, online_ids: Iterable[str] = ()) -> list[dict[str, Any]]:
        online = set(online_ids)
        now = time.time()
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(db.devices).order_by(db.devices.c.gate_id, db.devices.c.device_id)
            ).fetchall()
        out = []
        for row in rows:
            item = dict(row._mapping)
            item.pop("token_hash")
            item["zones"] = list(row.zones or ())
            item["revoked"] = row.revoked_at is not None
            item["online"] = not item["revoked"] and (
                row.device_id in online or (row.last_seen is not None and now - row.last_seen < ONLINE_WINDOW)
            )
            out.append(item)
        return out

    def revoke_device(self, device_id: str) -> bool:
        d = db.devices
        with self.engine.begin() as conn:
            return bool(
                conn.execute(
                    update(d)
                    .where(d.c.device_id == device_id, d.c.revoked_at.is_(None))
                    .values(revoked_at=time.time())
                ).rowcount
            )

    # ------------------------------------------------------------ scans

    def ingest(self, device: Device, batch: ScanBatch) -> tuple[ScanAck, list[Scan]]:
        """Store a batch durably and reconcile the tickets it touches; returns (ack, new scans).

        Idempotent: scans already held are acknowledged again and not stored twice. The scan's
        own time (``at``) and its arrival time are both kept; nothing in a scan is rewritten,
        only its derived ``outcome`` (entry, conflict, ...) is recomputed as earlier offline
        scans arrive.
        """
        unique: dict[str, Scan] = {}
        for scan in batch.scans:
            unique.setdefault(scan.scan_id, scan)
        ids = list(unique)
        s, _t = db.scans, db.tickets
        now = time.time()
        with self.engine.begin() as conn:
            known = (
                set(conn.execute(select(s.c.scan_id).where(s.c.scan_id.in_(ids))).scalars()) if ids else set()
            )
            new = [scan for scan_id, scan in unique.items() if scan_id not in known]
            if new:
                conn.execute(
                    s.insert(),
                    [
                        {
                            "scan_id": x.scan_id,
                            "event_id": device.event_id,
                            "device_id": device.device_id,
                            "gate": x.gate,
                            "device": x.device,
                            "direction": x.direction,
                            "at": x.at,
                            "received_at": now,
                            "verdict": x.verdict,
                            "admit": x.admit,
                            "reason": x.reason,
                            "source": x.source,
                            "ticket_id": x.ticket_id,
                            "ticket_version": x.ticket_version,
                            "details": dict(x.details),
                            "outcome": REFUSED if x.admit is False else "pending",
                        }
                        for x in new
                    ],
                )
                touched = sorted({x.ticket_id for x in new if x.ticket_id and x.admit is not False})
                if touched:
                    self._reconcile(conn, device.event_id, touched)
        return ScanAck(tuple(ids), len(known)), new

    def _reconcile(self, conn: Connection, event_id: str, ticket_ids: Sequence[str]) -> None:
        s, t = db.scans, db.tickets
        event = conn.execute(select(db.events.c.rules).where(db.events.c.event_id == event_id)).first()
        reentry = bool(event and (event.rules or {}).get("reentry") in ("after_exit", "any"))
        facts: dict[str, list[ScanFact]] = {tid: [] for tid in ticket_ids}
        current: dict[str, tuple[str, str | None, str | None]] = {}
        gates: dict[str, tuple[float, str]] = {}
        for row in conn.execute(
            select(
                s.c.scan_id,
                s.c.ticket_id,
                s.c.at,
                s.c.verdict,
                s.c.admit,
                s.c.outcome,
                s.c.conflict_kind,
                s.c.conflicts_with,
                s.c.gate,
            ).where(s.c.ticket_id.in_(ticket_ids))
        ):
            facts[row.ticket_id].append(ScanFact(row.scan_id, row.at, row.verdict, row.admit))
            current[row.scan_id] = (row.outcome, row.conflict_kind, row.conflicts_with)
            gates[row.scan_id] = (row.at, row.gate)
        tickets = {
            row.ticket_id: row
            for row in conn.execute(
                select(t.c.ticket_id, t.c.revoked_at, t.c.used_at, t.c.used_gate).where(
                    t.c.ticket_id.in_(ticket_ids)
                )
            )
        }
        changes = []
        uses = []
        for ticket_id, ticket_scans in facts.items():
            ticket = tickets.get(ticket_id)
            labels = classify(
                ticket_scans,
                revoked_at=None if ticket is None else ticket.revoked_at,
                reentry_after_exit=reentry,
            )
            first_entry = None
            for label in labels:
                if (label.outcome, label.conflict_kind, label.conflicts_with) != current[label.scan_id]:
                    changes.append(
                        {
                            "b_id": label.scan_id,
                            "b_outcome": label.outcome,
                            "b_kind": label.conflict_kind,
                            "b_with": label.conflicts_with,
                        }
                    )
                if label.outcome == ENTRY and first_entry is None:
                    first_entry = label.scan_id
            if ticket is not None and first_entry is not None:
                at, gate = gates[first_entry]
                if (ticket.used_at, ticket.used_gate) != (at, gate):
                    uses.append((ticket_id, at, gate))
        if changes:
            conn.execute(
                update(s)
                .where(s.c.scan_id == bindparam("b_id"))
                .values(
                    outcome=bindparam("b_outcome"),
                    conflict_kind=bindparam("b_kind"),
                    conflicts_with=bindparam("b_with"),
                ),
                changes,
            )
        if uses:
            first = self._next_seq(conn, len(uses))
            conn.execute(
                update(t)
                .where(t.c.ticket_id == bindparam("b_id"))
                .values(used_at=bindparam("b_at"), used_gate=bindparam("b_gate"), seq=bindparam("b_seq")),
                [
                    {"b_id": tid, "b_at": at, "b_gate": gate, "b_seq": first + i}
                    for i, (tid, at, gate) in enumerate(uses)
                ],
            )

    def scan_count(self, event_id: str | None = None) -> int:
        query = select(func.count()).select_from(db.scans)
        if event_id is not None:
            query = query.where(db.scans.c.event_id == event_id)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    # ------------------------------------------------------------ statistics (dashboard, API, metrics)

    def stats(
        self, event_id: str, online_ids: Iterable[str] = (), now: float | None = None
    ) -> dict[str, Any]:
        now = time.time() if now is None else now
        s, t = db.scans, db.tickets
        with self.engine.connect() as conn:
            sold = int(
                conn.execute(
                    select(func.count()).select_from(t).where(t.c.event_id == event_id, t.c.status == "valid")
                ).scalar_one()
            )
            entries = int(
                conn.execute(
                    select(func.count()).select_from(s).where(s.c.event_id == event_id, s.c.outcome == ENTRY)
                ).scalar_one()
            )
            by_gate = {
                row.gate: row.n
                for row in conn.execute(
                    select(s.c.gate, func.count().label("n"))
                    .where(s.c.event_id == event_id, s.c.outcome == ENTRY)
                    .group_by(s.c.gate)
                )
            }
            sold_zone = {
                row.zone or "": row.n
                for row in conn.execute(
                    select(t.c.zone, func.count().label("n"))
                    .where(t.c.event_id == event_id, t.c.status == "valid")
                    .group_by(t.c.zone)
                )
            }
            entered_zone = {
                row.zone or "": row.n
                for row in conn.execute(
                    select(t.c.zone, func.count().label("n"))
                    .select_from(s.join(t, s.c.ticket_id == t.c.ticket_id))
                    .where(s.c.event_id == event_id, s.c.outcome == ENTRY)
                    .group_by(t.c.zone)
                )
            }
            minute = func.floor(s.c.at / 60).label("minute")
            since = now - 3600
            per_minute = {
                int(row.minute): row.n
                for row in conn.execute(
                    select(minute, func.count().label("n"))
                    .where(s.c.event_id == event_id, s.c.outcome == ENTRY, s.c.at >= since)
                    .group_by(minute)
                )
            }
            refusals = {
                row.verdict: row.n
                for row in conn.execute(
                    select(s.c.verdict, func.count().label("n"))
                    .where(s.c.event_id == event_id, s.c.outcome == REFUSED, s.c.at >= since)
                    .group_by(s.c.verdict)
                )
            }
            recent_refusals = [
                dict(row._mapping)
                for row in conn.execute(
                    select(s.c.scan_id, s.c.at, s.c.gate, s.c.verdict, s.c.reason, s.c.ticket_id)
                    .where(s.c.event_id == event_id, s.c.outcome == REFUSED)
                    .order_by(s.c.at.desc())
                    .limit(20)
                )
            ]
            other = s.alias("first")
            conflicts = [
                dict(row._mapping)
                for row in conn.execute(
                    select(
                        s.c.scan_id,
                        s.c.ticket_id,
                        s.c.conflict_kind.label("kind"),
                        s.c.at,
                        s.c.gate,
                        s.c.device,
                        s.c.received_at,
                        other.c.scan_id.label("first_scan_id"),
                        other.c.at.label("first_at"),
                        other.c.gate.label("first_gate"),
                        other.c.device.label("first_device"),
                    )
                    .select_from(s.outerjoin(other, s.c.conflicts_with == other.c.scan_id))
                    .where(s.c.event_id == event_id, s.c.outcome == CONFLICT)
                    .order_by(s.c.at.desc())
                    .limit(100)
                )
            ]
            conflict_count = int(
                conn.execute(
                    select(func.count())
                    .select_from(s)
                    .where(s.c.event_id == event_id, s.c.outcome == CONFLICT)
                ).scalar_one()
            )
            scans_total = int(
                conn.execute(select(func.count()).select_from(s).where(s.c.event_id == event_id)).scalar_one()
            )
        zones = sorted(set(sold_zone) | set(entered_zone))
        start = int(now // 60) - 59
        devices = [d for d in self.devices(online_ids) if d["event_id"] == event_id]
        return {
            "event_id": event_id,
            "generated_at": now,
            "sold": sold,
            "entries": entries,
            "scans": scans_total,
            "by_gate": [{"gate": g, "entries": n} for g, n in sorted(by_gate.items())],
            "by_zone": [
                {"zone": z, "entries": entered_zone.get(z, 0), "sold": sold_zone.get(z, 0)} for z in zones
            ],
            "per_minute": [
                {"minute": (start + i) * 60, "entries": per_minute.get(start + i, 0)} for i in range(60)
            ],
            "refusals": refusals,
            "recent_refusals": recent_refusals,
            "conflicts": conflicts,
            "conflict_count": conflict_count,
            "devices": [
                {
                    k: d[k]
                    for k in (
                        "device_id",
                        "gate_id",
                        "direction",
                        "online",
                        "backlog",
                        "last_seen",
                        "cursor",
                        "software_version",
                        "revoked",
                    )
                }
                for d in devices
            ],
        }

    # ------------------------------------------------------------ organisers

    def add_organiser(self, username: str, password: str) -> None:
        stmt = self._insert(db.organisers).values(
            username=username, password_hash=auth.hash_password(password), created_at=time.time()
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["username"], set_={"password_hash": stmt.excluded.password_hash}
        )
        with self.engine.begin() as conn:
            conn.execute(stmt)

    def login(self, username: str, password: str, ttl: float = 12 * 3600) -> str | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(db.organisers).where(db.organisers.c.username == username)).first()
        if row is None or not auth.check_password(password, row.password_hash):
            return None
        token = auth.new_token("session")
        with self.engine.begin() as conn:
            conn.execute(
                db.sessions.insert().values(
                    token_hash=auth.token_hash(token), username=username, expires_at=time.time() + ttl
                )
            )
        return token

    def session_user(self, token: str) -> str | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(db.sessions).where(db.sessions.c.token_hash == auth.token_hash(token))
            ).first()
        if row is None or row.expires_at < time.time():
            return None
        return str(row.username)

    def logout(self, token: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(db.sessions.delete().where(db.sessions.c.token_hash == auth.token_hash(token)))
