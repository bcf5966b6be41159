"""payments: refunds asked of the providers (full and partial, retried with back-off)

Revision ID: 0005_payments
Revises: 0004
Create Date: 2026-11-27 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_payments"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payment_refunds",
        sa.Column("refund_no", sa.String(64), primary_key=True),
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(20), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_try_at", sa.Float(), nullable=False),
        sa.Column("provider_refund_id", sa.String(64), nullable=False),
        sa.Column("last_error", sa.String(300), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_payment_refunds_payment_id", "payment_refunds", ["payment_id"])
    op.create_index("ix_payment_refunds_due", "payment_refunds", ["status", "next_try_at"])


def downgrade() -> None:
    op.drop_table("payment_refunds")
