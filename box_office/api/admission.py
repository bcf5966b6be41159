"""Admission control for on-sale spikes: the hold is the door of a waiting room.

Without it, 2,000 buyers arriving in the same second all got in: every request waited for a
thread, then for a database connection, timeouts fired, and the server answered 503s while
doing no more useful work than at a tenth of the load.

Each worker process now serves at most ``limit`` buying requests at a time, and sorts them in
two kinds (DESIGN: "a waiting room meters admission at on-sale peaks"):

- **door** requests start a purchase: seat maps and holds. At most ``queue`` of them wait for
  a place; any more are answered at once with ``429 Too Many Requests`` and a ``Retry-After``
  that grows with the crowd. That is the waiting room: cheap to refuse, nothing held.
- **inside** requests continue one: orders and payments of a buyer who already holds seats.
  They are never refused and go first whenever a place frees up, so a buyer who got in
  finishes quickly and the door lets the next ones in at the pace the box office really sells.

First come, first served across retries: a 429 carries an ``X-Queue-Ticket`` (the time the
buyer first knocked, signed by the box office); sent back on the next try, it puts the buyer
in line by that time, ahead of those who came later, in whichever worker process it lands.
When the line is full, an earlier ticket takes the place of the latest one waiting.

Payment notifications from the provider, order waits (they hold nothing while they wait), the
live channel, the venue feed and the organisers' API are not metered at all.
"""

from __future__ import annotations

import asyncio
import bisect
import hashlib
import hmac
import itertools
import json
import math
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Literal

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Kind = Literal["door", "inside"]
MAX_RETRY_AFTER = 5
TICKET_LIFETIME = 2 * 3600.0
TICKET_HEADER = "x-queue-ticket"

_ROUTES: tuple[tuple[str, re.Pattern[str], Kind], ...] = (
    ("POST", re.compile(r"^/api/sessions/\d+/holds$"), "door"),
    ("GET", re.compile(r"^/api/sessions/\d+$"), "door"),
    ("POST", re.compile(r"^/api/orders$"), "inside"),
    ("POST", re.compile(r"^/api/orders/\d+/payments$"), "inside"),
)


def kind_of(method: str, path: str) -> Kind | None:
    """``door``, ``inside``, or None for requests admission control leaves alone."""
    for m, pattern, kind in _ROUTES:
        if method == m and pattern.match(path):
            return kind
    return None


class Gate:
    """At most ``limit`` requests admitted at once; inside requests first; door requests wait
    in order of arrival, at most ``queue`` of them; the rest are turned away."""

    def __init__(self, limit: int, queue: int, clock: Callable[[], float] = time.monotonic) -> None:
        if limit < 1 or queue < 0:
            raise ValueError("limit must be >= 1 and queue >= 0")
        self.limit = limit
        self.queue = queue
        self._clock = clock
        self._running = 0
        self._inside: deque[asyncio.Future[bool]] = deque()
        self._door: list[tuple[float, int, asyncio.Future[bool]]] = []  # by arrival, oldest first
        self._order = itertools.count()
        self._admitted: deque[float] = deque()  # door admissions in the last five seconds
        self._refused: deque[float] = deque()  # door refusals in the last second

    @property
    def running(self) -> int:
        return self._running

    @property
    def waiting(self) -> int:
        return len(self._inside) + len(self._door)

    def retry_after(self) -> int:
        """Seconds a turned-away client should wait: about how long the door needs, at the pace
        it let buyers in over the last five seconds, to let in the crowd it turned away in the
        last second; at least 1, at most :data:`MAX_RETRY_AFTER` (a longer estimate would
        leave the box office idle if the pace picks up)."""
        now = self._clock()
        while self._admitted and now - self._admitted[0] > 5.0:
            self._admitted.popleft()
        while self._refused and now - self._refused[0] > 1.0:
            self._refused.popleft()
        pace = max(1.0, len(self._admitted) / 5.0)
        return max(1, min(MAX_RETRY_AFTER, math.ceil(len(self._refused) / pace)))

    async def enter(self, kind: Kind, arrival: float | None = None) -> bool:
        """Take a place, waiting in line if need be; False means refused (answer 429).

        ``arrival`` orders door requests (earlier first): when the buyer first knocked.
        """
        if self._running < self.limit and not self._inside and not self._door:
            self._running += 1
            if kind == "door":
                self._admitted.append(self._clock())
            return True
        turn: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        if kind == "inside":
            self._inside.append(turn)
        else:
            when = time.time() if arrival is None else arrival
            if len(self._door) >= self.queue:
                if not self._door or when >= self._door[-1][0]:
                    self._refused.append(self._clock())
                    return False
                _, _, latest = self._door.pop()  # an earlier arrival takes the latest one's place
                latest.set_result(False)
            bisect.insort(self._door, (when, next(self._order), turn))
        try:
            admitted = await turn
        except asyncio.CancelledError:
            self._forget(turn)
            if turn.done() and not turn.cancelled() and turn.result():
                self.leave()  # the place was handed to us as we were cancelled: pass it on
            raise
        if kind == "door":
            (self._admitted if admitted else self._refused).append(self._clock())
        return admitted

    def _forget(self, turn: asyncio.Future[bool]) -> None:
        if turn in self._inside:
            self._inside.remove(turn)
        self._door = [entry for entry in self._door if entry[2] is not turn]

    def leave(self) -> None:
        """Give the place back: to the next inside request, else the earliest at the door, else free."""
        while self._inside:
            turn = self._inside.popleft()
            if not turn.done():
                turn.set_result(True)
                return
        while self._door:
            _, _, turn = self._door.pop(0)
            if not turn.done():
                turn.set_result(True)
                return
        self._running -= 1


class QueueTickets:
    """Signed arrival times: ``<milliseconds>.<HMAC>``, valid for :data:`TICKET_LIFETIME` s."""

    def __init__(self, secret: bytes, clock: Callable[[], float] = time.time) -> None:
        self._key = hashlib.sha256(b"encore queue ticket\0" + secret).digest()
        self._clock = clock

    def issue(self, arrival: float) -> str:
        stamp = str(int(arrival * 1000))
        return f"{stamp}.{self._sign(stamp)}"

    def arrival(self, ticket: str | None) -> float | None:
        """When the holder first knocked, or None for a missing, forged or stale ticket."""
        if not ticket or len(ticket) > 100 or "." not in ticket:
            return None
        stamp, signature = ticket.split(".", 1)
        if not stamp.isdigit() or not hmac.compare_digest(self._sign(stamp), signature):
            return None
        arrival = int(stamp) / 1000
        if not 0 <= self._clock() - arrival <= TICKET_LIFETIME:
            return None
        return arrival

    def _sign(self, stamp: str) -> str:
        return hmac.new(self._key, stamp.encode(), hashlib.sha256).hexdigest()[:32]


class AdmissionMiddleware:
    """ASGI middleware applying one :class:`Gate` per process to the buying paths."""

    def __init__(self, app: ASGIApp, limit: int, queue: int, secret: bytes) -> None:
        self.app = app
        self.gate = Gate(limit, queue)
        self.tickets = QueueTickets(secret)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = kind_of(scope["method"], scope["path"]) if scope["type"] == "http" else None
        if kind is None:
            await self.app(scope, receive, send)
            return
        arrival = None
        if kind == "door":
            sent = next((v for k, v in scope["headers"] if k == TICKET_HEADER.encode()), b"")
            arrival = self.tickets.arrival(sent.decode("latin-1")) or time.time()
        if not await self.gate.enter(kind, arrival):
            await _busy(send, self.gate.retry_after(), self.tickets.issue(arrival or time.time()))
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.gate.leave()


async def _busy(send: Send, retry_after: int, ticket: str) -> None:
    body = json.dumps(
        {
            "detail": f"the box office is very busy right now: please try again in {retry_after} s"
            f" and send back the {TICKET_HEADER} header to keep your place in line",
            "code": "busy",
            "retry_after": retry_after,
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 429,
            "headers": [
                (b"content-type", b"application/json"),
                (b"retry-after", str(retry_after).encode()),
                (TICKET_HEADER.encode(), ticket.encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
