"""The merged scan log: idempotent ingest within the device's scope, and reconciliation."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, update

from sync_server import db
from sync_server.personal import scrub_details
from sync_server.reconcile import ENTRY, REFUSED, ScanFact, classify
from sync_server.scan_time import TimeWindow
from sync_server.scope import scope_violation
from sync_server.store.base import Database
from sync_server.store.devices import Device, DeviceStore
from sync_server.store.tickets import TicketScope
from wire.sync_api import Rejection, Scan, ScanAck, ScanBatch

OUT_OF_SCOPE = "out_of_scope"


class OutOfScope(Exception):
    """A whole (non-partial) batch refused because one of its scans is outside the device's scope."""

    status = 403
    code = OUT_OF_SCOPE

    def __init__(self, rejections: Sequence[Rejection]) -> None:
        first = rejections[0]
        more = f" (and {len(rejections) - 1} more)" if len(rejections) > 1 else ""
        super().__init__(first.error + more)
        self.rejections = tuple(rejections)


@dataclass(frozen=True, slots=True)
class _BatchContext:
    scopes: dict[str, TicketScope]
    tickets: dict[str, Any]
    """Rows of the batch's tickets: scope columns, ``revoked_at``, ``used_at``, ``used_gate``."""
    session: str | None
    reentry: bool


@dataclass(frozen=True, slots=True)
class IngestResult:
    ack: ScanAck
    new: list[Scan]
    out_of_scope: tuple[Rejection, ...] = ()
    flagged: int = 0
    """New scans whose own time lies outside the server's window (kept, flagged)."""
    touched: list[str] = field(default_factory=list)


class ScanStore:
    def __init__(self, database: Database, devices: DeviceStore) -> None:
        self.db = database
        self.engine = database.engine
        self.device_store = devices

    def ingest(
        self,
        device: Device,
        batch: ScanBatch,
        *,
        window: TimeWindow | None = None,
        now: float | None = None,
    ) -> IngestResult:
        """Store a batch durably and reconcile the tickets it touches.

        Idempotent: scans already held are acknowledged again and not stored twice. The scan's
        own time (``at``) and its arrival time are both kept; nothing in a scan is rewritten
        (raw text in ``details`` is never stored, see ``personal``), only its derived
        ``outcome`` (entry, conflict, ...) is recomputed as earlier offline scans arrive.

        Scans outside the device's scope are not stored: in a ``partial`` batch they are
        returned as rejections (``out_of_scope``) and the rest are kept; otherwise the whole
        batch is refused with :class:`OutOfScope`. Either way the attempt is recorded once.
        """
        window = window or TimeWindow()
        now = time.time() if now is None else now
        unique: dict[str, tuple[int, Scan]] = {}
        for index, scan in enumerate(batch.scans):
            unique.setdefault(scan.scan_id, (batch.position(index), scan))
        s = db.scans
        refused: list[Rejection] = []
        stored: list[Scan] = []
        known: set[str] = set()
        flagged = 0
        touched: list[str] = []
        with self.engine.begin() as conn:
            context = self._batch_context(conn, device.event_id, unique.values())
            allowed: dict[str, Scan] = {}
            for scan_id, (position, scan) in unique.items():
                why = scope_violation(device, scan, context.scopes.get(scan.ticket_id or ""), context.session)
                if why is None:
                    allowed[scan_id] = scan
                else:
                    refused.append(Rejection(position, scan_id, f"scans[{position}]: {why}", OUT_OF_SCOPE))
            if not (refused and not batch.partial):
                ids = list(allowed)
                if ids:
                    known = set(conn.execute(select(s.c.scan_id).where(s.c.scan_id.in_(ids))).scalars())
                stored = [scan for scan_id, scan in allowed.items() if scan_id not in known]
                if stored:
                    rows = []
                    for x in stored:
                        flag = window.flag(x.at, now)
                        flagged += flag is not None
                        rows.append(
                            {
                                "scan_id": x.scan_id,
                                "event_id": device.event_id,
                                "device_id": device.device_id,
                                "gate": x.gate,
                                "device": x.device,
                                "direction": x.direction,
                                "at": x.at,
                                "received_at": now,
                                "time_flag": flag,
                                "verdict": x.verdict,
                                "admit": x.admit,
                                "reason": x.reason,
                                "source": x.source,
                                "ticket_id": x.ticket_id,
                                "ticket_version": x.ticket_version,
                                "details": scrub_details(x.details, is_ticket=x.ticket_id is not None),
                                "outcome": REFUSED if x.admit is False else "pending",
                            }
                        )
                    conn.execute(s.insert(), rows)
                    touched = sorted({x.ticket_id for x in stored if x.ticket_id and x.admit is not False})
                    if touched:
                        self._reconcile(conn, touched, context)
        if refused:
            self.device_store.record_attempt(device, OUT_OF_SCOPE, refused[0].error, len(refused))
            if not batch.partial:
                raise OutOfScope(refused)
        acknowledged = tuple(scan_id for scan_id in unique if scan_id in allowed)
        return IngestResult(ScanAck(acknowledged, len(known)), stored, tuple(refused), flagged, touched)

    @staticmethod
    def _batch_context(conn: Connection, event_id: str, scans: Iterable[tuple[int, Scan]]) -> _BatchContext:
        """One read of what the batch needs: its tickets (scope and use) and the event's rules."""
        ticket_ids = sorted({scan.ticket_id for _, scan in scans if scan.ticket_id})
        t = db.tickets
        rows: dict[str, Any] = {}
        if ticket_ids:
            rows = {
                row.ticket_id: row
                for row in conn.execute(
                    select(
                        t.c.ticket_id, t.c.event_id, t.c.session_id, t.c.zone,
                        t.c.revoked_at, t.c.used_at, t.c.used_gate,
                    ).where(t.c.ticket_id.in_(ticket_ids))
                )
            }  # fmt: skip
        event = conn.execute(
            select(db.events.c.session_id, db.events.c.rules).where(db.events.c.event_id == event_id)
        ).first()
        return _BatchContext(
            {tid: TicketScope(row.event_id, row.session_id, row.zone) for tid, row in rows.items()},
            rows,
            None if event is None else event.session_id,
            bool(event and (event.rules or {}).get("reentry") in ("after_exit", "any")),
        )

    def _reconcile(self, conn: Connection, ticket_ids: Sequence[str], context: _BatchContext) -> None:
        s, t = db.scans, db.tickets
        reentry = context.reentry
        facts: dict[str, list[ScanFact]] = {tid: [] for tid in ticket_ids}
        current: dict[str, tuple[str, str | None, str | None]] = {}
        gates: dict[str, tuple[float, str]] = {}
        for row in conn.execute(
            select(
                s.c.scan_id,
                s.c.ticket_id,
                s.c.at,
                s.c.received_at,
                s.c.time_flag,
                s.c.verdict,
                s.c.admit,
                s.c.outcome,
                s.c.conflict_kind,
                s.c.conflicts_with,
                s.c.gate,
            ).where(s.c.ticket_id.in_(ticket_ids))
        ):
            fact = ScanFact(
                row.scan_id, row.at, row.verdict, row.admit, row.received_at, row.time_flag is None
            )
            facts[row.ticket_id].append(fact)
            current[row.scan_id] = (row.outcome, row.conflict_kind, row.conflicts_with)
            gates[row.scan_id] = (fact.when, row.gate)
        tickets = context.tickets  # read in the same transaction, before the batch's inserts
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
            first = self.db.next_seq(conn, len(uses))
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
