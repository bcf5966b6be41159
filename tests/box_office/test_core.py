"""The pure rules, without I/O: layouts, best available, boxes, order states, limits."""

from __future__ import annotations

import pytest

from box_office.core.errors import RuleError
from box_office.core.layout import (
    LayoutError,
    grid_layout,
    layout_to_csv,
    layout_to_json,
    parse_csv_layout,
    parse_json_layout,
)
from box_office.core.limits import Limits, check_limits
from box_office.core.orders import can_move, effective_order_status
from box_office.core.pricing import TicketTypeRule, price_of
from box_office.core.seating import BoxRuleError, FreeSeat, best_available, check_boxes, effective_status


def row(section: str, name: str, rank: int, positions: list[int]) -> list[FreeSeat]:
    return [FreeSeat(f"{section}-{name}-{p + 1}", section, name, p, rank) for p in positions]


def test_best_available_prefers_nearest_row_then_centre() -> None:
    free = row("A", "1", 0, list(range(10))) + row("A", "2", 1, list(range(10)))
    assert best_available(free, 2) == ["A-1-5", "A-1-6"]


def test_best_available_avoids_single_orphans() -> None:
    # Row 1 has a run of 3 free seats: taking 2 would strand 1; row 2 has exactly 2 together.
    free = row("A", "1", 0, [0, 1, 2]) + row("A", "2", 1, [5, 6])
    assert best_available(free, 2) == ["A-2-6", "A-2-7"]
    # If stranding one is the only way, it still sells.
    assert best_available(row("A", "1", 0, [0, 1, 2]), 2) is not None


def test_best_available_needs_adjacent_seats() -> None:
    free = row("A", "1", 0, [0, 2, 4, 6])
    assert best_available(free, 2) is None
    assert best_available(free, 1) is not None
    assert best_available([], 1) is None


def test_effective_status_frees_expired_holds() -> None:
    assert effective_status("held", 100.0, now=99.0) == "held"
    assert effective_status("held", 100.0, now=101.0) == "available"
    assert effective_status("sold", None, now=101.0) == "sold"


def test_box_sells_whole() -> None:
    box_of = {"B-1": "X", "B-2": "X", "C-1": None}
    members = {"X": {"B-1", "B-2"}}
    with pytest.raises(BoxRuleError, match="B-2"):
        check_boxes(["B-1", "C-1"], box_of, members)
    check_boxes(["B-1", "B-2"], box_of, members)


def test_order_state_machine() -> None:
    assert can_move("pending_payment", "paid") and can_move("paid", "ticketed")
    assert can_move("pending_payment", "expired") and can_move("pending_payment", "cancelled")
    assert not can_move("expired", "paid") and not can_move("ticketed", "pending_payment")
    assert effective_order_status("pending_payment", 10.0, now=11.0) == "expired"
    assert effective_order_status("ticketed", 10.0, now=11.0) == "ticketed"


def test_limits_name_the_rule_broken() -> None:
    limits = Limits(per_account=4, per_device=2, per_id=1)
    check_limits(limits, quantity=2, account_count=2, device_count=0, id_counts={})
    with pytest.raises(RuleError) as account:
        check_limits(limits, quantity=3, account_count=2, device_count=0, id_counts={})
    assert account.value.code == "limit_account"
    with pytest.raises(RuleError) as device:
        check_limits(limits, quantity=1, account_count=0, device_count=2, id_counts={})
    assert device.value.code == "limit_device"
    with pytest.raises(RuleError) as ident:
        check_limits(limits, quantity=1, account_count=0, device_count=0, id_counts={"110***1234": (1, 1)})
    assert ident.value.code == "limit_id" and "110***1234" in str(ident.value)


def test_price_rules() -> None:
    adult = TicketTypeRule("adult", "standard", {})
    child = TicketTypeRule("child", "standard", {"A": 100})
    box = TicketTypeRule("box", "box", {})
    assert price_of("A", 200, adult, in_box=False) == 200
    assert price_of("A", 200, child, in_box=False) == 100
    assert price_of("BOX", 900, box, in_box=True) == 900
    with pytest.raises(RuleError):
        price_of("BOX", 900, adult, in_box=True)
    with pytest.raises(RuleError):
        price_of("A", 200, box, in_box=False)


def test_layout_json_and_csv_round_trip() -> None:
    layout = grid_layout("Hall", ["A", "B"], 3, 4, ga=[("FLOOR", 100)])
    assert parse_json_layout(layout_to_json(layout)) == layout
    again = parse_csv_layout(layout_to_csv(layout), "Hall")
    assert again.seats == layout.seats and again.ga_areas == layout.ga_areas


def test_layout_ranks_rows_by_stage_distance() -> None:
    data = {
        "name": "Hall",
        "stage": {"x": 0, "y": 0},
        "sections": [
            {
                "code": "A",
                "rows": [
                    {"code": "far", "seats": [{"number": "1", "x": 0, "y": 30}]},
                    {"code": "near", "seats": [{"number": "1", "x": 0, "y": 5}]},
                ],
            }
        ],
    }
    seats = {s.row: s.rank for s in parse_json_layout(data).seats}
    assert seats["near"] < seats["far"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "JSON object"),
        (
            {
                "sections": [
                    {"code": "A", "rows": [{"code": "1", "seats": [{"number": "1"}, {"number": "1"}]}]}
                ]
            },
            "twice",
        ),
        ({"sections": [{"code": "", "rows": []}]}, "code"),
        (
            {"sections": [{"code": "A", "rows": [{"code": "1", "seats": [{"number": "1", "x": "left"}]}]}]},
            "number",
        ),
        ({"sections": []}, "neither seats"),
        ({"ga_areas": [{"code": "F", "capacity": -1}]}, "capacity"),
    ],
)
def test_bad_layouts_are_refused_with_a_reason(data: object, message: str) -> None:
    with pytest.raises(LayoutError, match=message):
        parse_json_layout(data)


def test_bad_csv_is_refused_with_the_line() -> None:
    with pytest.raises(LayoutError, match="line 2"):
        parse_csv_layout("section,row,number,x\nA,1,1,left\n")
    with pytest.raises(LayoutError, match="header"):
        parse_csv_layout("nothing useful\n")
