"""Which scan times the server trusts: a window around its own clock (pure, no I/O).

A gate decides offline with its own clock, so a scan's time (``at``) is the gate's word. A time
far in the future is always a wrong clock; one far in the past is either a wrong clock or an
upload after a very long outage. Either way the scan is kept as sent (it happened) but flagged,
and reconciliation orders it by its arrival instead of its own time, after every scan with a
trusted time: a wrong clock can never make a scan the ticket's entry in place of another.
"""

from __future__ import annotations

from dataclasses import dataclass

FUTURE = "future"
PAST = "past"


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """How far (seconds) a scan's own time may lie behind or ahead of the server's clock."""

    past: float = 24 * 3600.0
    future: float = 300.0

    def flag(self, at: float, now: float) -> str | None:
        """``"future"`` or ``"past"`` for a time outside the window, else ``None``."""
        if at > now + self.future:
            return FUTURE
        if at < now - self.past:
            return PAST
        return None


CLOCK_TOLERANCE = 60.0
"""A device clock offset beyond this (seconds) is shown to organisers as a wrong clock."""
