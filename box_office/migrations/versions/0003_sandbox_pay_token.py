"""sandbox bank: the buyer's payment token (its hash) is needed to pay

Before, anyone who knew a payment's reference could pay it on the sandbox bank's page. Payments
made before this version have no token and can no longer be paid (they were test payments).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sandbox_payments") as batch:
        batch.add_column(sa.Column("pay_token_hash", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sandbox_payments") as batch:
        batch.drop_column("pay_token_hash")
