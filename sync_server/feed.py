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

HTTP only: every read and write of the database goes through the store (``store.feed`` for the
feed cursor and the check-ins to report, ``store.tickets`` for ticket states and keys).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from sync_server.store import ServerStore
from sync_server.store.feed_state import CONFLICT_SUFFIX, Report, conflict_checkin_id
from wire.venue_feed import MAX_PAGE, FeedError, parse_page

__all__ = ["CONFLICT_SUFFIX", "FeedPuller", "FeedSettings", "Report", "conflict_checkin_id"]

log = logging.getLogger("sync_server.feed")


@dataclass(frozen=True, slots=True)
class FeedSettings:
    url: str
    token: str
    interval: float = 2.0
    """Pause after a failed round, or after a round the box office answered at once."""
    long_poll: float = 5.0
    """``wait=`` sent once caught up: the box office holds the request until a change commits."""


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
        existing = await asyncio.to_thread(self.store.tickets.event, event_id) or {}
        await asyncio.to_thread(
            lambda: self.store.tickets.set_event(
                event_id, keys["keyring"], identity_key=keys.get("identity_key"),
                session_id=existing.get("session_id"), rules=existing.get("rules"),
                name=keys.get("event_name"),
            )
        )  # fmt: skip
        names = keys.get("session_names") or {}
        self.store.session_names.update({str(k): str(v) for k, v in names.items()})
        await self.report_checkins(session, event_id)
        changed = 0
        cursor = await asyncio.to_thread(self.store.feed.feed_cursor)
        while True:
            params: dict[str, Any] = {"after": cursor, "limit": MAX_PAGE}
            if wait:
                params["wait"] = wait
                wait = 0.0
            page = parse_page(await self._get(session, "/api/feed", **params))
            if page.entries:
                changed += await asyncio.to_thread(
                    self.store.tickets.upsert_tickets, [e.ticket for e in page.entries]
                )
            if page.next_cursor > cursor:
                cursor = page.next_cursor
                await asyncio.to_thread(self.store.feed.save_cursor, cursor)
            if not page.has_more:
                break
        return changed

    async def report_checkins(self, session: aiohttp.ClientSession, event_id: str) -> int:
        sent = 0
        while True:
            reports = await asyncio.to_thread(self.store.feed.unreported, event_id)
            if not reports:
                return sent
            body = {"checkins": [r.checkin.to_json() for r in reports]}
            url = self.settings.url.rstrip("/") + "/api/feed/checkins"
            async with session.post(url, json=body) as resp:
                if resp.status != 200:
                    raise FeedError(f"POST check-ins: {resp.status} {(await resp.text())[:200]}")
                await resp.read()
            await asyncio.to_thread(self.store.feed.mark_reported, reports, time.time())
            sent += len(reports)
