"""promotions: price changes, campaigns, coupons (codes, redemptions), frozen line prices, memberships

Revision ID: 0011_promotions
Revises: 0010_buyers
Create Date: 2026-11-27 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_promotions"
down_revision = "0010_buyers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "promo_price_changes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("event_id", sa.Integer(), sa.ForeignKey("events.id"), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("zone", sa.String(40), nullable=False),
        sa.Column("ticket_type", sa.String(40), nullable=True),
        sa.Column("price_cents", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.Float(), nullable=True),
        sa.Column("valid_until", sa.Float(), nullable=True),
        sa.Column("made_at", sa.Float(), nullable=False),
        sa.Column("made_by", sa.Integer(), nullable=False),
    )
    op.create_index("ix_promo_price_changes_event_id", "promo_price_changes", ["event_id"])
    op.create_table(
        "promo_campaigns",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("event_id", sa.Integer(), sa.ForeignKey("events.id"), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("quantity_limit", sa.Integer(), nullable=True),
        sa.Column("sold", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_promo_campaigns_event_id", "promo_campaigns", ["event_id"])
    op.create_table(
        "promo_coupons",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("event_id", sa.Integer(), sa.ForeignKey("events.id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("threshold_cents", sa.Integer(), nullable=False),
        sa.Column("cap_cents", sa.Integer(), nullable=True),
        sa.Column("scope", sa.JSON(), nullable=False),
        sa.Column("valid_from", sa.Float(), nullable=True),
        sa.Column("valid_until", sa.Float(), nullable=True),
        sa.Column("valid_days", sa.Integer(), nullable=True),
        sa.Column("max_issued", sa.Integer(), nullable=True),
        sa.Column("issued", sa.Integer(), nullable=False),
        sa.Column("max_uses", sa.Integer(), nullable=True),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("per_buyer", sa.Integer(), nullable=True),
        sa.Column("budget_cents", sa.Integer(), nullable=True),
        sa.Column("spent_cents", sa.Integer(), nullable=False),
        sa.Column("return_on_refund", sa.Boolean(), nullable=False),
        sa.Column("claim_token", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_promo_coupons_event_id", "promo_coupons", ["event_id"])
    op.create_table(
        "promo_coupon_codes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("coupon_id", sa.Integer(), sa.ForeignKey("promo_coupons.id"), nullable=False),
        sa.Column("code", sa.String(40), nullable=False, unique=True),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("max_uses", sa.Integer(), nullable=True),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("claimed_at", sa.Float(), nullable=True),
        sa.Column("expires_at", sa.Float(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_promo_coupon_codes_coupon_id", "promo_coupon_codes", ["coupon_id"])
    op.create_index("ix_promo_coupon_codes_account_id", "promo_coupon_codes", ["account_id"])
    op.create_table(
        "promo_redemptions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("coupon_id", sa.Integer(), sa.ForeignKey("promo_coupons.id"), nullable=False),
        sa.Column("code_id", sa.Integer(), sa.ForeignKey("promo_coupon_codes.id"), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), sa.ForeignKey("orders.id"), nullable=False, unique=True),
        sa.Column("discount_cents", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("returned_at", sa.Float(), nullable=True),
    )
    op.create_index(
        "ix_promo_redemptions_coupon_account", "promo_redemptions", ["coupon_id", "account_id", "status"]
    )
    op.create_table(
        "promo_line_prices",
        sa.Column("ticket_id", sa.String(36), sa.ForeignKey("tickets.id"), primary_key=True),
        sa.Column("order_id", sa.Integer(), sa.ForeignKey("orders.id"), nullable=False),
        sa.Column("list_cents", sa.Integer(), nullable=False),
        sa.Column("price_cents", sa.Integer(), nullable=False),
        sa.Column("breakdown", sa.JSON(), nullable=False),
    )
    op.create_index("ix_promo_line_prices_order_id", "promo_line_prices", ["order_id"])
    op.create_table(
        "promo_memberships",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("organiser_id", sa.Integer(), sa.ForeignKey("organisers.id"), nullable=False),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("tier", sa.String(40), nullable=False),
        sa.Column("valid_from", sa.Float(), nullable=False),
        sa.Column("valid_until", sa.Float(), nullable=False),
        sa.Column("granted_at", sa.Float(), nullable=False),
        sa.UniqueConstraint("organiser_id", "account_id", "tier"),
    )
    op.create_index("ix_promo_memberships_organiser_id", "promo_memberships", ["organiser_id"])
    op.create_index("ix_promo_memberships_account_id", "promo_memberships", ["account_id"])
    op.create_table(
        "promo_groups",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("campaign_id", sa.Integer(), sa.ForeignKey("promo_campaigns.id"), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("paid_count", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("leader_account_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("closed_at", sa.Float(), nullable=True),
    )
    op.create_index("ix_promo_groups_session_status", "promo_groups", ["session_id", "status"])
    op.create_table(
        "promo_group_members",
        sa.Column("order_id", sa.Integer(), sa.ForeignKey("orders.id"), primary_key=True),
        sa.Column("group_id", sa.Integer(), sa.ForeignKey("promo_groups.id"), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("paid_at", sa.Float(), nullable=True),
    )
    op.create_index("ix_promo_group_members_group_id", "promo_group_members", ["group_id"])
    op.create_table(
        "promo_referrers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("event_id", sa.Integer(), sa.ForeignKey("events.id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("code", sa.String(16), nullable=False, unique=True),
        sa.Column("stats_token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("mode", sa.String(10), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("include_group", sa.Boolean(), nullable=False),
        sa.Column("window_seconds", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_promo_referrers_event_id", "promo_referrers", ["event_id"])
    op.create_table(
        "promo_referral_views",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("referrer_id", sa.Integer(), sa.ForeignKey("promo_referrers.id"), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("seen_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_promo_referral_views_referrer_id", "promo_referral_views", ["referrer_id"])
    op.create_index("ix_promo_referral_views_account", "promo_referral_views", ["account_id", "seen_at"])
    op.create_table(
        "promo_referrals",
        sa.Column("order_id", sa.Integer(), sa.ForeignKey("orders.id"), primary_key=True),
        sa.Column("referrer_id", sa.Integer(), sa.ForeignKey("promo_referrers.id"), nullable=False),
        sa.Column("commission_cents", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_promo_referrals_referrer_id", "promo_referrals", ["referrer_id"])
    op.create_table(
        "promo_group_notices",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("sent_at", sa.Float(), nullable=True),
    )
    op.create_index("ix_promo_group_notices_status", "promo_group_notices", ["status", "id"])
    op.create_table(
        "promo_consents",
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("accounts.id"), primary_key=True),
        sa.Column("marketing", sa.Boolean(), nullable=False),
        sa.Column("opt_out_token", sa.String(64), nullable=False, unique=True),
        sa.Column("updated_at", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "promo_group_notices",
        "promo_consents",
        "promo_referrals",
        "promo_referral_views",
        "promo_referrers",
        "promo_group_members",
        "promo_groups",
        "promo_memberships",
        "promo_line_prices",
        "promo_redemptions",
        "promo_coupon_codes",
        "promo_coupons",
        "promo_campaigns",
        "promo_price_changes",
    ):
        op.drop_table(table)
