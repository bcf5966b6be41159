"""The box office feed's side of the store: the feed cursor and the check-ins still to report.

The feed puller (``sync_server.feed``) does HTTP only and writes through these methods.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select, update

from sync_server import db
from sync_server.reconcile import CONFLICT, ENTRY, EXIT
from sync_server.store.base import Database
from wire.venue_feed import MAX_CHECKINS, CheckIn

FEED_CURSOR = "feed_cursor"
CONFLICT_SUFFIX = ":conflict"
CLEARED_SUFFIX = ":cleared"


def conflict_checkin_id(scan_id: str) -> str:
    """The check-in id of a conflict found after the scan itself was reported.

    Derived from the scan id, so a lost answer and a re-post stay idempotent at the box office
    (at most 64 + 9 characters; the box office takes 100).
    """
    return scan_id + CONFLICT_SUFFIX


@dataclass(frozen=True, slots=True)
class Report:
    """One check-in to post and the scan it reports; ``late`` for a conflict found after the
    scan was reported as a plain check-in (posted under :func:`conflict_checkin_id`)."""

    scan_id: str
    checkin: CheckIn
    late: bool


def _report(row: Any, *, late: bool, cleared: bool = False) -> Report:
    if cleared:
        scan_id = row.scan_id + CLEARED_SUFFIX
    else:
        scan_id = conflict_checkin_id(row.scan_id) if late else row.scan_id
    checkin = CheckIn(
        scan_id=scan_id,
        ticket_id=row.ticket_id,
        version=max(1, row.ticket_version or 1),
        gate=row.gate,
        direction=row.direction,
        scanned_at=row.at,
        device_id=row.device_id,
        verdict=row.verdict,
        conflict=row.outcome == CONFLICT,
        clears=row.scan_id if cleared else None,
    )
    return Report(row.scan_id, checkin, late or cleared)


def _counter(conn: Connection, name: str) -> int | None:
    value = conn.execute(select(db.counters.c.value).where(db.counters.c.name == name)).scalar_one_or_none()
    return None if value is None else int(value)


class FeedStateStore:
    def __init__(self, database: Database) -> None:
        self.engine = database.engine

    def feed_cursor(self) -> int:
        with self.engine.connect() as conn:
            return _counter(conn, FEED_CURSOR) or 0

    def save_cursor(self, cursor: int) -> None:
        with self.engine.begin() as conn:
            if _counter(conn, FEED_CURSOR) is None:
                conn.execute(db.counters.insert().values(name=FEED_CURSOR, value=cursor))
            else:
                conn.execute(
                    update(db.counters).where(db.counters.c.name == FEED_CURSOR).values(value=cursor)
                )

    def unreported(self, event_id: str, limit: int = MAX_CHECKINS) -> list[Report]:
        """Check-ins the box office has not been told of yet, oldest arrival first.

        First every settled scan never reported; then every scan reported as a plain check-in
        that has since become an admitted conflict (an earlier offline scan of its ticket
        arrived later). The box office keeps the first record of a scan id and ignores a
        re-post, so such a conflict goes as its own record: :func:`conflict_checkin_id`.
        """
        s = db.scans
        with self.engine.connect() as conn:
            fresh = conn.execute(
                select(s)
                .where(
                    s.c.event_id == event_id,
                    s.c.reported_at.is_(None),
                    s.c.ticket_id.is_not(None),
                    s.c.outcome.in_([ENTRY, EXIT, CONFLICT]),
                )
                .order_by(s.c.received_at, s.c.scan_id)
                .limit(limit)
            ).fetchall()
            late = conn.execute(
                select(s)
                .where(
                    s.c.event_id == event_id,
                    s.c.outcome == CONFLICT,
                    s.c.reported_at.is_not(None),
                    s.c.conflict_reported_at.is_(None),
                    s.c.ticket_id.is_not(None),
                )
                .order_by(s.c.received_at, s.c.scan_id)
                .limit(max(0, limit - len(fresh)))
            ).fetchall()
            cleared = conn.execute(  # reported as conflicts, legitimate since (a late exit)
                select(s)
                .where(
                    s.c.event_id == event_id,
                    s.c.conflict_reported_at.is_not(None),
                    s.c.conflict_cleared_at.is_(None),
                    s.c.outcome.in_([ENTRY, EXIT]),
                    s.c.ticket_id.is_not(None),
                )
                .order_by(s.c.received_at, s.c.scan_id)
                .limit(max(0, limit - len(fresh) - len(late)))
            ).fetchall()
        return (
            [_report(row, late=False) for row in fresh]
            + [_report(row, late=True) for row in late]
            + [_report(row, late=False, cleared=True) for row in cleared]
        )

    def mark_reported(self, reports: list[Report], at: float) -> None:
        s = db.scans
        first = [r.scan_id for r in reports if not r.late]
        conflicts = [r.scan_id for r in reports if r.checkin.conflict]
        cleared = [r.scan_id for r in reports if r.checkin.clears is not None]
        with self.engine.begin() as conn:
            if cleared:
                conn.execute(update(s).where(s.c.scan_id.in_(cleared)).values(conflict_cleared_at=at))
            if first:
                conn.execute(update(s).where(s.c.scan_id.in_(first)).values(reported_at=at))
            if conflicts:
                conn.execute(update(s).where(s.c.scan_id.in_(conflicts)).values(conflict_reported_at=at))
