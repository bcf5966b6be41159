"""The order rules of box_office/core/orders.py at their edges, written to kill mutants.

Pure functions, no I/O: every boundary (==, one over, one under), every refusal's code and
message, and the whole state table, so that bench/mutation.py finds no rule that a test
would not notice being changed."""

from __future__ import annotations

import pytest

from box_office.core.errors import RuleError
from box_office.core.holders import mask_name
from box_office.core.limits import Limits, check_limits, check_sale_window
from box_office.core.orders import (
    ORDER_STATES,
    TRANSITIONS,
    can_move,
    effective_order_status,
    require_move,
)
from box_office.core.pricing import TicketTypeRule, price_of
from box_office.core.tickets import ticket_window

ALLOWED = {
    ("pending_payment", "paid"),
    ("pending_payment", "expired"),
    ("pending_payment", "cancelled"),
    ("paid", "ticketed"),
    ("paid", "refunded"),
    ("ticketed", "refunded"),
}


def test_the_whole_state_table() -> None:
    assert ORDER_STATES == ("pending_payment", "paid", "ticketed", "expired", "cancelled", "refunded")
    for current in [*ORDER_STATES, "unknown"]:
        for target in [*ORDER_STATES, "unknown"]:
            assert can_move(current, target) == ((current, target) in ALLOWED), (current, target)
    assert {(c, t) for c, targets in TRANSITIONS.items() for t in targets} == ALLOWED


def test_require_move_names_both_states() -> None:
    require_move("paid", "ticketed")
    with pytest.raises(RuleError) as refused:
        require_move("expired", "paid")
    assert refused.value.code == "bad_state"
    assert str(refused.value) == "an order that is expired cannot become paid"


@pytest.mark.parametrize(
    ("status", "expires_at", "now", "effective"),
    [
        ("pending_payment", 100.0, 100.0, "pending_payment"),  # at its expiry: still payable
        ("pending_payment", 100.0, 100.5, "expired"),
        ("pending_payment", 100.0, 99.0, "pending_payment"),
        ("paid", 100.0, 200.0, "paid"),  # only unpaid orders expire
        ("cancelled", 100.0, 200.0, "cancelled"),
    ],
)
def test_effective_status(status: str, expires_at: float, now: float, effective: str) -> None:
    assert effective_order_status(status, expires_at, now) == effective


def test_sale_window_edges() -> None:
    check_sale_window(100.0, 200.0, 100.0)  # opens exactly at its start
    check_sale_window(100.0, 200.0, 200.0)  # and is still open at its end
    with pytest.raises(RuleError) as early:
        check_sale_window(100.0, 200.0, 99.5)
    assert early.value.code == "sale_not_started"
    assert str(early.value) == "the sale for this session has not started yet"
    with pytest.raises(RuleError) as late:
        check_sale_window(100.0, 200.0, 200.5)
    assert late.value.code == "sale_ended" and str(late.value) == "the sale for this session has ended"


ADULT = TicketTypeRule("adult", "standard", {})
CHILD = TicketTypeRule("child", "standard", {"A": 10000})
BOX = TicketTypeRule("box", "box", {"BOX": 90000})


def test_prices() -> None:
    assert price_of("A", 20000, ADULT, in_box=False) == 20000
    assert price_of("A", 20000, CHILD, in_box=False) == 10000
    assert price_of("VIP", 50000, CHILD, in_box=False) == 50000  # no child price there: the zone's
    assert price_of("BOX", 100000, BOX, in_box=True) == 90000
    with pytest.raises(RuleError) as single:
        price_of("BOX", 100000, ADULT, in_box=True)
    assert single.value.code == "box_type"
    assert str(single.value) == "box seats need a box ticket type, not adult"
    with pytest.raises(RuleError) as box_elsewhere:
        price_of("A", 20000, BOX, in_box=False)
    assert box_elsewhere.value.code == "box_type"
    assert str(box_elsewhere.value) == "ticket type box is only for box seats"


def limits_refusal(limits: Limits, **counts: object) -> RuleError | None:
    values: dict[str, object] = {"quantity": 1, "account_count": 0, "device_count": 0, "id_counts": {}}
    try:
        check_limits(limits, **(values | counts))  # type: ignore[arg-type]
    except RuleError as exc:
        return exc
    return None


def test_account_limit_edges() -> None:
    limits = Limits(per_account=4, per_device=None, per_id=None)
    assert limits_refusal(limits, quantity=2, account_count=2) is None  # exactly the limit
    refused = limits_refusal(limits, quantity=2, account_count=3)
    assert refused is not None and refused.code == "limit_account"
    assert str(refused) == (
        "at most 4 tickets per account for this session (you already have 3, this order adds 2)"
    )
    assert limits_refusal(Limits(None, None, None), quantity=99, account_count=99) is None


def test_device_limit_edges() -> None:
    limits = Limits(per_account=None, per_device=3, per_id=None)
    assert limits_refusal(limits, quantity=1, device_count=2) is None
    refused = limits_refusal(limits, quantity=2, device_count=2)
    assert refused is not None and refused.code == "limit_device"
    assert str(refused) == (
        "at most 3 tickets per device for this session (this device already has 2, this order adds 2)"
    )
    assert limits_refusal(limits, quantity=9, device_count=None) is None  # no device id: no limit


def test_id_limit_edges() -> None:
    limits = Limits(per_account=None, per_device=None, per_id=1)
    assert limits_refusal(limits, id_counts={"110***002X": (0, 1), "110***0016": (0, 1)}) is None
    refused = limits_refusal(limits, id_counts={"110***002X": (0, 1), "110***0016": (1, 1)})
    assert refused is not None and refused.code == "limit_id"
    assert str(refused) == (
        "at most 1 ticket(s) per ID number for this session: ID 110***0016 already has 1, this order adds 1"
    )
    assert limits_refusal(Limits(None, None, 2), id_counts={"x": (0, 2)}) is None
    assert limits_refusal(Limits(None, None, None), id_counts={"x": (5, 5)}) is None


def test_limits_are_checked_in_order_account_device_id() -> None:
    everything = Limits(per_account=1, per_device=1, per_id=1)
    refused = limits_refusal(everything, quantity=2, account_count=0, device_count=0, id_counts={"x": (1, 1)})
    assert refused is not None and refused.code == "limit_account"
    refused = limits_refusal(
        Limits(None, 1, 1), quantity=2, account_count=0, device_count=0, id_counts={"x": (1, 1)}
    )
    assert refused is not None and refused.code == "limit_device"


def test_ticket_window() -> None:
    assert ticket_window(100_000.9, 200_000.9) == (100_000 - 4 * 3600, 200_000 + 2 * 3600)


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张三", "张*"),
        ("欧阳娜娜", "欧***"),
        ("张", "张*"),
        ("", "*"),
        ("Zhang San", "Z**** S**"),
        ("Li  Bo X", "L* B* X*"),
    ],
)
def test_mask_name(name: str, masked: str) -> None:
    assert mask_name(name) == masked
