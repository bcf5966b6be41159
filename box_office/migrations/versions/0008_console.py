"""the promoter's console: users with roles, login sessions, the audit trail, seat-map views;
the kind of an outbox message (tickets, refund, expiry, ...)

Revision ID: 0008_console
Revises: 0007_support
Create Date: 2026-11-27 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_console"
down_revision = "0007_support"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("organiser_id", sa.Integer(), sa.ForeignKey("organisers.id"), nullable=False),
        sa.Column("email", sa.String(254), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_console_users_organiser_id", "console_users", ["organiser_id"])
    op.create_table(
        "console_logins",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("console_users.id"), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_console_logins_user_id", "console_logins", ["user_id"])
    op.create_table(
        "console_audit",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("organiser_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(254), nullable=False),
        sa.Column("action", sa.String(60), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
    )
    op.create_index("ix_console_audit_organiser", "console_audit", ["organiser_id", "at"])
    op.create_table(
        "seatmap_views",
        sa.Column("session_id", sa.Integer(), primary_key=True),
        sa.Column("minute", sa.Integer(), primary_key=True),
        sa.Column("views", sa.Integer(), nullable=False),
    )

    op.create_table(
        "waiting_room_peaks",
        sa.Column("minute", sa.Integer(), primary_key=True),
        sa.Column("peak", sa.Integer(), nullable=False),
    )
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("kind", sa.String(20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("kind")
    op.drop_table("waiting_room_peaks")
    op.drop_table("seatmap_views")
    op.drop_index("ix_console_audit_organiser", table_name="console_audit")
    op.drop_table("console_audit")
    op.drop_index("ix_console_logins_user_id", table_name="console_logins")
    op.drop_table("console_logins")
    op.drop_index("ix_console_users_organiser_id", table_name="console_users")
    op.drop_table("console_users")
