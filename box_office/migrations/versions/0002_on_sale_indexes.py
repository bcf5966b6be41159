"""indexes for the on-sale paths: seats by row and by zone order, orders by device

Measured under a 2,000-buyer on-sale (bench/onsale.py): the no-orphan check read the seats of
the picked rows by scanning all 50,000 seats of the session (7 ms of PostgreSQL CPU per hold),
best-available sorted every free seat of a zone, and the per-device limit scanned the
session's orders.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 20:50:00
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_session_seats_row", "session_seats", ["session_id", "section", "row"])
    op.create_index(
        "ix_session_seats_best",
        "session_seats",
        ["session_id", "zone_id", "rank", "section", "row", "position"],
    )
    op.create_index("ix_orders_session_device", "orders", ["session_id", "device_id"])


def downgrade() -> None:
    op.drop_index("ix_orders_session_device", table_name="orders")
    op.drop_index("ix_session_seats_best", table_name="session_seats")
    op.drop_index("ix_session_seats_row", table_name="session_seats")
