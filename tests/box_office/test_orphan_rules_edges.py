"""The no-single-seat rule of box_office/core/orphans.py at its edges, written to kill mutants."""

from __future__ import annotations

import pytest

from box_office.core.orphans import OrphanRuleError, RowSeat, check_no_orphans, orphans_created


def seats(spec: dict[int, str], taken: tuple[int, ...] = ()) -> list[RowSeat]:
    return [RowSeat(label, position, position not in taken) for position, label in spec.items()]


def test_an_unavoidable_orphan_in_a_later_run_is_allowed() -> None:
    # 1-2 free, 3 sold, 4-5-6 free: two of the three at 4-6 always leave one; no choice avoids it.
    row = seats({1: "R1", 2: "R2", 3: "R3", 4: "R4", 5: "R5", 6: "R6"}, taken=(3,))
    assert orphans_created(row, ["R4", "R5"]) == []
    assert orphans_created(row, ["R5"]) == ["R4", "R6"]


def test_orphans_are_named_in_seat_order_not_label_order() -> None:
    row = seats({1: "x9", 2: "p1", 3: "x10", 4: "p2", 5: "x11"})
    assert orphans_created(row, ["p1", "p2"]) == ["x9", "x10", "x11"]


def test_every_row_is_checked_not_only_the_first() -> None:
    rows = {
        ("A", "1"): seats({1: "A1-1", 2: "A1-2"}),
        ("A", "2"): seats({1: "A2-1", 2: "A2-2", 3: "A2-3"}),
    }
    with pytest.raises(OrphanRuleError) as refused:
        check_no_orphans(rows, ["A2-2"])
    assert refused.value.orphans == ["A2-1", "A2-3"]
    check_no_orphans(rows, ["A2-1", "A2-2"])  # leaves A2-3, but no choice of two avoids that


def test_the_message_names_at_most_ten_seats() -> None:
    error = OrphanRuleError([f"S{i}" for i in range(1, 13)])
    assert str(error) == (
        "choose seats that leave no single empty seat beside them: "
        "S1, S2, S3, S4, S5, S6, S7, S8, S9, S10 would be left alone"
    )
    assert len(error.orphans) == 12
