"""payments: a provider's pay URL may be long (an Alipay page-pay URL carries its signed query)

Revision ID: 0006_alipay_card
Revises: 0005_payments
Create Date: 2026-11-27 21:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_alipay_card"
down_revision = "0005_payments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("payments") as batch:
        batch.alter_column(
            "pay_url", existing_type=sa.String(500), type_=sa.String(4000), existing_nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("payments") as batch:
        batch.alter_column(
            "pay_url", existing_type=sa.String(4000), type_=sa.String(500), existing_nullable=False
        )
