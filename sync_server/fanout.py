"""Live fan-out to WebSocket clients: one bounded queue and one sender task per client.

The publisher (the change watcher for gates, the dashboard pusher for organisers) only ever
puts a message in each client's queue; it never waits for a client. A client whose queue is
full has fallen behind: it is dropped (closed with 4008; a gate reconnects and catches up from
its cursor with ``/api/deltas``, a dashboard reconnects and gets fresh stats). A client whose
send fails is dropped too. So one client that never reads, or breaks, holds up nobody.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

log = logging.getLogger("sync_server.fanout")

TOO_SLOW = 4008
"""Close code for a client dropped for falling behind (application range 4000-4999)."""
CLOSE_TIMEOUT = 1.0
"""How long a dropped client's close handshake may take before its connection is cut."""


@dataclass(eq=False)
class Subscriber:
    ws: web.WebSocketResponse
    request: web.Request
    owner: str
    """The device id (gates) or the organiser's name (dashboards)."""
    queue: asyncio.Queue[str]
    task: asyncio.Task[None] | None = None
    dropped: bool = False
    sent: int = 0


@dataclass
class FanOut:
    """The clients of one kind, grouped by event id."""

    max_queue: int
    on_drop: Callable[[Subscriber, str], None] | None = None
    groups: dict[str, set[Subscriber]] = field(default_factory=dict)
    dropped: int = 0
    _closing: set[asyncio.Task[None]] = field(default_factory=set)

    def add(self, event_id: str, ws: web.WebSocketResponse, request: web.Request, owner: str) -> Subscriber:
        sub = Subscriber(ws, request, owner, asyncio.Queue(self.max_queue))
        sub.task = asyncio.create_task(self._sender(sub), name=f"fanout-sender-{owner}")
        self.groups.setdefault(event_id, set()).add(sub)
        return sub

    def remove(self, sub: Subscriber) -> None:
        for group in self.groups.values():
            group.discard(sub)
        if sub.task is not None and sub.task is not asyncio.current_task():
            sub.task.cancel()

    def subscribers(self, event_id: str | None = None) -> Iterator[Subscriber]:
        groups = self.groups.values() if event_id is None else [self.groups.get(event_id, set())]
        for group in groups:
            yield from list(group)

    def events(self) -> list[str]:
        return [event_id for event_id, group in self.groups.items() if group]

    def publish(self, event_id: str, text: str) -> int:
        """Queue ``text`` for every client of the event; returns how many got it queued."""
        return sum(self.publish_to(sub, text) for sub in self.subscribers(event_id))

    def publish_to(self, sub: Subscriber, text: str) -> bool:
        """Queue ``text`` for one client (a greeting, an answer); drops it if its queue is full."""
        if sub.dropped or sub.ws.closed:
            return False
        try:
            sub.queue.put_nowait(text)
        except asyncio.QueueFull:
            self.drop(sub, "too slow: it did not read its messages")
            return False
        return True

    def drop(self, sub: Subscriber, reason: str) -> None:
        """Stop sending to ``sub`` and close it without waiting for it (never raises)."""
        if sub.dropped:
            return
        sub.dropped = True
        self.dropped += 1
        self.remove(sub)
        if self.on_drop is not None:
            with contextlib.suppress(Exception):
                self.on_drop(sub, reason)
        task = asyncio.create_task(self._close(sub, TOO_SLOW, reason))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def close_owner(self, owner: str, code: int, message: str) -> None:
        for sub in self.subscribers():
            if sub.owner == owner:
                sub.dropped = True
                self.remove(sub)
                await self._close(sub, code, message)

    async def close_all(self, code: int, message: str) -> None:
        subs = list(self.subscribers())
        for sub in subs:
            sub.dropped = True
            self.remove(sub)
        await asyncio.gather(*(self._close(sub, code, message) for sub in subs), return_exceptions=True)
        await asyncio.gather(*self._closing, return_exceptions=True)

    async def _sender(self, sub: Subscriber) -> None:
        try:
            while True:
                text = await sub.queue.get()
                await sub.ws.send_str(text)
                sub.sent += 1
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a broken client is dropped, never the publisher
            self.drop(sub, f"send failed: {type(exc).__name__}")

    @staticmethod
    async def _close(sub: Subscriber, code: int, message: str) -> None:
        """Close politely if the peer answers soon, else cut the connection."""
        try:
            await asyncio.wait_for(sub.ws.close(code=code, message=message.encode()[:120]), CLOSE_TIMEOUT)
        except (TimeoutError, Exception):
            transport: Any = sub.request.transport
            if transport is not None:
                transport.abort()
