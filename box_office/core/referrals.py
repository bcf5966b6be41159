"""Referral rules: which referrer an order belongs to, what commission it earns, and where that
commission stands. No I/O."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from box_office.core.orders import CANCELLED, EXPIRED, REFUNDED, SOLD
from box_office.core.pricing_pipeline import BASIS, percent_of

PERCENT = "percent"
FIXED = "fixed"


@dataclass(frozen=True, slots=True)
class Seen:
    """A buyer arrived through ``referrer_id``'s link at ``seen_at``; it counts for ``window`` seconds."""

    referrer_id: int
    seen_at: float
    window: float


def attributed(seen: Iterable[Seen], now: float) -> int | None:
    """The last referral code seen and still inside its window (last touch wins), else None."""
    live = [s for s in seen if s.seen_at <= now < s.seen_at + s.window]
    if not live:
        return None
    return max(live, key=lambda s: (s.seen_at, s.referrer_id)).referrer_id


def commission(
    mode: str, value: int, line_prices: Sequence[int], *, group_order: bool, include_group: bool
) -> int:
    """Commission in fen: ``percent`` (basis points, rounded down) of what the buyer pays, or
    ``fixed`` per paid ticket. Free tickets earn nothing; group-buy orders nothing unless set."""
    if group_order and not include_group:
        return 0
    paid = [p for p in line_prices if p > 0]
    if mode == PERCENT:
        if not 0 <= value <= BASIS:
            raise ValueError("a percentage commission is 0..10000 basis points")
        return percent_of(sum(paid), value)
    if mode == FIXED:
        return max(0, value) * len(paid)
    raise ValueError(f"unknown commission mode {mode!r}")


def standing(order_status: str, session_ended: bool) -> str | None:
    """Where a commission stands: ``settled`` once the order is sold and the show has taken place,
    ``pending`` while it may still be refunded, ``reversed`` when refunded; None when the order
    never sold (expired, cancelled)."""
    if order_status == REFUNDED:
        return "reversed"
    if order_status in (EXPIRED, CANCELLED):
        return None
    if order_status in SOLD and session_ended:
        return "settled"
    return "pending"
