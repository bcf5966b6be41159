"""tickets bound to the buyer's phone: the device key, the audit trail, the step-up codes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 19:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("device_key", sa.LargeBinary(), nullable=True))
    op.create_table(
        "device_bindings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ticket_id", sa.String(36), sa.ForeignKey("tickets.id"), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("old_fingerprint", sa.String(64), nullable=True),
        sa.Column("new_fingerprint", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_device_bindings_ticket_id", "device_bindings", ["ticket_id"])
    op.create_table(
        "device_step_ups",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ticket_id", sa.String(36), sa.ForeignKey("tickets.id"), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("code_digest", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("used_at", sa.Float(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_device_step_ups_ticket_id", "device_step_ups", ["ticket_id"])


def downgrade() -> None:
    op.drop_index("ix_device_step_ups_ticket_id", table_name="device_step_ups")
    op.drop_table("device_step_ups")
    op.drop_index("ix_device_bindings_ticket_id", table_name="device_bindings")
    op.drop_table("device_bindings")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("device_key")
