"""The ledger: the only module that writes seat, GA and hold state.

Why one module: the no-oversell rule is a property of these writes, so it must live in one
place (tests/box_office/test_rules.py fails if any other module writes these tables). Every
function here runs inside the caller's transaction and changes stock with conditional UPDATEs
whose row counts say whether the change happened:

- a seat is taken by one UPDATE whose WHERE says "available, or held by a hold that has
  expired" (:func:`free_clause`); the rows it changed must equal the seats asked for, else the
  caller rolls the whole transaction back (all or nothing);
- GA stock is a counter row under ``CHECK (held + sold <= capacity)``, raised by a conditional
  UPDATE; places of an expired GA hold are given back by whoever flips the hold's status first,
  so a place is never returned twice;
- a hold becomes a sale only while it is still active and unexpired (:func:`sell_hold`), so a
  payment that arrives after its seats were re-sold can never sell them twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.orm import Session as Db

from box_office.store.db import changed
from box_office.store.models import Hold, HoldGa, SessionGa, SessionSeat

_NO_SYNC = {"synchronize_session": False}
UNSOLD_STATUSES = ("available", "reserved", "blocked", "removed")
"""Seat statuses an organiser may give an unsold seat."""


def free_clause(now: float) -> Any:
    """SQL condition: the seat can be taken now (available, or its hold has expired)."""
    return or_(
        SessionSeat.status == "available",
        and_(SessionSeat.status == "held", SessionSeat.hold_expires_at < now),
    )


# ------------------------------------------------------------------ stock a session


def stock_session(db: Db, seats: Sequence[Mapping[str, Any]], areas: Sequence[Mapping[str, Any]]) -> None:
    """Put a new session's seats (all available) and GA quotas (nothing held or sold) on sale."""
    rows = [dict(seat, status="available") for seat in seats]
    for start in range(0, len(rows), 5000):
        db.execute(insert(SessionSeat), rows[start : start + 5000])
    if areas:
        db.execute(insert(SessionGa), [dict(area, held=0, sold=0) for area in areas])


# ------------------------------------------------------------------ holds


def open_hold(
    db: Db,
    session_id: int,
    account_id: int,
    device_id: str | None,
    seat_count: int,
    expires: float,
    now: float,
) -> int:
    """A new active hold (nothing in it yet); returns its id."""
    hold_id: int = (
        db.connection()
        .execute(
            insert(Hold)
            .values(
                session_id=session_id,
                account_id=account_id,
                device_id=device_id,
                status="active",
                expires_at=expires,
                extended=False,
                seat_count=seat_count,
                created_at=now,
            )
            .returning(Hold.id)
        )
        .scalar_one()
    )
    return hold_id


class Taken(NamedTuple):
    """A seat just taken for a hold, as the conditional UPDATE returned it."""

    label: str
    zone_id: int
    box: str | None
    section: str
    row: str


def take_seats(
    db: Db, session_id: int, hold_id: int, labels: Sequence[str], expires: float, now: float
) -> list[Taken]:
    """Take every free seat of ``labels`` for the hold in one conditional UPDATE; the caller
    compares the count with what it asked for."""
    return [
        Taken(*row)
        for row in db.connection().execute(
            update(SessionSeat)
            .where(
                SessionSeat.session_id == session_id, SessionSeat.label.in_(sorted(labels)), free_clause(now)
            )
            .values(status="held", hold_id=hold_id, hold_expires_at=expires, changed_at=now)
            .returning(
                SessionSeat.label, SessionSeat.zone_id, SessionSeat.box, SessionSeat.section, SessionSeat.row
            )
            .execution_options(**_NO_SYNC)
        )
    ]


def take_ga(db: Db, hold_id: int, ga_id: int, quantity: int, now: float) -> bool:
    """Hold ``quantity`` places of a GA area if that many are left; False (nothing written) if not."""
    if not changed(
        db.connection().execute(
            update(SessionGa)
            .where(SessionGa.id == ga_id, SessionGa.held + SessionGa.sold + quantity <= SessionGa.capacity)
            .values(held=SessionGa.held + quantity, changed_at=now)
            .execution_options(**_NO_SYNC)
        )
    ):
        return False
    db.connection().execute(insert(HoldGa).values(hold_id=hold_id, ga_id=ga_id, quantity=quantity))
    return True


def close_hold(db: Db, hold_id: int, status: str, now: float, *, only_if_expired: bool = False) -> int:
    """Move an active hold to expired/released and give back what it held. 1 if this call did it."""
    where = [Hold.id == hold_id, Hold.status == "active"]
    if only_if_expired:
        where.append(Hold.expires_at < now)
    if not changed(
        db.connection().execute(
            update(Hold).where(*where).values(status=status).execution_options(**_NO_SYNC)
        )
    ):
        return 0
    for ga_id, quantity in (
        db.connection().execute(select(HoldGa.ga_id, HoldGa.quantity).where(HoldGa.hold_id == hold_id)).all()
    ):
        db.connection().execute(
            update(SessionGa)
            .where(SessionGa.id == ga_id)
            .values(held=SessionGa.held - quantity, changed_at=now)
            .execution_options(**_NO_SYNC)
        )
    db.connection().execute(
        update(SessionSeat)
        .where(SessionSeat.hold_id == hold_id, SessionSeat.status == "held")
        .values(status="available", hold_id=None, hold_expires_at=None, changed_at=now)
        .execution_options(**_NO_SYNC)
    )
    return 1


def extend_hold(db: Db, hold_id: int, new_expiry: float, now: float) -> int | None:
    """Extend a live, never-extended hold to ``new_expiry``: the number of its seats still held,
    or None if the hold had expired or was extended already."""
    if not changed(
        db.connection().execute(
            update(Hold)
            .where(
                Hold.id == hold_id, Hold.status == "active", Hold.expires_at >= now, Hold.extended.is_(False)
            )
            .values(expires_at=new_expiry, extended=True)
            .execution_options(**_NO_SYNC)
        )
    ):
        return None
    return changed(
        db.connection().execute(
            update(SessionSeat)
            .where(SessionSeat.hold_id == hold_id, SessionSeat.status == "held")
            .values(hold_expires_at=new_expiry, changed_at=now)  # so the live channel sees the new expiry
            .execution_options(**_NO_SYNC)
        )
    )


def sell_hold(db: Db, hold_id: int, order_id: int, ga_places: Mapping[int, int], now: float) -> bool:
    """Turn a still active, unexpired hold into a sale: its seats sold to the order, its GA
    places (``ga_id -> places``) moved from held to sold. False if the hold lapsed or lost a
    seat (the caller rolls back)."""
    seat_count = (
        db.connection()
        .execute(
            update(Hold)
            .where(Hold.id == hold_id, Hold.status == "active", Hold.expires_at >= now)
            .values(status="converted")
            .returning(Hold.seat_count)
            .execution_options(**_NO_SYNC)
        )
        .scalar()
    )
    if seat_count is None:
        return False
    sold = changed(
        db.connection().execute(
            update(SessionSeat)
            .where(SessionSeat.hold_id == hold_id, SessionSeat.status == "held")
            .values(status="sold", order_id=order_id, hold_expires_at=None, changed_at=now)
            .execution_options(**_NO_SYNC)
        )
    )
    if sold != seat_count:
        return False
    for ga_id, quantity in ga_places.items():
        db.connection().execute(
            update(SessionGa)
            .where(SessionGa.id == ga_id)
            .values(held=SessionGa.held - quantity, sold=SessionGa.sold + quantity, changed_at=now)
            .execution_options(**_NO_SYNC)
        )
    return True


def return_sold(db: Db, order_id: int, ga_places: Mapping[int, int], now: float) -> None:
    """Put a refunded order's seats and GA places (``ga_id -> places``) back on sale."""
    db.connection().execute(
        update(SessionSeat)
        .where(SessionSeat.order_id == order_id, SessionSeat.status == "sold")
        .values(status="available", order_id=None, hold_id=None, changed_at=now)
        .execution_options(**_NO_SYNC)
    )
    for ga_id, count in ga_places.items():
        db.connection().execute(
            update(SessionGa)
            .where(SessionGa.id == ga_id)
            .values(sold=SessionGa.sold - count, changed_at=now)
            .execution_options(**_NO_SYNC)
        )


def return_tickets(
    db: Db, order_id: int, seat_labels: Iterable[str], ga_places: Mapping[int, int], now: float
) -> None:
    """Put some of a sold order's seats and GA places back on sale (a per-ticket refund)."""
    labels = list(seat_labels)
    if labels:
        db.connection().execute(
            update(SessionSeat)
            .where(
                SessionSeat.order_id == order_id,
                SessionSeat.status == "sold",
                SessionSeat.label.in_(labels),
            )
            .values(status="available", order_id=None, hold_id=None, changed_at=now)
            .execution_options(**_NO_SYNC)
        )
    for ga_id, count in ga_places.items():
        db.connection().execute(
            update(SessionGa)
            .where(SessionGa.id == ga_id)
            .values(sold=SessionGa.sold - count, changed_at=now)
            .execution_options(**_NO_SYNC)
        )


def swap_seat(
    db: Db, session_id: int, order_id: int, old_label: str, new_label: str, now: float
) -> tuple[int, str | None] | None:
    """An exchange: sell the free seat ``new_label`` to the order and put ``old_label`` back on
    sale. Returns the new seat's (zone id, box), or None (nothing written) if it is not free."""
    taken = (
        db.connection()
        .execute(
            update(SessionSeat)
            .where(SessionSeat.session_id == session_id, SessionSeat.label == new_label, free_clause(now))
            .values(status="sold", order_id=order_id, hold_id=None, hold_expires_at=None, changed_at=now)
            .returning(SessionSeat.zone_id, SessionSeat.box)
            .execution_options(**_NO_SYNC)
        )
        .first()
    )
    if taken is None:
        return None
    db.connection().execute(
        update(SessionSeat)
        .where(
            SessionSeat.session_id == session_id,
            SessionSeat.label == old_label,
            SessionSeat.order_id == order_id,
            SessionSeat.status == "sold",
        )
        .values(status="available", order_id=None, hold_id=None, changed_at=now)
        .execution_options(**_NO_SYNC)
    )
    return int(taken[0]), taken[1]


def move_seat_to_order(
    db: Db, session_id: int, label: str, old_order: int, new_order: int, now: float
) -> int:
    """A transfer: a sold seat now belongs to the recipient's order (so that refunding either
    order returns only its own seats). Returns how many rows moved (1, or 0 if not sold to
    ``old_order``)."""
    return changed(
        db.connection().execute(
            update(SessionSeat)
            .where(
                SessionSeat.session_id == session_id,
                SessionSeat.label == label,
                SessionSeat.order_id == old_order,
                SessionSeat.status == "sold",
            )
            .values(order_id=new_order, changed_at=now)
            .execution_options(**_NO_SYNC)
        )
    )


# ------------------------------------------------------------------ organisers' changes


def set_unsold_status(db: Db, seat_ids: Iterable[int], status: str, now: float) -> int:
    """Give unsold seats (available, lapsed holds, reserved, blocked) ``status``; returns how many
    changed (a seat sold meanwhile is left alone, and the caller compares the count)."""
    if status not in UNSOLD_STATUSES:
        raise ValueError(f"not a status for an unsold seat: {status}")
    return changed(
        db.execute(
            update(SessionSeat)
            .where(
                SessionSeat.id.in_(list(seat_ids)),
                free_clause(now) | SessionSeat.status.in_(("reserved", "blocked")),
            )
            .values(status=status, hold_id=None, hold_expires_at=None, changed_at=now)
        )
    )


def rezone_unsold(db: Db, seat_ids: Iterable[int], zone_id: int, now: float) -> int:
    """Move unsold seats to another price zone; returns how many moved."""
    return changed(
        db.execute(
            update(SessionSeat)
            .where(
                SessionSeat.id.in_(list(seat_ids)),
                free_clause(now) | SessionSeat.status.in_(("reserved", "blocked")),
            )
            .values(zone_id=zone_id, changed_at=now)
        )
    )


def set_ga_capacity(db: Db, ga_id: int, capacity: int, now: float) -> bool:
    """A GA quota's new capacity, refused (False) below what is sold or held."""
    return bool(
        changed(
            db.execute(
                update(SessionGa)
                .where(SessionGa.id == ga_id, SessionGa.sold + SessionGa.held <= capacity)
                .values(capacity=capacity, changed_at=now)
            )
        )
    )
