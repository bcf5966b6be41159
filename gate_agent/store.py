"""The gate's local store: one SQLite file (WAL, synchronous=FULL) through sqlite-utils.

It holds the snapshot (trusted keys, ticket states, sealed holder identities, event rules), what this
device knows of each ticket's use, and the scan journal. The journal is the one fact the gate
owns (DESIGN.md): a scan row is written in the same transaction that marks the ticket used,
before the verdict is shown, and it never leaves the file until the sync server has
acknowledged it.

Concurrency contract (for the sync client in ``gate_agent.sync``): there is exactly one
connection, guarded by ``store.lock`` (a re-entrant thread lock) that every public method takes.
So any method may be called from any thread. The scan pipeline runs on the agent's event loop
and each decision holds the lock for about a millisecond. :meth:`apply_snapshot` releases the
lock between batches, so scans keep being decided during a 200,000-ticket download; call it (and
any other call that may take long) through ``await asyncio.to_thread(...)`` rather than directly
on the event loop.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from itertools import islice
from pathlib import Path
from typing import Any

import sqlite_utils

from gate_agent.rules import Usage
from gate_agent.samples import scrub_details
from ticket_format import Keyring
from wire.snapshot import SnapshotHeader, TicketRecord

SCHEMA_VERSION = 4
TICKET_COLUMNS = (
    "ticket_id", "version", "event_id", "session_id", "zone", "seat", "ticket_type",
    "status", "real_name", "identity_sealed", "used_at", "used_gate", "bound_payload",
)  # fmt: skip
_USED_AT, _USED_GATE = TICKET_COLUMNS.index("used_at"), TICKET_COLUMNS.index("used_gate")
STATE_DIR_MODE = 0o700
STATE_FILE_MODE = 0o600


def private_state_file(path: Path) -> None:
    """Make ``path``'s directory 0700 and the file itself 0600 (created empty if missing).

    The store holds the journal and the device's keys; no other user of the device reads it.
    """
    directory = path.parent
    directory.mkdir(mode=STATE_DIR_MODE, parents=True, exist_ok=True)
    info = directory.stat()
    if info.st_uid == os.getuid() and not info.st_mode & stat.S_ISVTX:  # never /tmp and the like
        directory.chmod(STATE_DIR_MODE)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, STATE_FILE_MODE))
    path.chmod(STATE_FILE_MODE)


class StoreError(RuntimeError):
    """The store file cannot be used (corrupt, from a newer version, or a different event)."""


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One journalled scan, as stored and as uploaded to the sync server."""

    scan_id: str
    seq: int
    at: float
    verdict: str
    reason: str
    admit: bool | None
    gate: str
    device: str
    direction: str
    source: str
    ticket_id: str | None = None
    ticket_version: int | None = None
    details: dict[str, Any] | None = None
    acked: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class QuarantinedScan:
    """A journalled scan the server refused for good: parked, not lost (see ``quarantine``)."""

    entry: JournalEntry
    quarantined_at: float
    reason: str

    def to_json(self) -> dict[str, Any]:
        data = self.entry.to_json()
        return data | {"quarantined_at": self.quarantined_at, "quarantine_reason": self.reason}


@dataclass(frozen=True, slots=True)
class SnapshotInfo:
    event_id: str | None
    session_id: str | None
    cursor: str | None
    tickets: int
    loaded_at: float | None


def _record_row(record: TicketRecord) -> tuple[Any, ...]:
    return (
        record.ticket_id, record.version, str(record.event_id),
        None if record.session_id is None else str(record.session_id),
        record.zone, record.seat, record.ticket_type, record.status, int(record.real_name),
        record.identity_sealed, record.used_at, record.used_gate, record.bound_payload,
    )  # fmt: skip


def _row_record(row: sqlite3.Row | tuple[Any, ...]) -> TicketRecord:
    (ticket_id, version, event_id, session_id, zone, seat, ticket_type, status, real_name,
     identity_sealed, used_at, used_gate, bound_payload) = row  # fmt: skip
    return TicketRecord(
        ticket_id=ticket_id, version=version, event_id=event_id, session_id=session_id, zone=zone,
        seat=seat, ticket_type=ticket_type, status=status, real_name=bool(real_name),
        identity_sealed=identity_sealed, used_at=used_at, used_gate=used_gate,
        bound_payload=bound_payload,
    )  # fmt: skip


class GateStore:
    """The local store. Open one per process with :meth:`open`; close it on exit."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self.conn = connection
        self.path = path
        self.db = sqlite_utils.Database(connection)
        self.lock = threading.RLock()
        self._keyring: Keyring | None = None
        self._keyring_generation = -1
        self.generation = 0
        """Bumped on every snapshot or keyring change, so callers can refresh caches."""
        self._extra_keys: Keyring | None = None

    # ------------------------------------------------------------ lifecycle

    @classmethod
    def open(cls, path: Path, *, synchronous: str = "FULL") -> GateStore:
        """Open (creating if needed) the store file; ``synchronous`` only changes for benchmarks."""
        if synchronous not in ("FULL", "NORMAL", "EXTRA"):
            raise ValueError("synchronous must be FULL, NORMAL or EXTRA")
        private_state_file(path)
        try:
            conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10)
            # freed pages are zeroed, so a scrubbed or replaced row leaves nothing in the file
            conn.execute("PRAGMA secure_delete=ON")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={synchronous}")
            conn.execute("PRAGMA busy_timeout=10000")
            store = cls(conn, path)
            store._migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open store {path}: {exc}") from None
        for suffix in ("-wal", "-shm"):  # SQLite copies the file's mode; older files may not have it
            sidecar = path.with_name(path.name + suffix)
            if sidecar.exists():
                sidecar.chmod(STATE_FILE_MODE)
        return store

    def close(self) -> None:
        with self.lock:
            self.conn.close()

    def __enter__(self) -> GateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _migrate(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(f"store {self.path} has schema {version}, newer than this agent's")
        if version == SCHEMA_VERSION:
            return
        with self.transaction():
            if version < 1:
                self._create_schema_1()
            if version < 2:
                # quarantine: a scan the server refused for good waits here for a person, never
                # blocking the uploads behind it and never deleted
                self.conn.execute("ALTER TABLE scans ADD COLUMN quarantined_at REAL")
                self.conn.execute("ALTER TABLE scans ADD COLUMN quarantine_reason TEXT")
            if 1 <= version < 3:
                self._migrate_to_sealed_identity()
            if version < 3 and "exited_at" not in self.db.table("usage").columns_dict:
                # when the holder last left: an entry older than it (another gate's, arriving
                # late) no longer puts the holder back inside
                self.conn.execute("ALTER TABLE usage ADD COLUMN exited_at REAL")
            if version < 4 and "bound_payload" not in self.db.table("tickets").columns_dict:
                # the signed bytes of phone-bound tickets, for compact EN3 codes (empty until
                # the next snapshot or delta brings them)
                self.conn.execute("ALTER TABLE tickets ADD COLUMN bound_payload TEXT")
            self.conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        if 1 <= version < 3:
            # the old rows' pages are zeroed (secure_delete), VACUUM rewrites the file and the
            # checkpoint empties the WAL, so no copy of a digest or a typed ID survives on disk
            self.conn.execute("VACUUM")
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def _migrate_to_sealed_identity(self) -> None:
        """Schema 3: no holder digests in clear, no raw text of non-ticket scans.

        The tickets table loses ``id_digest``/``name_digest`` for ``identity_sealed`` (empty
        until the next snapshot, since the seals come from the box office); journalled
        ``details.text`` samples become descriptions (:func:`gate_agent.samples.scrub_details`),
        acknowledged or not.
        """
        self._create_tickets("tickets_v3")
        kept = [c for c in TICKET_COLUMNS if c not in ("identity_sealed", "bound_payload")]
        self.conn.execute(f"INSERT INTO tickets_v3 ({', '.join(kept)}) SELECT {', '.join(kept)} FROM tickets")
        self.conn.execute("DROP TABLE tickets")
        self.conn.execute("ALTER TABLE tickets_v3 RENAME TO tickets")
        rows = self.conn.execute("SELECT seq, details FROM scans WHERE details LIKE '%\"text\"%'").fetchall()
        for seq, text in rows:
            details = json.loads(text)
            if isinstance(details, dict):
                cleaned = scrub_details(details)
                self.conn.execute(
                    "UPDATE scans SET details = ? WHERE seq = ?",
                    (None if not cleaned else json.dumps(cleaned), seq),
                )

    def _create_schema_1(self) -> None:
        """The tables of schema version 1 (the first release)."""
        self.db.table("meta").create({"key": str, "value": str}, pk="key", if_not_exists=True)
        self._create_tickets("tickets")
        self.db.table("usage").create(
            {"ticket_id": str, "entries": int, "inside": int, "first_at": float, "first_gate": str,
             "last_at": float, "last_gate": str},
            pk="ticket_id", if_not_exists=True,
        )  # fmt: skip
        self.conn.execute(
            """CREATE TABLE IF NOT EXISTS scans (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                scan_id TEXT NOT NULL UNIQUE, at REAL NOT NULL, ticket_id TEXT,
                ticket_version INTEGER, verdict TEXT NOT NULL, reason TEXT NOT NULL,
                admit INTEGER, gate TEXT NOT NULL, device TEXT NOT NULL, direction TEXT NOT NULL,
                source TEXT NOT NULL, details TEXT, acked INTEGER NOT NULL DEFAULT 0, acked_at REAL)"""
        )
        self.conn.execute("CREATE INDEX IF NOT EXISTS scans_pending ON scans (seq) WHERE acked = 0")
        self.conn.execute("CREATE INDEX IF NOT EXISTS scans_ticket ON scans (ticket_id)")
        self.db.table("remote_scans").create(
            {"scan_id": str, "ticket_id": str, "gate": str, "at": float, "direction": str,
             "verdict": str},
            pk="scan_id", if_not_exists=True,
        )  # fmt: skip

    def _create_tickets(self, name: str) -> None:
        self.db.table(name).create(
            {"ticket_id": str, "version": int, "event_id": str, "session_id": str, "zone": str,
             "seat": str, "ticket_type": str, "status": str, "real_name": int,
             "identity_sealed": str, "used_at": float, "used_gate": str, "bound_payload": str},
            pk="ticket_id", if_not_exists=True,
        )  # fmt: skip

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` .. ``COMMIT`` under the lock; rolls back on any exception."""
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def integrity_probe(self) -> None:
        """A cheap read that fails if the file or connection is broken (for the watchdog)."""
        with self.lock:
            self.conn.execute("SELECT count(*) FROM meta").fetchone()

    def integrity_check(self) -> str:
        with self.lock:
            return str(self.conn.execute("PRAGMA integrity_check").fetchone()[0])

    # ------------------------------------------------------------ meta

    def _meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, values: Mapping[str, str | None]) -> None:
        for key, value in values.items():
            if value is None:
                self.conn.execute("DELETE FROM meta WHERE key = ?", (key,))
            else:
                self.conn.execute(
                    "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = ?",
                    (key, value, value),
                )

    def cursor(self) -> str | None:
        """The sync cursor of the last snapshot or delta applied; None before any snapshot."""
        with self.lock:
            return self._meta("cursor")

    def snapshot_info(self) -> SnapshotInfo:
        with self.lock:
            loaded = self._meta("loaded_at")
            count = self.conn.execute("SELECT count(*) FROM tickets").fetchone()[0]
            return SnapshotInfo(
                event_id=self._meta("event_id"),
                session_id=self._meta("session_id"),
                cursor=self._meta("cursor"),
                tickets=int(count),
                loaded_at=None if loaded is None else float(loaded),
            )

    def rules(self) -> dict[str, Any]:
        """Event-wide gate rules from the snapshot header."""
        with self.lock:
            text = self._meta("rules")
        return {} if text is None else dict(json.loads(text))

    def identity_key(self) -> bytes | None:
        """The per-event HMAC key for identity digests, from the snapshot header."""
        with self.lock:
            text = self._meta("identity_key")
        return None if text is None else bytes.fromhex(text)

    def staff_pin_hash(self) -> str | None:
        """The display's staff PIN as an scrypt hash (``gate_agent.display.staff``), or None."""
        with self.lock:
            return self._meta("staff_pin")

    def set_staff_pin_hash(self, pin_hash: str | None) -> None:
        with self.transaction():
            self._set_meta({"staff_pin": pin_hash})

    def record_gate_config(self, config: Mapping[str, Any]) -> None:
        """Keep the gate configuration in force beside the journal (for audits and the sync client)."""
        with self.transaction():
            self._set_meta({"gate_config": json.dumps(dict(config), default=str, sort_keys=True)})

    def gate_config(self) -> dict[str, Any] | None:
        """The configuration recorded by the running agent, or None."""
        with self.lock:
            text = self._meta("gate_config")
        return None if text is None else dict(json.loads(text))

    def set_extra_keys(self, keyring: Keyring | None) -> None:
        """Keys trusted from the config file (``gate.keyring``) besides the snapshot's."""
        with self.lock:
            self._extra_keys = keyring
            self.generation += 1

    def keyring(self) -> Keyring:
        """The trusted public keys: the snapshot's plus any from the config; cached."""
        with self.lock:
            if self._keyring is None or self._keyring_generation != self.generation:
                text = self._meta("keyring")
                ring = Keyring() if text is None else Keyring.from_json(json.loads(text))
                if self._extra_keys is not None:
                    for key in self._extra_keys:
                        ring.add(key)
                self._keyring = ring
                self._keyring_generation = self.generation
            return self._keyring

    # ------------------------------------------------------------ snapshot and deltas

    def apply_snapshot(
        self, header: SnapshotHeader, records: Iterable[TicketRecord], *, batch_size: int = 5000
    ) -> int:
        """Replace every ticket state by a new snapshot, atomically; returns the ticket count.

        Records go into a staging table batch by batch (the lock is released in between, so
        scans go on); only when ``records`` is exhausted without error (for a
        :class:`wire.snapshot.SnapshotReader`, that includes the footer check) does one short
        transaction swap the tables and set the header's cursor. On any error the old snapshot
        stays in force and the error propagates.
        Scans journalled here and other gates' scans are kept: a snapshot never forgets that a
        ticket was used on this device.
        """
        Keyring.from_json(dict(header.keyring))  # refuse a bad keyring before any work
        with self.lock:
            self.conn.execute("DROP TABLE IF EXISTS tickets_new")
            self._create_tickets("tickets_new")
        placeholders = ", ".join("?" for _ in TICKET_COLUMNS)
        insert = f"INSERT OR REPLACE INTO tickets_new ({', '.join(TICKET_COLUMNS)}) VALUES ({placeholders})"
        count = 0
        iterator = iter(records)
        try:
            while True:
                batch = [_record_row(r) for r in islice(iterator, batch_size)]
                if not batch:
                    break
                with self.transaction() as conn:
                    conn.executemany(insert, batch)
                count += len(batch)
        except BaseException:
            with self.lock:
                self.conn.execute("DROP TABLE IF EXISTS tickets_new")
            raise
        with self.transaction() as conn:
            conn.execute("DROP TABLE tickets")
            conn.execute("ALTER TABLE tickets_new RENAME TO tickets")
            self._merge_used(conn, "SELECT ticket_id, used_at, used_gate FROM tickets WHERE used_at > 0")
            self._set_meta(
                {
                    "event_id": str(header.event_id),
                    "session_id": None if header.session_id is None else str(header.session_id),
                    "keyring": json.dumps(dict(header.keyring)),
                    "identity_key": header.identity_key,
                    "rules": json.dumps(dict(header.rules)),
                    "cursor": header.cursor,
                    "loaded_at": repr(time.time()),
                }
            )
            self.generation += 1
        return count

    @staticmethod
    def _merge_used(conn: sqlite3.Connection, select: str, params: Sequence[Any] = ()) -> None:
        """Fold server-known uses (``used_at``/``used_gate``) into local usage, keeping the earliest."""
        conn.execute(
            f"""INSERT INTO usage (ticket_id, entries, inside, first_at, first_gate, last_at, last_gate)
                SELECT ticket_id, 1, 1, used_at, used_gate, used_at, used_gate FROM ({select}) WHERE true
                ON CONFLICT(ticket_id) DO UPDATE SET
                  entries = max(entries, 1),
                  first_at = min(coalesce(first_at, excluded.first_at), excluded.first_at),
                  first_gate = CASE WHEN first_at IS NULL OR excluded.first_at < first_at
                                    THEN excluded.first_gate ELSE first_gate END""",
            params,
        )

    def apply_delta(
        self,
        records: Iterable[TicketRecord],
        cursor: str,
        *,
        keyring: Mapping[str, Any] | None = None,
        identity_key: str | None = None,
    ) -> int:
        """Apply changed tickets (changed, revoked, blocked, identity changed) and the new cursor.

        Each record is the ticket's full new state (as in the snapshot). All records, the optional
        new keyring / identity key and the cursor commit in one transaction, so a crash leaves
        either the old cursor with old states or the new cursor with new states.
        """
        if keyring is not None:
            Keyring.from_json(dict(keyring))
        placeholders = ", ".join("?" for _ in TICKET_COLUMNS)
        insert = f"INSERT OR REPLACE INTO tickets ({', '.join(TICKET_COLUMNS)}) VALUES ({placeholders})"
        rows = [_record_row(r) for r in records]
        with self.transaction() as conn:
            conn.executemany(insert, rows)
            used = [(r[0], r[_USED_AT], r[_USED_GATE]) for r in rows if r[_USED_AT] is not None]
            for ticket_id, used_at, used_gate in used:
                self._merge_used(
                    conn,
                    "SELECT ? AS ticket_id, ? AS used_at, ? AS used_gate",
                    (ticket_id, used_at, used_gate),
                )
            meta: dict[str, str | None] = {"cursor": str(cursor)}
            if keyring is not None:
                meta["keyring"] = json.dumps(dict(keyring))
                self.generation += 1
            if identity_key is not None:
                meta["identity_key"] = identity_key
            self._set_meta(meta)
        return len(rows)

    def record_remote_scan(
        self, scan_id: str, ticket_id: str, gate: str, at: float, direction: str = "in", verdict: str = "ok"
    ) -> bool:
        """Note another gate's scan so this one refuses ``already_used`` with that gate and time.

        Idempotent by ``scan_id``; returns False if the scan was already known (including this
        device's own scans echoed back by the server). Only ``ok`` (an entry) and ``exit_ok``
        change what this gate knows; other verdicts are kept for the record only.
        """
        with self.transaction() as conn:
            if conn.execute("SELECT 1 FROM scans WHERE scan_id = ?", (scan_id,)).fetchone():
                return False
            known = conn.execute(
                "INSERT OR IGNORE INTO remote_scans VALUES (?, ?, ?, ?, ?, ?)",
                (scan_id, ticket_id, gate, at, direction, verdict),
            ).rowcount
            if not known:
                return False
            if verdict == "ok":
                self._mark_entry(conn, ticket_id, at, gate)
            elif verdict == "exit_ok":
                self._mark_exit(conn, ticket_id, at, gate)
            return True

    # ------------------------------------------------------------ decisions

    def lookup(self, ticket_id: str) -> tuple[TicketRecord | None, Usage]:
        """The snapshot state and the known use of one ticket."""
        with self.lock:
            row = self.conn.execute(
                f"SELECT {', '.join(TICKET_COLUMNS)} FROM tickets WHERE ticket_id = ?", (ticket_id,)
            ).fetchone()
            use = self.conn.execute(
                "SELECT entries, inside, first_at, first_gate, last_at, last_gate FROM usage"
                " WHERE ticket_id = ?",
                (ticket_id,),
            ).fetchone()
        record = None if row is None else _row_record(row)
        usage = Usage() if use is None else Usage(use[0], bool(use[1]), use[2], use[3], use[4], use[5])
        return record, usage

    def journal(self, entry: JournalEntry) -> None:
        """Write one scan and, for ``ok``/``exit_ok``, the ticket's new use, in one transaction.

        When this returns the scan is on disk (WAL, synchronous=FULL): only then may the
        verdict be shown.
        """
        with self.transaction() as conn:
            self._insert_scan(conn, entry)
            if entry.ticket_id is not None:
                if entry.verdict == "ok":
                    self._mark_entry(conn, entry.ticket_id, entry.at, entry.gate)
                elif entry.verdict == "exit_ok":
                    self._mark_exit(conn, entry.ticket_id, entry.at, entry.gate)

    @staticmethod
    def _insert_scan(conn: sqlite3.Connection, entry: JournalEntry) -> None:
        conn.execute(
            """INSERT INTO scans (scan_id, at, ticket_id, ticket_version, verdict, reason, admit, gate,
                                  device, direction, source, details)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                entry.scan_id, entry.at, entry.ticket_id, entry.ticket_version, entry.verdict,
                entry.reason, None if entry.admit is None else int(entry.admit), entry.gate,
                entry.device, entry.direction, entry.source,
                None if not entry.details else json.dumps(entry.details, default=str),
            ),
        )  # fmt: skip

    @staticmethod
    def _mark_entry(conn: sqlite3.Connection, ticket_id: str, at: float, gate: str) -> None:
        """Count an entry; the holder is inside unless they left after it (scans arrive out of
        order from other gates, so the times decide, not the order of arrival)."""
        conn.execute(
            """INSERT INTO usage (ticket_id, entries, inside, first_at, first_gate, last_at, last_gate)
               VALUES (?, 1, 1, ?, ?, ?, ?)
               ON CONFLICT(ticket_id) DO UPDATE SET entries = entries + 1,
                 inside = CASE WHEN exited_at IS NULL OR excluded.last_at > exited_at THEN 1 ELSE inside END,
                 first_at = coalesce(min(first_at, excluded.first_at), excluded.first_at),
                 first_gate = CASE WHEN first_at IS NULL OR excluded.first_at < first_at
                                   THEN excluded.first_gate ELSE first_gate END,
                 last_at = max(coalesce(last_at, 0), excluded.last_at),
                 last_gate = CASE WHEN last_at IS NULL OR excluded.last_at >= last_at
                                  THEN excluded.last_gate ELSE last_gate END""",
            (ticket_id, at, gate, at, gate),
        )

    @staticmethod
    def _mark_exit(conn: sqlite3.Connection, ticket_id: str, at: float, gate: str) -> None:
        """The holder left at ``at``: outside, unless an entry came after it (a re-entry already
        known here), so a late-arriving exit clears the "inside" that refused a re-entry."""
        conn.execute(
            """INSERT INTO usage (ticket_id, entries, inside, exited_at) VALUES (?, 0, 0, ?)
               ON CONFLICT(ticket_id) DO UPDATE SET
                 inside = CASE WHEN last_at IS NULL OR excluded.exited_at >= last_at THEN 0 ELSE inside END,
                 exited_at = max(coalesce(exited_at, excluded.exited_at), excluded.exited_at)""",
            (ticket_id, at),
        )

    # ------------------------------------------------------------ journal for the sync client

    def pending_scans(self, limit: int = 500) -> list[JournalEntry]:
        """Scans the server has not acknowledged yet, oldest first."""
        with self.lock:
            rows = self.conn.execute(
                """SELECT scan_id, seq, at, verdict, reason, admit, gate, device, direction, source,
                          ticket_id, ticket_version, details, acked
                   FROM scans WHERE acked = 0 AND quarantined_at IS NULL ORDER BY seq LIMIT ?""",
                (limit,),
            ).fetchall()
        return [self._entry(row) for row in rows]

    def scans(self, limit: int = 100, *, ticket_id: str | None = None) -> list[JournalEntry]:
        """The newest scans first (for the CLI and the display)."""
        where, params = ("WHERE ticket_id = ?", (ticket_id, limit)) if ticket_id else ("", (limit,))
        with self.lock:
            rows = self.conn.execute(
                f"""SELECT scan_id, seq, at, verdict, reason, admit, gate, device, direction, source,
                           ticket_id, ticket_version, details, acked
                    FROM scans {where} ORDER BY seq DESC LIMIT ?""",
                params,
            ).fetchall()
        return [self._entry(row) for row in rows]

    @staticmethod
    def _entry(row: tuple[Any, ...]) -> JournalEntry:
        (scan_id, seq, at, verdict, reason, admit, gate, device, direction, source,
         ticket_id, ticket_version, details, acked) = row  # fmt: skip
        return JournalEntry(
            scan_id=scan_id, seq=seq, at=at, verdict=verdict, reason=reason,
            admit=None if admit is None else bool(admit), gate=gate, device=device,
            direction=direction, source=source, ticket_id=ticket_id, ticket_version=ticket_version,
            details=None if details is None else json.loads(details), acked=bool(acked),
        )  # fmt: skip

    def mark_acknowledged(self, scan_ids: Iterable[str]) -> int:
        """Mark scans acknowledged by the server; returns how many changed. Never deletes."""
        ids = list(scan_ids)
        now = time.time()
        with self.transaction() as conn:
            changed = 0
            for chunk_start in range(0, len(ids), 500):
                chunk = ids[chunk_start : chunk_start + 500]
                marks = ", ".join("?" for _ in chunk)
                changed += conn.execute(
                    f"UPDATE scans SET acked = 1, acked_at = ? WHERE acked = 0 AND scan_id IN ({marks})",
                    (now, *chunk),
                ).rowcount
        return changed

    def backlog(self) -> int:
        """How many scans wait for the server's acknowledgement (quarantined ones not counted)."""
        with self.lock:
            return int(
                self.conn.execute(
                    "SELECT count(*) FROM scans WHERE acked = 0 AND quarantined_at IS NULL"
                ).fetchone()[0]
            )

    # ------------------------------------------------------------ quarantine

    def quarantine(self, scan_id: str, reason: str) -> bool:
        """Park an unacknowledged scan that the server refused for good, with the server's reason.

        It leaves the upload queue (so it no longer blocks the scans behind it) but stays in the
        journal with everything it had: never deleted, never pruned, shown by ``status``, and
        put back in the queue by :meth:`release_quarantined` once the cause is fixed.
        Returns False if the scan is unknown, already acknowledged or already quarantined.
        """
        with self.transaction() as conn:
            return bool(
                conn.execute(
                    """UPDATE scans SET quarantined_at = ?, quarantine_reason = ?
                       WHERE scan_id = ? AND acked = 0 AND quarantined_at IS NULL""",
                    (time.time(), reason[:1000], scan_id),
                ).rowcount
            )

    def quarantined_count(self) -> int:
        with self.lock:
            return int(
                self.conn.execute("SELECT count(*) FROM scans WHERE quarantined_at IS NOT NULL").fetchone()[0]
            )

    def quarantined(self, limit: int = 100) -> list[QuarantinedScan]:
        """Quarantined scans, oldest first, with when and why."""
        with self.lock:
            rows = self.conn.execute(
                """SELECT scan_id, seq, at, verdict, reason, admit, gate, device, direction, source,
                          ticket_id, ticket_version, details, acked, quarantined_at, quarantine_reason
                   FROM scans WHERE quarantined_at IS NOT NULL ORDER BY seq LIMIT ?""",
                (limit,),
            ).fetchall()
        return [QuarantinedScan(self._entry(row[:14]), row[14], row[15] or "") for row in rows]

    def release_quarantined(self, scan_ids: Iterable[str] | None = None) -> int:
        """Put quarantined scans (all, or the given ones) back in the upload queue."""
        with self.transaction() as conn:
            if scan_ids is None:
                return int(
                    conn.execute(
                        "UPDATE scans SET quarantined_at = NULL, quarantine_reason = NULL"
                        " WHERE quarantined_at IS NOT NULL"
                    ).rowcount
                )
            changed = 0
            for scan_id in scan_ids:
                changed += conn.execute(
                    "UPDATE scans SET quarantined_at = NULL, quarantine_reason = NULL"
                    " WHERE scan_id = ? AND quarantined_at IS NOT NULL",
                    (scan_id,),
                ).rowcount
            return changed

    def prune_acknowledged(self, older_than: float) -> int:
        """Delete acknowledged scans older than a Unix time (only ever acknowledged ones)."""
        with self.transaction() as conn:
            return int(conn.execute("DELETE FROM scans WHERE acked = 1 AND at < ?", (older_than,)).rowcount)

    def counts(self) -> dict[str, int]:
        """Entry counts for the staff display: this device's admits, refusals, exits; people inside."""
        with self.lock:
            rows = dict(
                self.conn.execute(
                    """SELECT CASE WHEN admit = 1 THEN 'admitted' WHEN verdict = 'exit_ok' THEN 'exits'
                                   WHEN verdict = 'identity_required' THEN 'held' ELSE 'refused' END, count(*)
                       FROM scans GROUP BY 1"""
                ).fetchall()
            )
            inside = self.conn.execute("SELECT count(*) FROM usage WHERE inside = 1").fetchone()[0]
        return {
            "admitted": int(rows.get("admitted", 0)),
            "refused": int(rows.get("refused", 0)),
            "exits": int(rows.get("exits", 0)),
            "held": int(rows.get("held", 0)),
            "inside": int(inside),
        }
