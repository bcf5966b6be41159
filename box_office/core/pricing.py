"""Prices: what one ticket costs, by zone and ticket type. No I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from box_office.core.errors import RuleError


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
