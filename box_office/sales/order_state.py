"""Order status changes: every move is a conditional UPDATE, so two racing writers cannot both win."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session as Db

from box_office.errors import Conflict
from box_office.store.db import changed
from box_office.store.models import (
    Order,
)

_NO_SYNC = {"synchronize_session": False}
log = logging.getLogger(__name__)


def _move(db: Db, order: Order, old: str | Sequence[str], new: str, **values: Any) -> None:
    """Conditionally move an order from ``old`` to ``new``; Conflict if someone else moved it first."""
    olds = (old,) if isinstance(old, str) else tuple(old)
    count = changed(
        db.connection().execute(
            update(Order)
            .where(Order.id == order.id, Order.status.in_(olds))
            .values(status=new, **values)
            .execution_options(**_NO_SYNC)
        )
    )
    if not count:
        db.refresh(order)
        raise Conflict(f"order {order.id} is {order.status}", "bad_state")
    db.refresh(order)
