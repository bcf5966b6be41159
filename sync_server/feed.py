"""The box office feed puller (DESIGN contract 5): ticket changes in, check-ins out.

The box office owns tickets and keys; this server keeps a copy with a cursor. Every few
seconds (and at start) it fetches the event's keyring, then feed pages after its cursor until
``has_more`` is false, storing each page's ticket states before saving the page's cursor, so
a crash re-reads at most one page (re-applying a state is a no-op). Then it posts scans that
settled as an entry, exit or admitted conflict back as check-ins (idempotent by scan id on
the box office side), so the box office knows who is inside. A scan reported as a plain
check-in that later becomes an admitted conflict (an earlier offline scan of the same ticket
arrived after the report) is reported once more, as a conflict record of its own: the box
office keeps the first record of a scan id and ignores a re-post. Any failure is logged and the
next round starts again from the saved cursor: a sync server with no box office keeps
serving its gates.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from sqlalchemy import select, update

from sync_server import db
from sync_server.reconcile import CONFLICT, ENTRY, EXIT
from sync_server.store import ServerStore
from wire.venue_feed import MAX_CHECKINS, MAX_PAGE, CheckIn, FeedError, parse_page

log = logging.getLogger("sync_server.feed")


@dataclass(frozen=True, slots=True)
class FeedSettings:
    url: str
    token: str
    interval: float = 2.0
    """Pause after a failed round, or after a round the box office answered at once."""
    long_poll: float = 5.0
    """``wait=`` sent once caught up: the box office holds the request until a change commits."""


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


def _counter(conn: Any, name: str) -> int | None:
    value = conn.execute(select(db.counters.c.value).where(db.counters.c.name == name)).scalar_one_or_none()
    return None if value is None else int(value)


class FeedPuller:
    def __init__(
        self, store: ServerStore, settings: FeedSettings, on_change: Callable[[], None] | None = None
    ) -> None:
        self.store = store
        self.settings = settings
        self.on_change = on_change
        """Called after ticket states changed, so the server pushes them to gates at once."""
        self.rounds = 0
        self.last_error: str | None = None

    # ---------------------------------------------------------------- database side (sync)

    def feed_cursor(self) -> int:
        with self.store.engine.connect() as conn:
            return _counter(conn, "feed_cursor") or 0

    def save_cursor(self, cursor: int) -> None:
        with self.store.engine.begin() as conn:
            if _counter(conn, "feed_cursor") is None:
                conn.execute(db.counters.insert().values(name="feed_cursor", value=cursor))
            else:
                conn.execute(
                    update(db.counters).where(db.counters.c.name == "feed_cursor").values(value=cursor)
                )

    def unreported(self, event_id: str, limit: int = MAX_CHECKINS) -> list[Report]:
        """Check-ins the box office has not been told of yet, oldest arrival first.

        First every settled scan never reported; then every scan reported as a plain check-in
        that has since become an admitted conflict (an earlier offline scan of its ticket
        arrived later). The box office keeps the first record of a scan id and ignores a
        re-post, so such a conflict goes as its own record: :func:`conflict_checkin_id`.
        """
        s = db.scans
        with self.store.engine.connect() as conn:
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
        with self.store.engine.begin() as conn:
            if cleared:
                conn.execute(update(s).where(s.c.scan_id.in_(cleared)).values(conflict_cleared_at=at))
            if first:
                conn.execute(update(s).where(s.c.scan_id.in_(first)).values(reported_at=at))
            if conflicts:
                conn.execute(update(s).where(s.c.scan_id.in_(conflicts)).values(conflict_reported_at=at))

    # ---------------------------------------------------------------- HTTP side

    async def run(self, wake: asyncio.Event | None = None) -> None:
        headers = {"Authorization": f"Bearer {self.settings.token}"}
        timeout = aiohttp.ClientTimeout(total=60, sock_connect=5)
        async with aiohttp.ClientSession(headers=headers, timeout=timeout) as session:
            wait = 0.0
            while True:
                started = time.monotonic()
                try:
                    await self.pull_once(session, wait=wait)
                    self.last_error = None
                    wait = self.settings.long_poll
                except asyncio.CancelledError:
                    raise
                except (aiohttp.ClientError, TimeoutError, FeedError, ValueError, KeyError) as exc:
                    self.last_error = str(exc) or type(exc).__name__
                    log.warning("box office feed: %s; retrying", self.last_error)
                    wait = 0.0
                self.rounds += 1
                # a box office without long polling answers at once: do not spin
                if self.last_error or time.monotonic() - started < min(wait, self.settings.interval) / 2:
                    await asyncio.sleep(self.settings.interval)

    async def _get(self, session: aiohttp.ClientSession, path: str, **params: Any) -> Any:
        async with session.get(self.settings.url.rstrip("/") + path, params=params) as resp:
            if resp.status != 200:
                raise FeedError(f"GET {path}: {resp.status} {(await resp.text())[:200]}")
            return await resp.json()

    async def pull_once(self, session: aiohttp.ClientSession, wait: float = 0.0) -> int:
        """One round: check-ins back, keyring, every new feed page. Returns tickets changed.

        With ``wait`` the first page request is a long poll (the box office answers as soon as a
        change commits), so a caught-up server hears of a refund at once without a tight loop.
        """
        keys = await self._get(session, "/api/feed/keyring")
        event_id = str(keys["event_id"])
        existing = await asyncio.to_thread(self.store.event, event_id) or {}
        await asyncio.to_thread(
            lambda: self.store.set_event(
                event_id, keys["keyring"], identity_key=keys.get("identity_key"),
                session_id=existing.get("session_id"), rules=existing.get("rules"),
            )
        )  # fmt: skip
        await self.report_checkins(session, event_id)
        changed = 0
        cursor = await asyncio.to_thread(self.feed_cursor)
        while True:
            params: dict[str, Any] = {"after": cursor, "limit": MAX_PAGE}
            if wait:
                params["wait"] = wait
                wait = 0.0
            page = parse_page(await self._get(session, "/api/feed", **params))
            if page.entries:
                changed += await asyncio.to_thread(
                    self.store.upsert_tickets, [e.ticket for e in page.entries]
                )
            if page.next_cursor > cursor:
                cursor = page.next_cursor
                await asyncio.to_thread(self.save_cursor, cursor)
            if not page.has_more:
                break
        return changed

    async def report_checkins(self, session: aiohttp.ClientSession, event_id: str) -> int:
        sent = 0
        while True:
            reports = await asyncio.to_thread(self.unreported, event_id)
            if not reports:
                return sent
            body = {"checkins": [r.checkin.to_json() for r in reports]}
            url = self.settings.url.rstrip("/") + "/api/feed/checkins"
            async with session.post(url, json=body) as resp:
                if resp.status != 200:
                    raise FeedError(f"POST check-ins: {resp.status} {(await resp.text())[:200]}")
                await resp.read()
            await asyncio.to_thread(self.mark_reported, reports, time.time())
            sent += len(reports)
