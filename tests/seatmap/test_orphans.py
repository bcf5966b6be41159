"""The pure no-orphan-seat rule, on plain rows."""

from __future__ import annotations

import pytest

from box_office.core.orphans import OrphanRuleError, RowSeat, check_no_orphans, lone_seats, orphans_created


def row(pattern: str, name: str = "A-1") -> list[RowSeat]:
    """A row from a picture: ``.`` free, ``x`` taken, `` `` an aisle (a gap in positions)."""
    seats = []
    for position, char in enumerate(pattern):
        if char == " ":
            continue
        seats.append(RowSeat(f"{name}-{position + 1}", position, char == "."))
    return seats


def labels(*numbers: int, name: str = "A-1") -> list[str]:
    return [f"{name}-{n}" for n in numbers]


def test_lone_seats_between_taken_seats_and_row_ends() -> None:
    assert lone_seats(row(".x..x.x")) == set(labels(1, 6))
    assert lone_seats(row("......")) == set()


def test_an_aisle_ends_a_run() -> None:
    # seats 1-3, aisle, seats 5-7: taking seat 2 strands seat 3 against the aisle (and seat 1)
    assert lone_seats(row("... ...")) == set()
    assert orphans_created(row("... ..."), labels(2)) == labels(1, 3)
    assert orphans_created(row("... ...."), labels(6, 7)) == labels(5, 8)


def test_taking_from_the_end_of_a_row_is_fine() -> None:
    assert orphans_created(row("......"), labels(1, 2)) == []
    assert orphans_created(row("......"), labels(5, 6)) == []


def test_leaving_one_seat_at_the_end_is_refused() -> None:
    assert orphans_created(row("......"), labels(2, 3)) == labels(1)
    assert orphans_created(row("......"), labels(4, 5)) == labels(6)


def test_leaving_one_seat_next_to_a_sold_seat_is_refused() -> None:
    assert orphans_created(row("x.....x"), labels(3, 4)) == labels(2)


def test_a_gap_of_one_inside_the_pick_is_refused() -> None:
    assert orphans_created(row("......"), labels(1, 3)) == labels(2)
    # even where the run is exactly one longer than the pick: 1+3 strands 2, 1+2 would not
    assert orphans_created(row("..."), labels(1, 3)) == labels(2)


def test_unavoidable_orphan_is_allowed() -> None:
    # three free seats, two wanted: any two adjacent seats leave one
    assert orphans_created(row("x...x"), labels(2, 3)) == []
    assert orphans_created(row("x...x"), labels(3, 4)) == []


def test_taking_an_existing_orphan_is_fine() -> None:
    assert orphans_created(row("x.x...."), labels(2)) == []


def test_gap_of_two_is_fine() -> None:
    assert orphans_created(row("........"), labels(3, 4)) == []


def test_check_no_orphans_over_rows_names_the_seats() -> None:
    rows = {("A", "1"): row("......", "A-1"), ("A", "2"): row("......", "A-2")}
    check_no_orphans(rows, labels(1, 2, name="A-1") + labels(3, 4, name="A-2"))
    with pytest.raises(OrphanRuleError) as caught:
        check_no_orphans(rows, labels(2, 3, name="A-1"))
    assert caught.value.orphans == labels(1, name="A-1")
    assert "A-1-1" in str(caught.value)


def test_rows_without_a_pick_are_not_judged() -> None:
    rows = {("A", "1"): row(".x.x.", "A-1"), ("A", "2"): row("....", "A-2")}
    check_no_orphans(rows, labels(1, 2, name="A-2"))
