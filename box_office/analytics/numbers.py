"""The sales numbers of an event, computed from plain rows. No I/O.

Why pure: the same functions answer the console, the API and the exports, and the tests check
them against hand-counted rows as well as against the database after a scripted sale.
Money is integer cents; a refunded ticket is no longer sold and earns nothing (it is counted
under ``refunded``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

SOLD_ORDER_STATES = frozenset({"paid", "ticketed"})


@dataclass(frozen=True)
class SeatRow:
    zone: str
    status: str
    hold_expires_at: float | None
    count: int = 1
    """How many seats this row stands for (the query groups identical seats)."""


@dataclass(frozen=True)
class GaRow:
    zone: str
    capacity: int
    held: int
    sold: int


@dataclass(frozen=True)
class TicketRow:
    zone: str
    ticket_type: str
    price_cents: int
    order_status: str
    paid_at: float | None


@dataclass
class StockLine:
    key: str
    name: str
    capacity: int = 0
    sold: int = 0
    held: int = 0
    available: int = 0
    blocked: int = 0
    """Reserved or blocked by the organiser: not on sale, not sold."""


@dataclass
class RevenueLine:
    key: str
    name: str
    tickets: int = 0
    revenue_cents: int = 0
    refunded_tickets: int = 0
    refunded_cents: int = 0


@dataclass(frozen=True)
class FunnelStep:
    step: str
    count: int
    rate: float | None
    """Share of the step before (None for the first step, or when the step before is 0)."""


@dataclass
class Report:
    stock: list[StockLine] = field(default_factory=list)
    by_zone: list[RevenueLine] = field(default_factory=list)
    by_type: list[RevenueLine] = field(default_factory=list)
    sell_through: list[tuple[float, int, float]] = field(default_factory=list)
    funnel: list[FunnelStep] = field(default_factory=list)

    @property
    def totals(self) -> StockLine:
        total = StockLine("*", "total")
        for line in self.stock:
            total.capacity += line.capacity
            total.sold += line.sold
            total.held += line.held
            total.available += line.available
            total.blocked += line.blocked
        return total

    @property
    def revenue_cents(self) -> int:
        return sum(line.revenue_cents for line in self.by_zone)

    @property
    def refunded_cents(self) -> int:
        return sum(line.refunded_cents for line in self.by_zone)


def seat_state(status: str, hold_expires_at: float | None, now: float) -> str:
    """What a seat row means right now: sold, held, available, blocked (reserved/blocked) or removed.

    A hold whose time has passed is available even before the sweeper resets it (as the ledger sees it).
    """
    if status == "held":
        return "held" if hold_expires_at is not None and hold_expires_at >= now else "available"
    if status in ("reserved", "blocked"):
        return "blocked"
    return status


def stock_by_zone(
    seats: Iterable[SeatRow], areas: Iterable[GaRow], zone_names: Mapping[str, str], now: float
) -> list[StockLine]:
    """Capacity, sold, held, available and blocked per zone, in the order of ``zone_names``."""
    lines = {code: StockLine(code, name) for code, name in zone_names.items()}

    def line(code: str) -> StockLine:
        return lines.setdefault(code, StockLine(code, code))

    for seat in seats:
        state = seat_state(seat.status, seat.hold_expires_at, now)
        if state == "removed":
            continue
        target = line(seat.zone)
        target.capacity += seat.count
        setattr(target, state, getattr(target, state) + seat.count)
    for area in areas:
        target = line(area.zone)
        target.capacity += area.capacity
        target.sold += area.sold
        target.held += area.held
        target.available += max(0, area.capacity - area.sold - area.held)
    return list(lines.values())


def revenue(tickets: Iterable[TicketRow], key: str, names: Mapping[str, str]) -> list[RevenueLine]:
    """Tickets sold and revenue grouped by ``key`` ("zone" or "ticket_type"), named by ``names``."""
    lines = {code: RevenueLine(code, name) for code, name in names.items()}
    for ticket in tickets:
        code = ticket.zone if key == "zone" else ticket.ticket_type
        target = lines.setdefault(code, RevenueLine(code, code))
        if ticket.order_status in SOLD_ORDER_STATES:
            target.tickets += 1
            target.revenue_cents += ticket.price_cents
        elif ticket.order_status == "refunded":
            target.refunded_tickets += 1
            target.refunded_cents += ticket.price_cents
    return list(lines.values())


def sell_through(
    tickets: Iterable[TicketRow], capacity: int, start: float, end: float, buckets: int = 24
) -> list[tuple[float, int, float]]:
    """Cumulative tickets sold (still sold now) at the end of each of ``buckets`` equal steps
    from ``start`` to ``end``: (time, tickets, share of capacity)."""
    if buckets < 1 or end <= start:
        return []
    paid = sorted(t.paid_at for t in tickets if t.order_status in SOLD_ORDER_STATES and t.paid_at is not None)
    step = (end - start) / buckets
    points: list[tuple[float, int, float]] = []
    index = 0
    for i in range(1, buckets + 1):
        edge = start + i * step
        while index < len(paid) and paid[index] <= edge:
            index += 1
        share = index / capacity if capacity else 0.0
        points.append((edge, index, round(share, 4)))
    return points


def funnel(views: int, holds: int, orders: int, paid: int) -> list[FunnelStep]:
    """Seat-map views -> holds -> orders -> paid, each with its rate from the step before."""
    counts = [("views", views), ("holds", holds), ("orders", orders), ("paid", paid)]
    steps: list[FunnelStep] = []
    before: int | None = None
    for name, count in counts:
        rate = None if not before else round(count / before, 4)
        steps.append(FunnelStep(name, count, rate))
        before = count
    return steps
