"""Seat rules: what status a seat really has, best-available choice, and box (all-or-nothing) sets.

Pure functions over plain values, so each rule is tested without a database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

STATUSES = ("available", "held", "sold", "reserved", "blocked")
"""Seat statuses shown to buyers and organisers (``removed`` seats are not shown at all)."""


def effective_status(status: str, hold_expires_at: float | None, now: float) -> str:
    """A held seat whose hold has run out is available, whether or not a sweeper ran."""
    if status == "held" and (hold_expires_at is None or hold_expires_at < now):
        return "available"
    return status


@dataclass(frozen=True, slots=True)
class FreeSeat:
    """An available seat as best-available sees it."""

    label: str
    section: str
    row: str
    position: int
    rank: int
    x: float = 0.0


@dataclass(frozen=True, slots=True)
class _Block:
    seats: tuple[FreeSeat, ...]
    orphans: int
    rank: int
    off_centre: float


def _runs(row: Sequence[FreeSeat]) -> list[list[FreeSeat]]:
    """Maximal runs of adjacent free seats (consecutive positions) in a row sorted by position."""
    runs: list[list[FreeSeat]] = []
    for seat in row:
        if runs and runs[-1][-1].position + 1 == seat.position:
            runs[-1].append(seat)
        else:
            runs.append([seat])
    return runs


def best_available(free: Iterable[FreeSeat], quantity: int) -> list[str] | None:
    """``quantity`` adjacent seats in one row, or None if no row has that many together.

    Preference, in order: leave no single orphan seat (a lone free seat next to the block
    that nobody buying in pairs will take) where any choice avoids it; nearest the stage
    (lowest row rank); nearest the middle of the run, so the row fills from the centre.
    """
    if quantity < 1:
        return None
    rows: dict[tuple[str, str], list[FreeSeat]] = {}
    for seat in free:
        rows.setdefault((seat.section, seat.row), []).append(seat)
    best: _Block | None = None
    best_key: tuple[int, int, float, str] | None = None
    for seats in rows.values():
        seats.sort(key=lambda s: s.position)
        for run in _runs(seats):
            if len(run) < quantity:
                continue
            centre = (len(run) - quantity) / 2
            for start in range(len(run) - quantity + 1):
                left, right = start, len(run) - start - quantity
                orphans = (left == 1) + (right == 1)
                block = _Block(
                    tuple(run[start : start + quantity]), orphans, run[0].rank, abs(start - centre)
                )
                key = (block.orphans, block.rank, block.off_centre, block.seats[0].label)
                if best_key is None or key < best_key:
                    best, best_key = block, key
    return None if best is None else [seat.label for seat in best.seats]


class BoxRuleError(ValueError):
    """Seats of a box requested without the rest of the box."""


def check_boxes(
    requested: Iterable[str], box_of: Mapping[str, str | None], box_members: Mapping[str, set[str]]
) -> None:
    """A box sells all or nothing: every box touched by the request must be requested whole."""
    wanted = set(requested)
    for label in wanted:
        box = box_of.get(label)
        if box is None:
            continue
        missing = box_members[box] - wanted
        if missing:
            raise BoxRuleError(f"box {box} sells whole: also hold {', '.join(sorted(missing))}")
