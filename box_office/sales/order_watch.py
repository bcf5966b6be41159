"""Wait for orders to settle without the buyer polling: the server-side half of ``?wait=``.

A buyer who has confirmed a payment wants to know the moment the tickets exist. Polling costs
a full request (auth, transaction, order view) every few hundred milliseconds per buyer; in an
on-sale spike those polls were the largest single cost. Instead the buyer's request waits here.

Per process there is one :class:`OrderWatch`. Waiters register an order id and sleep on an
asyncio event. They are woken

- at once when this process itself settled the order (:meth:`OrderWatch.settled`, called after
  the commit of a payment notification), and
- otherwise by one shared background look every ``interval`` seconds that reads the status of
  every watched order in a single query, so orders settled by another worker process are seen
  too. The cost is one small query per tick per process, whatever the number of waiters.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable

from starlette.concurrency import run_in_threadpool

from box_office.core.orders import UNSETTLED


class OrderWatch:
    """Wake waiters when their order leaves :data:`UNSETTLED`."""

    def __init__(self, lookup: Callable[[list[int]], dict[int, str]], interval: float = 0.05) -> None:
        self._lookup = lookup  # order id -> stored status, for the ids asked (runs in a thread)
        self._interval = interval
        self._waiters: dict[int, set[asyncio.Event]] = {}
        self._task: asyncio.Task[None] | None = None

    async def wait(self, order_id: int, timeout: float) -> None:
        """Return when the order may have settled, or after ``timeout`` seconds."""
        event = asyncio.Event()
        self._waiters.setdefault(order_id, set()).add(event)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._look_loop())
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), timeout)
        finally:
            waiting = self._waiters.get(order_id)
            if waiting is not None:
                waiting.discard(event)
                if not waiting:
                    del self._waiters[order_id]

    def settled(self, order_ids: Iterable[int]) -> None:
        """This process changed these orders: wake their waiters now (call on the event loop)."""
        for order_id in order_ids:
            for event in self._waiters.get(order_id, ()):
                event.set()

    async def _look_loop(self) -> None:
        while self._waiters:
            await asyncio.sleep(self._interval)
            ids = list(self._waiters)
            if not ids:
                break
            try:
                statuses = await run_in_threadpool(self._lookup, ids)
            except Exception:  # the database hiccuped: waiters time out or the next tick sees it
                continue
            self.settled(i for i in ids if statuses.get(i, "gone") not in UNSETTLED)
