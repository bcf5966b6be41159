"""after-sales: refund policies and their per-order snapshots, refund requests and refunds,
invoices with a gap-free counter per promoter, bulk cancellation jobs

Revision ID: 0009_aftersales
Revises: 0008_console
Create Date: 2026-11-27 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_aftersales"
down_revision = "0008_console"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "event_refund_policies",
        sa.Column("event_id", sa.Integer(), sa.ForeignKey("events.id"), primary_key=True),
        sa.Column("policy", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
    )
    op.create_table(
        "order_refund_terms",
        sa.Column("order_id", sa.Integer(), sa.ForeignKey("orders.id"), primary_key=True),
        sa.Column("policy", sa.JSON(), nullable=False),
        sa.Column("purchased_at", sa.Float(), nullable=False),
    )
    op.create_table(
        "refund_requests",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("order_id", sa.Integer(), sa.ForeignKey("orders.id"), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("ticket_ids", sa.JSON(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("percent", sa.Integer(), nullable=False),
        sa.Column("fee_cents", sa.BigInteger(), nullable=False),
        sa.Column("basis", sa.String(20), nullable=False),
        sa.Column("reason", sa.String(40), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("note", sa.String(500), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("decided_at", sa.Float(), nullable=True),
        sa.Column("decided_by", sa.Integer(), nullable=True),
    )
    op.create_index("ix_refund_requests_order_id", "refund_requests", ["order_id"])
    op.create_index("ix_refund_requests_account_id", "refund_requests", ["account_id"])
    op.create_index("ix_refund_requests_session_status", "refund_requests", ["session_id", "status"])
    op.create_table(
        "refunds",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("refund_no", sa.String(64), nullable=False, unique=True),
        sa.Column("request_id", sa.Integer(), sa.ForeignKey("refund_requests.id"), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), sa.ForeignKey("payments.id"), nullable=False),
        sa.Column("provider", sa.String(20), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_until", sa.Float(), nullable=True),
        sa.Column("claimed_by", sa.String(100), nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("done_at", sa.Float(), nullable=True),
    )
    op.create_index("ix_refunds_request_id", "refunds", ["request_id"])
    op.create_index("ix_refunds_order_id", "refunds", ["order_id"])
    op.create_index("ix_refunds_payment_id", "refunds", ["payment_id"])
    op.create_index("ix_refunds_status", "refunds", ["status", "lease_until"])
    op.create_table(
        "invoice_counters",
        sa.Column("organiser_id", sa.Integer(), sa.ForeignKey("organisers.id"), primary_key=True),
        sa.Column("next_number", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "invoices",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("organiser_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.BigInteger(), nullable=False),
        sa.Column("order_id", sa.Integer(), sa.ForeignKey("orders.id"), nullable=False),
        sa.Column("kind", sa.String(4), nullable=False),
        sa.Column("original_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(40), nullable=True),
        sa.Column("title_type", sa.String(12), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("tax_number", sa.String(18), nullable=True),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("issued_at", sa.Float(), nullable=False),
        sa.UniqueConstraint("organiser_id", "number"),
    )
    op.create_index("ix_invoices_organiser_id", "invoices", ["organiser_id"])
    op.create_index("ix_invoices_order_id", "invoices", ["order_id"])
    op.create_table(
        "bulk_jobs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("session_id", sa.Integer(), sa.ForeignKey("sessions.id"), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("finished_at", sa.Float(), nullable=True),
        sa.Column("refund_until", sa.Float(), nullable=True),
        sa.Column("new_starts_at", sa.Float(), nullable=True),
    )
    op.create_index("ix_bulk_jobs_session_id", "bulk_jobs", ["session_id"])
    op.create_table(
        "bulk_job_orders",
        sa.Column("job_id", sa.Integer(), sa.ForeignKey("bulk_jobs.id"), primary_key=True),
        sa.Column("order_id", sa.Integer(), primary_key=True),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("done_at", sa.Float(), nullable=True),
    )
    op.create_index("ix_bulk_job_orders_state", "bulk_job_orders", ["job_id", "state"])
    op.create_table(
        "event_transfer_rules",
        sa.Column("event_id", sa.Integer(), sa.ForeignKey("events.id"), primary_key=True),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.Column("max_per_ticket", sa.Integer(), nullable=True),
        sa.Column("lock_hours", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
    )
    op.create_table(
        "ticket_transfers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ticket_id", sa.String(36), sa.ForeignKey("tickets.id"), nullable=False),
        sa.Column("from_account", sa.Integer(), nullable=False),
        sa.Column("to_email", sa.String(254), nullable=False),
        sa.Column("to_account", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("new_order_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("decided_at", sa.Float(), nullable=True),
    )
    op.create_index("ix_ticket_transfers_ticket_id", "ticket_transfers", ["ticket_id"])
    op.create_index("ix_ticket_transfers_from_account", "ticket_transfers", ["from_account"])
    op.create_index("ix_ticket_transfers_to_email", "ticket_transfers", ["to_email"])


def downgrade() -> None:
    for table in (
        "ticket_transfers",
        "event_transfer_rules",
        "bulk_job_orders",
        "bulk_jobs",
        "invoices",
        "invoice_counters",
        "refunds",
        "refund_requests",
        "order_refund_terms",
        "event_refund_policies",
    ):
        op.drop_table(table)
