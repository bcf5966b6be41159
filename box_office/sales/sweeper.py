"""The sweeper: expire unpaid orders past their time (holds are closed by the hold sweeper)."""

from __future__ import annotations

import logging

from sqlalchemy import update
from sqlalchemy.orm import Session as Db

from box_office.context import Context
from box_office.store.db import changed
from box_office.store.models import (
    Order,
)

_NO_SYNC = {"synchronize_session": False}
log = logging.getLogger(__name__)


def sweep_orders(ctx: Context, limit: int = 500) -> int:
    """Record expiry of unpaid orders past their time (their holds are closed by the hold sweeper)."""
    now = ctx.now()

    def work(db: Db) -> int:
        return changed(
            db.connection().execute(
                update(Order)
                .where(Order.status == "pending_payment", Order.expires_at < now)
                .values(status="expired", closed_at=now, reason="not paid in time")
                .execution_options(**_NO_SYNC)
            )
        )

    return ctx.db.write(work)
