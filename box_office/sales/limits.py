"""Purchase limits in SQL: live tickets per account, device and ID digest.

"Live" is :func:`box_office.core.orders.is_live` (paid or ticketed, or unpaid and not yet
expired), written once here as SQL for checkout and for holder changes alike: a ticket of an
expired or cancelled order never counts, whether or not a sweeper has recorded the expiry.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session as Db

from box_office.core.orders import PENDING_PAYMENT, SOLD
from box_office.store.models import Hold, HoldGa, Order, Ticket


def live_order(now: float) -> Any:
    """SQL condition: the order's tickets count towards limits (see the module docstring)."""
    return or_(Order.status.in_(SOLD), (Order.status == PENDING_PAYMENT) & (Order.expires_at >= now))


def live_counts(
    db: Db, session_id: int, account_id: int | None, device_id: str | None, digests: list[str], now: float
) -> tuple[int, int | None, dict[str, int]]:
    """Live tickets of this session per account, device and ID digest, in one round trip.

    Each count is its own scalar subquery so that each uses its index (orders by account,
    orders by session and device, tickets by session and ID digest).
    """
    counted = (
        select(func.count(Ticket.id))
        .join(Order, Order.id == Ticket.order_id)
        .where(Order.session_id == session_id, live_order(now))
    )
    columns = [counted.where(Order.account_id == account_id).scalar_subquery()]
    if device_id:
        columns.append(counted.where(Order.device_id == device_id).scalar_subquery())
    columns += [
        counted.where(Ticket.session_id == session_id, Ticket.id_digest == d).scalar_subquery()
        for d in digests
    ]
    row = db.connection().execute(select(*columns)).one()
    values = [int(v or 0) for v in row]
    account_count = values.pop(0)
    device_count = values.pop(0) if device_id else None
    return account_count, device_count, dict(zip(digests, values, strict=True))


def held_counts(
    db: Db, session_id: int, account_id: int, device_id: str | None, now: float
) -> tuple[int, int]:
    """Seats and GA places in this session's active, unexpired holds that have no order yet, of
    the account and of the device (issue #13: holds count towards limits, so one account
    cannot sit on more seats than it may buy by opening hold after hold)."""
    unordered = (
        (Hold.session_id == session_id)
        & (Hold.status == "active")
        & (Hold.expires_at >= now)
        & ~exists().where(Order.hold_id == Hold.id)
    )

    def held(who: Any) -> Any:
        seats = select(func.coalesce(func.sum(Hold.seat_count), 0)).where(unordered, who).scalar_subquery()
        places = (
            select(func.coalesce(func.sum(HoldGa.quantity), 0))
            .join(Hold, Hold.id == HoldGa.hold_id)
            .where(unordered, who)
            .scalar_subquery()
        )
        return seats + places

    row = (
        db.connection()
        .execute(select(held(Hold.account_id == account_id), held(Hold.device_id == (device_id or ""))))
        .one()
    )
    return int(row[0] or 0), int(row[1] or 0)
