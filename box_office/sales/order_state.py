"""Order status changes: the state machine of ``core.orders`` applied to the database.

The only module that writes ``orders.status``. Each move is first checked by
:func:`~box_office.core.orders.require_move` (an illegal move raises
:class:`~box_office.core.orders.IllegalMove` before anything is written), then done as a
conditional UPDATE (``WHERE status IN <expected>``), so two processes racing on the same order
(a payment notification and a cancellation, say) cannot both win.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session as Db
from sqlalchemy.orm.attributes import set_committed_value

from box_office.core.orders import EXPIRED, PENDING_PAYMENT, require_move
from box_office.errors import Conflict
from box_office.store.db import changed
from box_office.store.models import Order


def move_if(db: Db, order_id: int, old: str | Iterable[str], new: str, **values: Any) -> bool:
    """Move the order from any of ``old`` to ``new`` (with ``values``) if it still is in one of
    them; False if another writer moved it first. IllegalMove if the machine forbids the move."""
    olds = (old,) if isinstance(old, str) else tuple(old)
    for current in olds:
        require_move(current, new)
    return bool(
        changed(
            db.connection().execute(
                update(Order)
                .where(Order.id == order_id, Order.status.in_(olds))
                .values(status=new, **values)
                .execution_options(synchronize_session=False)
            )
        )
    )


def move(db: Db, order: Order, old: str | Iterable[str], new: str, **values: Any) -> None:
    """:func:`move_if` for a loaded order, told what was written; Conflict if someone else moved it first."""
    if not move_if(db, order.id, old, new, **values):
        db.refresh(order)
        raise Conflict(f"order {order.id} is {order.status}", "bad_state")
    for name, value in {"status": new, **values}.items():
        set_committed_value(order, name, value)


def expire_overdue(db: Db, now: float) -> int:
    """Record the expiry of every unpaid order past its time; returns how many."""
    return len(expire_overdue_ids(db, now))


def expire_overdue_ids(db: Db, now: float) -> list[int]:
    """:func:`expire_overdue`, returning the ids of the orders this transaction expired (so their
    expiry e-mails are queued once, by whoever expired them)."""
    require_move(PENDING_PAYMENT, EXPIRED)
    rows = db.connection().execute(
        update(Order)
        .where(Order.status == PENDING_PAYMENT, Order.expires_at < now)
        .values(status=EXPIRED, closed_at=now, reason="not paid in time")
        .returning(Order.id)
        .execution_options(synchronize_session=False)
    )
    return [int(row[0]) for row in rows]
