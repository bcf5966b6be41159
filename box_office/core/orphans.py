"""The no-orphan-seat rule for seats a buyer picks by hand. Pure: plain values in, a verdict out.

Why: a single free seat stranded between taken seats (or between a taken seat and the end of
the row or an aisle) is almost never sold, because people rarely go to a concert alone. The
best-available search already avoids making orphans; this rule stops a buyer making one by
clicking, on the server, so a hand-made request cannot get round the page.

Seats are adjacent when their ``position`` values in a row are consecutive (a gap is an aisle,
as in :mod:`box_office.core.layout`). A pick is refused when, after it, a row has a lone free
seat that was not lone before, unless the buyer could not have avoided it: the run of free
seats they picked from was exactly one seat longer than what they took from it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RowSeat:
    """One seat of a row as the rule sees it."""

    label: str
    position: int
    free: bool


class OrphanRuleError(ValueError):
    """The pick would strand single seats; ``orphans`` names them."""

    def __init__(self, orphans: list[str]) -> None:
        super().__init__(
            "choose seats that leave no single empty seat beside them: "
            f"{', '.join(orphans[:10])} would be left alone"
        )
        self.orphans = orphans


def _runs(seats: list[RowSeat], free: set[str]) -> list[list[RowSeat]]:
    """Maximal runs of adjacent seats whose label is in ``free``, in position order."""
    runs: list[list[RowSeat]] = []
    previous: RowSeat | None = None
    for seat in seats:
        if seat.label in free:
            if (
                runs
                and previous is not None
                and previous.label in free
                and previous.position + 1 == seat.position
            ):
                runs[-1].append(seat)
            else:
                runs.append([seat])
        previous = seat
    return runs


def lone_seats(row: Iterable[RowSeat], taken: Iterable[str] = ()) -> set[str]:
    """Free seats of ``row`` with no free neighbour once the seats in ``taken`` are taken."""
    seats = sorted(row, key=lambda s: s.position)
    gone = set(taken)
    free = {s.label for s in seats if s.free and s.label not in gone}
    return {run[0].label for run in _runs(seats, free) if len(run) == 1}


def orphans_created(row: Iterable[RowSeat], picked: Iterable[str]) -> list[str]:
    """Lone seats the pick would create in one row and that the buyer could have avoided."""
    seats = sorted(row, key=lambda s: s.position)
    wanted = {label for label in picked}
    before = lone_seats(seats)
    after = lone_seats(seats, wanted)
    new = after - before
    if not new:
        return []
    free_before = {s.label for s in seats if s.free}
    unavoidable: set[str] = set()
    for run in _runs(seats, free_before):
        labels = [s.label for s in run]
        taken_here = [i for i, label in enumerate(labels) if label in wanted]
        if not taken_here:
            continue
        contiguous = taken_here[-1] - taken_here[0] + 1 == len(taken_here)
        if contiguous and len(labels) - len(taken_here) == 1:
            unavoidable.update(labels)
    return sorted(new - unavoidable, key=lambda label: next(s.position for s in seats if s.label == label))


def check_no_orphans(rows: Mapping[tuple[str, str], Iterable[RowSeat]], picked: Iterable[str]) -> None:
    """Raise :class:`OrphanRuleError` if picking ``picked`` strands a seat in any of ``rows``.

    ``rows`` maps (section, row) to every seat of that row (free or not); only rows holding a
    picked seat need to be given.
    """
    wanted = set(picked)
    stranded: list[str] = []
    for key in sorted(rows):
        seats = list(rows[key])
        if wanted.isdisjoint(s.label for s in seats):
            continue
        stranded.extend(orphans_created(seats, wanted))
    if stranded:
        raise OrphanRuleError(stranded)
