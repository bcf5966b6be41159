"""buyers: verified numbers and addresses, one-time codes, sessions, step-ups, passkeys

Revision ID: 0010_buyers
Revises: 0009_aftersales
Create Date: 2026-11-27 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_buyers"
down_revision = "0009_aftersales"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "buyer_identities",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("kind", sa.String(5), nullable=False),
        sa.Column("value", sa.String(254), nullable=False),
        sa.Column("verified_at", sa.Float(), nullable=False),
        sa.UniqueConstraint("kind", "value", name="uq_buyer_identities_kind_value"),
    )
    op.create_index("ix_buyer_identities_account_id", "buyer_identities", ["account_id"])
    op.create_table(
        "buyer_otps",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("channel", sa.String(5), nullable=False),
        sa.Column("target", sa.String(254), nullable=False),
        sa.Column("purpose", sa.String(10), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("used_at", sa.Float(), nullable=True),
        sa.Column("ip", sa.String(64), nullable=False),
        sa.Column("device", sa.String(64), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_buyer_otps_target", "buyer_otps", ["target", "created_at"])
    op.create_index("ix_buyer_otps_ip", "buyer_otps", ["ip", "created_at"])
    op.create_index("ix_buyer_otps_device", "buyer_otps", ["device", "created_at"])
    op.create_table(
        "buyer_tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("kind", sa.String(4), nullable=False),
        sa.Column("device", sa.String(64), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("stepped_up_at", sa.Float(), nullable=True),
    )
    op.create_index("ix_buyer_tokens_account_id", "buyer_tokens", ["account_id"])
    op.create_table(
        "buyer_step_ups",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("used_at", sa.Float(), nullable=True),
    )
    op.create_index("ix_buyer_step_ups_account_id", "buyer_step_ups", ["account_id"])
    op.create_table(
        "passkeys",
        sa.Column("credential_id", sa.String(512), primary_key=True),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("sign_count", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("last_used_at", sa.Float(), nullable=True),
    )
    op.create_index("ix_passkeys_account_id", "passkeys", ["account_id"])
    op.create_table(
        "webauthn_challenges",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("purpose", sa.String(10), nullable=False),
        sa.Column("challenge", sa.LargeBinary(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("used_at", sa.Float(), nullable=True),
    )
    op.create_table(
        "step_up_rules",
        sa.Column("event_id", sa.Integer(), sa.ForeignKey("events.id"), primary_key=True),
        sa.Column("above_cents", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("step_up_rules")
    op.drop_table("webauthn_challenges")
    op.drop_index("ix_passkeys_account_id", table_name="passkeys")
    op.drop_table("passkeys")
    op.drop_index("ix_buyer_step_ups_account_id", table_name="buyer_step_ups")
    op.drop_table("buyer_step_ups")
    op.drop_index("ix_buyer_tokens_account_id", table_name="buyer_tokens")
    op.drop_table("buyer_tokens")
    for name in ("ix_buyer_otps_device", "ix_buyer_otps_ip", "ix_buyer_otps_target"):
        op.drop_index(name, table_name="buyer_otps")
    op.drop_table("buyer_otps")
    op.drop_index("ix_buyer_identities_account_id", table_name="buyer_identities")
    op.drop_table("buyer_identities")
