"""tickets.identity_sealed replaces the holder digests in clear; scans.conflict_cleared_at

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 18:00:00

Contract 3: a real-name ticket's holder digests reach the venue sealed under the ticket's own
signature, so neither a gate nor this server can test name guesses against them. The clear
``id_digest``/``name_digest`` columns are dropped (the seals arrive with the next feed entry of
each ticket). (Raw scanned text in ``scans.details`` was already scrubbed by 0003.)
``scans.conflict_cleared_at``: when the box office was told that an admitted conflict became a
legitimate re-entry (an exit between the two admissions arrived late).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("conflict_cleared_at", sa.Float(), nullable=True))
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("identity_sealed", sa.String(length=200), nullable=True))
        batch_op.drop_column("id_digest")
        batch_op.drop_column("name_digest")


def downgrade() -> None:
    with op.batch_alter_table("scans", schema=None) as batch_op:
        batch_op.drop_column("conflict_cleared_at")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_digest", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("id_digest", sa.String(length=200), nullable=True))
        batch_op.drop_column("identity_sealed")
