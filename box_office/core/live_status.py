"""The live channel's picture of one session's seats: what each seat shows and when holds run out.

Pure bookkeeping over plain values (no database, no clock, no asyncio), so that the rules of the
live channel are tested on their own: which changed rows become a ``seats`` diff, and which held
seats must be pushed back as available at their expiry although no row changed (no sweeper may
have run yet, and a hold made before anyone listened still runs out).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from box_office.core.seating import effective_status

SeatRow = tuple[str, str, float | None]
"""A seat as the database has it: label, stored status, hold expiry (epoch seconds or None)."""


@dataclass
class SeatBoard:
    """What every seat of a session shows right now (label -> effective status, removed seats
    left out, in the order the seats were first seen) and when each seat shown held runs out.

    Every change goes through :meth:`apply` or :meth:`expire`, which return the diff to push, so
    the board and what subscribers were told never drift apart.
    """

    statuses: dict[str, str] = field(default_factory=dict)
    expiries: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_rows(cls, rows: Iterable[SeatRow], now: float) -> SeatBoard:
        """The board of a session read in full (rows of removed seats are skipped)."""
        board = cls()
        board.apply(rows, now)
        return board

    def apply(self, rows: Iterable[SeatRow], now: float) -> dict[str, str]:
        """Take in rows changed since the last look; return the seats whose shown status changed.

        A row may be read more than once (the poll re-reads a few seconds back because commits
        land late): an unchanged status gives no diff. A held row refreshes its expiry, so a hold
        extended at checkout is not pushed back at its first expiry. A removed seat leaves the
        board quietly (the wire format has no way to say "gone"; the page keeps its last status).
        """
        diff: dict[str, str] = {}
        for label, raw, expires in rows:
            if raw == "removed":
                self.statuses.pop(label, None)
                self.expiries.pop(label, None)
                continue
            current = effective_status(raw, expires, now)
            if current == "held" and expires is not None:
                self.expiries[label] = expires
            else:
                self.expiries.pop(label, None)
            if self.statuses.get(label) != current:
                diff[label] = self.statuses[label] = current
        return diff

    def expire(self, now: float) -> dict[str, str]:
        """Seats shown held whose hold ran out before ``now``: shown available from now on."""
        due = [label for label, expires in self.expiries.items() if expires < now]
        diff: dict[str, str] = {}
        for label in due:
            del self.expiries[label]
            if self.statuses.get(label) == "held":
                diff[label] = self.statuses[label] = "available"
        return diff

    def tick(self, rows: Iterable[SeatRow], now: float) -> dict[str, str]:
        """One poll: changed rows, then expiries; the diff of both together."""
        diff = self.apply(rows, now)
        diff.update(self.expire(now))
        return diff
