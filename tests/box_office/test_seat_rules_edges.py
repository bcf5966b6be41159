"""Seat rules of box_office/core/seating.py at their edges, written to kill mutants."""

from __future__ import annotations

import pytest

from box_office.core.seating import BoxRuleError, FreeSeat, best_available, check_boxes, effective_status


def row(positions: list[int], *, row_code: str = "1", rank: int = 0) -> list[FreeSeat]:
    return [FreeSeat(f"{row_code}-{p:02d}", "A", row_code, p, rank) for p in positions]


def test_a_hold_is_still_held_at_its_expiry_instant() -> None:
    assert effective_status("held", 100.0, 100.0) == "held"
    assert effective_status("held", 100.0, 100.5) == "available"
    assert effective_status("held", None, 0.0) == "available"
    assert effective_status("sold", 1.0, 100.0) == "sold"


def test_a_short_run_first_does_not_hide_a_long_run_later_in_the_row() -> None:
    assert best_available(row([1, 2, 5, 6, 7]), 3) == ["1-05", "1-06", "1-07"]


def test_no_single_seat_left_on_either_side() -> None:
    # Five together, two wanted: the two middle choices would leave one seat alone; of the two
    # ends (equally off centre) the first by label is taken.
    assert best_available(row([1, 2, 3, 4, 5]), 2) == ["1-01", "1-02"]
    assert best_available(row([1, 2, 3, 4, 5, 6]), 2) == ["1-03", "1-04"]  # the centre: no orphan either side


def test_nearest_the_stage_wins_between_rows() -> None:
    seats = row([1, 2, 3], row_code="2", rank=1) + row([1, 2, 3], row_code="1", rank=0)
    assert best_available(seats, 3) == ["1-01", "1-02", "1-03"]
    assert best_available(seats, 4) is None
    assert best_available(seats, 0) is None


def test_a_box_sells_whole_and_names_every_missing_seat() -> None:
    box_of = {"B-1": "B1", "B-2": "B1", "B-3": "B1", "A-1": None}
    members = {"B1": {"B-1", "B-2", "B-3"}}
    check_boxes(["A-1", "B-1", "B-2", "B-3"], box_of, members)
    check_boxes(["A-1"], box_of, members)
    with pytest.raises(BoxRuleError) as refused:
        check_boxes(["B-1"], box_of, members)
    assert str(refused.value) == "box B1 sells whole: also hold B-2, B-3"


def test_rank_not_the_label_decides_between_rows() -> None:
    # The row nearest the stage has the label that sorts last: only its rank can pick it.
    seats = row([1, 2, 3], row_code="1", rank=5) + row([1, 2, 3], row_code="9", rank=0)
    assert best_available(seats, 3) == ["9-01", "9-02", "9-03"]
