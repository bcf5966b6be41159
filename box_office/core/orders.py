"""The order state machine. No I/O.

Every order status change in the box office goes through :func:`require_move` (applied by
``box_office.sales.order_state``), so a move the machine does not allow raises instead of
being written; tests/box_office/test_rules.py checks that no other module writes an order's
status or compares it with a string literal.
"""

from __future__ import annotations

from collections.abc import Mapping

from box_office.core.errors import RuleError

PENDING_PAYMENT = "pending_payment"
PAID = "paid"
TICKETED = "ticketed"
EXPIRED = "expired"
CANCELLED = "cancelled"
REFUNDED = "refunded"

TRANSITIONS: Mapping[str, frozenset[str]] = {
    PENDING_PAYMENT: frozenset({PAID, EXPIRED, CANCELLED}),
    PAID: frozenset({TICKETED, REFUNDED}),
    TICKETED: frozenset({REFUNDED}),
    EXPIRED: frozenset(),
    CANCELLED: frozenset(),
    REFUNDED: frozenset(),
}
ORDER_STATES = tuple(TRANSITIONS)
OPENED = PENDING_PAYMENT
"""The state every order starts in."""
SOLD = frozenset({PAID, TICKETED})
"""Money captured, seats sold: what a refund can undo."""
UNSETTLED = frozenset({PENDING_PAYMENT, PAID})
"""States an order leaves on its own (payment arrives, tickets are issued, time runs out)."""


class IllegalMove(RuleError):
    """A status change the state machine does not allow (a bug, never a buyer's mistake)."""


def can_move(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


def require_move(current: str, target: str) -> None:
    if not can_move(current, target):
        raise IllegalMove("bad_state", f"an order that is {current} cannot become {target}")


def effective_order_status(status: str, expires_at: float, now: float) -> str:
    """An unpaid order past its expiry is expired, before any sweeper records it."""
    if status == PENDING_PAYMENT and expires_at < now:
        return EXPIRED
    return status


def is_live(status: str, expires_at: float, now: float) -> bool:
    """Does an order in this state count towards purchase limits? Paid or ticketed, or unpaid
    and not yet expired. The one definition of "a live ticket" (``sales.limits`` turns it into SQL)."""
    return status in SOLD or (status == PENDING_PAYMENT and expires_at >= now)
