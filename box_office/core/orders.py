"""Order rules: the state machine, prices, purchase limits and the sale window. No I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

TRANSITIONS: Mapping[str, frozenset[str]] = {
    "pending_payment": frozenset({"paid", "expired", "cancelled"}),
    "paid": frozenset({"ticketed", "refunded"}),
    "ticketed": frozenset({"refunded"}),
    "expired": frozenset(),
    "cancelled": frozenset(),
    "refunded": frozenset(),
}
ORDER_STATES = tuple(TRANSITIONS)


class RuleError(ValueError):
    """A request the rules refuse; ``code`` is a stable machine-readable reason."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def can_move(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


def require_move(current: str, target: str) -> None:
    if not can_move(current, target):
        raise RuleError("bad_state", f"an order that is {current} cannot become {target}")


def effective_order_status(status: str, expires_at: float, now: float) -> str:
    """An unpaid order past its expiry is expired, before any sweeper records it."""
    if status == "pending_payment" and expires_at < now:
        return "expired"
    return status


def check_sale_window(sale_starts_at: float, sale_ends_at: float, now: float) -> None:
    if now < sale_starts_at:
        raise RuleError("sale_not_started", "the sale for this session has not started yet")
    if now > sale_ends_at:
        raise RuleError("sale_ended", "the sale for this session has ended")


@dataclass(frozen=True, slots=True)
class TicketTypeRule:
    code: str
    kind: str  # "standard" or "box"
    prices: Mapping[str, int]


def price_of(zone_code: str, zone_price: int, ticket_type: TicketTypeRule, in_box: bool) -> int:
    """Price in cents of one ticket: the type's price for the zone, else the zone's base price.

    Box seats need a box ticket type and box types only fit box seats, so a box cannot be
    sold seat by seat at the single-seat price.
    """
    if in_box and ticket_type.kind != "box":
        raise RuleError("box_type", f"box seats need a box ticket type, not {ticket_type.code}")
    if not in_box and ticket_type.kind == "box":
        raise RuleError("box_type", f"ticket type {ticket_type.code} is only for box seats")
    return ticket_type.prices.get(zone_code, zone_price)


@dataclass(frozen=True, slots=True)
class Limits:
    per_account: int | None
    per_device: int | None
    per_id: int | None


def check_limits(
    limits: Limits,
    *,
    quantity: int,
    account_count: int,
    device_count: int | None,
    id_counts: Mapping[str, tuple[int, int]],
) -> None:
    """Refuse an order that would take a buyer over a session limit, saying which one.

    ``id_counts`` maps each masked ID in the order to (tickets already held by that ID,
    tickets for it in this order).
    """
    if limits.per_account is not None and account_count + quantity > limits.per_account:
        raise RuleError(
            "limit_account",
            f"at most {limits.per_account} tickets per account for this session "
            f"(you already have {account_count}, this order adds {quantity})",
        )
    if (
        limits.per_device is not None
        and device_count is not None
        and device_count + quantity > limits.per_device
    ):
        raise RuleError(
            "limit_device",
            f"at most {limits.per_device} tickets per device for this session "
            f"(this device already has {device_count}, this order adds {quantity})",
        )
    if limits.per_id is not None:
        for masked, (existing, adding) in id_counts.items():
            if existing + adding > limits.per_id:
                raise RuleError(
                    "limit_id",
                    f"at most {limits.per_id} ticket(s) per ID number for this session: "
                    f"ID {masked} already has {existing}, this order adds {adding}",
                )


def ticket_window(starts_at: float, ends_at: float) -> tuple[int, int]:
    """When a ticket admits: doors open up to 4 hours before the start, until 2 hours after the end."""
    return int(starts_at) - 4 * 3600, int(ends_at) + 2 * 3600


def mask_name(name: str) -> str:
    """A holder's name as shown on screens and e-mails: first letter of each part, rest hidden."""
    parts = name.split()
    if len(parts) <= 1:
        return name[:1] + "*" * max(1, len(name) - 1)
    return " ".join(p[:1] + "*" * max(1, len(p) - 1) for p in parts)
