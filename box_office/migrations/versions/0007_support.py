"""support desk: event FAQ, support requests and their messages, canned replies

Revision ID: 0007_support
Revises: 0006_alipay_card
Create Date: 2026-11-27 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_support"
down_revision = "0006_alipay_card"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "support_faq",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("event_id", sa.Integer(), sa.ForeignKey("events.id"), nullable=False),
        sa.Column("topic", sa.String(40), nullable=False),
        sa.Column("question_zh", sa.String(300), nullable=False),
        sa.Column("question_en", sa.String(300), nullable=False),
        sa.Column("answer_zh", sa.Text(), nullable=False),
        sa.Column("answer_en", sa.Text(), nullable=False),
        sa.Column("keywords", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.UniqueConstraint("event_id", "topic"),
    )
    op.create_index("ix_support_faq_event_id", "support_faq", ["event_id"])
    op.create_table(
        "support_requests",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("event_id", sa.Integer(), sa.ForeignKey("events.id"), nullable=False),
        sa.Column("order_id", sa.Integer(), sa.ForeignKey("orders.id"), nullable=True),
        sa.Column("category", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("lang", sa.String(5), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("from_bot", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("first_reply_at", sa.Float(), nullable=True),
        sa.Column("reply_due_at", sa.Float(), nullable=True),
        sa.Column("solved_at", sa.Float(), nullable=True),
        sa.CheckConstraint("status in ('open','waiting_buyer','solved')", name="support_status"),
    )
    op.create_index("ix_support_requests_account_id", "support_requests", ["account_id"])
    op.create_index("ix_support_requests_event_status", "support_requests", ["event_id", "status"])
    op.create_table(
        "support_messages",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("request_id", sa.Integer(), sa.ForeignKey("support_requests.id"), nullable=False),
        sa.Column("author", sa.String(10), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_support_messages_request_id", "support_messages", ["request_id"])
    op.create_table(
        "support_canned_replies",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("organiser_id", sa.Integer(), sa.ForeignKey("organisers.id"), nullable=False),
        sa.Column("title", sa.String(100), nullable=False),
        sa.Column("body_zh", sa.Text(), nullable=False),
        sa.Column("body_en", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_support_canned_replies_organiser_id", "support_canned_replies", ["organiser_id"])


def downgrade() -> None:
    op.drop_index("ix_support_canned_replies_organiser_id", table_name="support_canned_replies")
    op.drop_table("support_canned_replies")
    op.drop_index("ix_support_messages_request_id", table_name="support_messages")
    op.drop_table("support_messages")
    op.drop_index("ix_support_requests_event_status", table_name="support_requests")
    op.drop_index("ix_support_requests_account_id", table_name="support_requests")
    op.drop_table("support_requests")
    op.drop_index("ix_support_faq_event_id", table_name="support_faq")
    op.drop_table("support_faq")
