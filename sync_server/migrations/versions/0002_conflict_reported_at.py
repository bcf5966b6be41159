"""scans.conflict_reported_at: when the box office was told a scan is an admitted conflict

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 10:00:00

A scan reported as a plain check-in can turn into a conflict when an earlier offline scan of
the same ticket arrives later; the box office keeps the first report of a scan id, so the
conflict is reported again as its own record and this column says that it was. Scans already
reported as conflicts before this revision are marked as such, so nothing is reported twice.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("conflict_reported_at", sa.Float(), nullable=True))
    op.execute(
        "UPDATE scans SET conflict_reported_at = reported_at"
        " WHERE outcome = 'conflict' AND reported_at IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("scans", schema=None) as batch_op:
        batch_op.drop_column("conflict_reported_at")
