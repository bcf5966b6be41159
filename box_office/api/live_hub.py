"""One live-status poller per session per process, shared by every subscriber of that session.

Why: during an on-sale thousands of buyers keep the seat map open. If each subscriber polled the
database and built its own first snapshot, that would be thousands of polls per second and a CPU
storm whenever they connect. Here a :class:`SessionHub` (one asyncio task per session that has at
least one subscriber in this process) polls the rows changed since its last look once per tick,
keeps the session's board (:class:`~box_office.core.live_status.SeatBoard`) and GA stock in
memory, formats each diff once and fans the same text out to every subscriber. A new subscriber's
snapshot comes from that memory (serialised once per change, not once per subscriber).

Changes made by other worker processes are seen through the same database poll, so this works
with any number of processes on SQLite or PostgreSQL; each process simply has its own hub.

Slow subscribers: each has a bounded queue. When a diff does not fit, that subscriber's pending
diffs are dropped and it is sent a fresh ``snapshot`` (the hub's current state) instead, so a
slow reader costs bounded memory, never blocks the others, and still ends up with the right
picture (diffs and snapshots carry absolute statuses, so a diff repeated after a snapshot is
harmless).

A hub stops, and its memory is freed, ``linger`` seconds after its last subscriber left.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool

from box_office.catalog import seat_map
from box_office.context import Context
from box_office.core.live_status import SeatBoard, SeatRow

log = logging.getLogger(__name__)

OVERLAP = 5.0
"""Re-read rows changed this long before the last look: commits land late."""
LINGER = 5.0
"""How long a hub outlives its last subscriber (a page reload reuses it)."""
QUEUE_SIZE = 64
"""Events a subscriber may have pending before it is resent a snapshot instead."""


def sse(name: str, data: Any) -> str:
    """One Server-Sent Event, as the seat map page reads it."""
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


@dataclass(frozen=True, slots=True)
class _Poll:
    rows: list[SeatRow]
    ga: list[dict[str, Any]] | None


def _load(ctx: Context, session_id: int) -> tuple[list[SeatRow], list[dict[str, Any]]]:
    """Every shown seat's stored status and hold expiry (not the whole seat map: statuses are all
    the live channel needs), and the GA stock."""
    return seat_map.seat_statuses(ctx, session_id), seat_map.seat_map_ga(ctx, session_id)


def _poll(ctx: Context, session_id: int, since: float, with_ga: bool) -> _Poll:
    """The rows changed since ``since`` and, if the session has GA areas, their stock."""
    ga = seat_map.seat_map_ga(ctx, session_id) if with_ga else None
    return _Poll(seat_map.changed_seats(ctx, session_id, since), ga)


_RESYNC = "resync"
"""Queued in place of a subscriber's dropped diffs: send it a fresh snapshot."""
_END = "end"
"""Queued when the hub stops under its subscribers (shutdown): their streams end."""


class Subscription:
    """One subscriber's view of a hub: its snapshot, then the hub's events in order."""

    def __init__(self, hub: SessionHub, size: int) -> None:
        self._hub = hub
        self._queue: asyncio.Queue[str] = asyncio.Queue(maxsize=size)
        self.resyncs = 0
        """How often this subscriber fell behind and was resent a snapshot."""

    @property
    def pending(self) -> int:
        """Events queued and not yet read."""
        return self._queue.qsize()

    def snapshot(self) -> str:
        """The ``snapshot`` event of the hub's current state."""
        return self._hub.snapshot_event()

    async def next_event(self) -> str | None:
        """The next event to send: a diff, or a fresh snapshot after falling behind; None once
        the hub has stopped."""
        event = await self._queue.get()
        if event == _END:
            return None
        return self._hub.snapshot_event() if event == _RESYNC else event

    def offer(self, event: str) -> None:
        """Queue ``event`` without waiting; when full, drop the backlog for a fresh snapshot."""
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self._drop_backlog()
            self._queue.put_nowait(_RESYNC)
            self.resyncs += 1

    def end(self) -> None:
        self._drop_backlog()
        self._queue.put_nowait(_END)

    def _drop_backlog(self) -> None:
        while not self._queue.empty():
            self._queue.get_nowait()


class SessionHub:
    """The one poller of one session in this process (see the module docstring)."""

    def __init__(self, hubs: LiveHubs, session_id: int) -> None:
        self._hubs = hubs
        self.session_id = session_id
        self.board = SeatBoard()
        self.ga: list[dict[str, Any]] = []
        self.polls = 0
        """Database polls made so far (one per tick, whatever the number of subscribers)."""
        self._subscribers: set[Subscription] = set()
        self._joining = 0
        self._idle_since = asyncio.get_running_loop().time()
        self._ready = asyncio.get_running_loop().create_future()
        self._snapshot: str | None = None
        self.task = asyncio.create_task(self._run(), name=f"live-hub-{session_id}")

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def snapshot_event(self) -> str:
        """The current state as a ``snapshot`` event, serialised once per change."""
        if self._snapshot is None:
            self._snapshot = sse("snapshot", {"seats": self.board.statuses, "ga": self.ga})
        return self._snapshot

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[Subscription]:
        self._joining += 1
        try:
            await asyncio.shield(self._ready)
        finally:
            self._joining -= 1
        subscription = Subscription(self, self._hubs.queue_size)
        self._subscribers.add(subscription)
        try:
            yield subscription
        finally:
            self._subscribers.discard(subscription)
            if not self._subscribers:
                self._idle_since = asyncio.get_running_loop().time()

    def _publish(self, event: str) -> None:
        self._snapshot = None
        for subscription in self._subscribers:
            subscription.offer(event)

    def _idle(self) -> bool:
        loop = asyncio.get_running_loop()
        return (
            not self._subscribers
            and not self._joining
            and loop.time() - self._idle_since >= self._hubs.linger
        )

    async def _run(self) -> None:
        ctx = self._hubs.ctx
        try:
            last = ctx.now()
            rows, self.ga = await run_in_threadpool(_load, ctx, self.session_id)
            self.board = SeatBoard.from_rows(rows, last)
        except BaseException as exc:
            self._hubs.forget(self)
            if isinstance(exc, asyncio.CancelledError):
                self._ready.cancel()
            else:
                self._ready.set_exception(exc)
            raise
        self._ready.set_result(None)
        try:
            while True:
                await asyncio.sleep(ctx.settings.live_interval)
                if self._idle():
                    return
                now = ctx.now()
                try:
                    poll = await run_in_threadpool(_poll, ctx, self.session_id, last - OVERLAP, bool(self.ga))
                except Exception:  # a failed poll is retried next tick; subscribers stay
                    log.exception("live status poll of session %s failed", self.session_id)
                    continue
                self.polls += 1
                last = now
                diff = self.board.tick(poll.rows, now)
                if diff:
                    self._publish(sse("seats", diff))
                if poll.ga is not None and poll.ga != self.ga:
                    self.ga = poll.ga
                    self._publish(sse("ga", self.ga))
        finally:
            self._hubs.forget(self)
            for subscription in self._subscribers:
                subscription.end()


class LiveHubs:
    """This process's hubs, one per session with subscribers, started on the first subscriber.

    Lives on the app (``app.state``), used from its event loop only.
    """

    def __init__(self, ctx: Context, *, linger: float = LINGER, queue_size: int = QUEUE_SIZE) -> None:
        if queue_size < 1:
            raise ValueError("a subscriber's queue holds at least one event")
        self.ctx = ctx
        self.linger = linger
        self.queue_size = queue_size
        self._hubs: dict[int, SessionHub] = {}

    def get(self, session_id: int) -> SessionHub | None:
        """The running hub of a session, if any."""
        return self._hubs.get(session_id)

    def forget(self, hub: SessionHub) -> None:
        if self._hubs.get(hub.session_id) is hub:
            del self._hubs[hub.session_id]

    @contextlib.asynccontextmanager
    async def subscribe(self, session_id: int) -> AsyncIterator[Subscription]:
        """Subscribe to a session's live status, starting its hub if none is running."""
        hub = self._hubs.get(session_id)
        if hub is None:
            hub = self._hubs[session_id] = SessionHub(self, session_id)
        async with hub.subscribe() as subscription:
            yield subscription

    async def close(self) -> None:
        """Stop every hub (for tests and shutdown)."""
        hubs = list(self._hubs.values())
        for hub in hubs:
            hub.task.cancel()
        await asyncio.gather(*(hub.task for hub in hubs), return_exceptions=True)
