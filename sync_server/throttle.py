"""Failure throttling with lock-out and exponential back-off (pure: the clock is passed in).

Used for organiser logins (per user name and per client address) and enrolment codes (per
address). Each key may fail ``free`` times; every failure after that locks the key for
``base * 2**n`` seconds (capped at ``cap``). A success clears the key, and a key with no failure
for ``forget`` seconds starts afresh. At most ``max_keys`` keys are remembered (oldest dropped),
so a flood of made-up user names cannot grow memory without bound.

Callers count an attempt as a failure *before* the slow check and take it back when it
succeeds (:meth:`forgive`, :meth:`succeeded`), so a burst of concurrent guesses is limited as
well as a sequence: every guess in flight already counts.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class _Failures:
    count: int
    last: float
    locked_until: float


class Throttle:
    def __init__(
        self,
        *,
        free: int,
        base: float = 1.0,
        cap: float = 900.0,
        forget: float = 3600.0,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.free = free
        self.base = base
        self.cap = cap
        self.forget = forget
        self.max_keys = max_keys
        self.clock = clock
        self._keys: OrderedDict[str, _Failures] = OrderedDict()

    def retry_after(self, key: str) -> float:
        """Seconds until ``key`` may try again (0 when it may now)."""
        entry = self._keys.get(key)
        if entry is None:
            return 0.0
        now = self.clock()
        if now - entry.last > self.forget and now >= entry.locked_until:
            del self._keys[key]
            return 0.0
        return max(0.0, entry.locked_until - now)

    def failed(self, key: str) -> float:
        """Count a failure; returns the lock-out it caused (0 while under ``free``)."""
        now = self.clock()
        entry = self._keys.pop(key, None)
        if entry is None or now - entry.last > self.forget:
            entry = _Failures(0, now, now)
        entry.count += 1
        entry.last = now
        over = entry.count - self.free
        delay = min(self.cap, self.base * 2 ** (over - 1)) if over > 0 else 0.0
        entry.locked_until = now + delay
        self._keys[key] = entry
        while len(self._keys) > self.max_keys:
            self._keys.popitem(last=False)
        return delay

    def succeeded(self, key: str) -> None:
        self._keys.pop(key, None)

    def forgive(self, key: str) -> None:
        """Take back one failure counted in advance (the attempt turned out right)."""
        entry = self._keys.get(key)
        if entry is None:
            return
        entry.count -= 1
        if entry.count <= 0:
            del self._keys[key]
        elif entry.count <= self.free:
            entry.locked_until = min(entry.locked_until, self.clock())
