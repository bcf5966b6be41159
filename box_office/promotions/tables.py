"""The promotions' tables (in the box office's metadata; migration 0011_promotions).

Counters that buyers race for (a coupon's uses and spent budget, a phase's sold count) are
columns changed only by conditional UPDATEs, so the database decides who wins.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from box_office.store.models import Base


class PriceChangeRow(Base):
    """A promoter's price for a zone (optionally one ticket type / session / period); never edited."""

    __tablename__ = "promo_price_changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    session_id: Mapped[int | None] = mapped_column(Integer)
    zone: Mapped[str] = mapped_column(String(40))
    ticket_type: Mapped[str | None] = mapped_column(String(40))
    price_cents: Mapped[int] = mapped_column(Integer)
    valid_from: Mapped[float | None] = mapped_column(Float)
    valid_until: Mapped[float | None] = mapped_column(Float)
    made_at: Mapped[float] = mapped_column(Float)
    made_by: Mapped[int] = mapped_column(Integer)


class CampaignRow(Base):
    """A price campaign: early_bird / flash / group (replacements), member, n_for_m, threshold."""

    __tablename__ = "promo_campaigns"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    quantity_limit: Mapped[int | None] = mapped_column(Integer)
    sold: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[float] = mapped_column(Float)


class CouponRow(Base):
    """A coupon campaign: what it takes off, where, when, and its limits."""

    __tablename__ = "promo_coupons"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    value: Mapped[int] = mapped_column(Integer)
    threshold_cents: Mapped[int] = mapped_column(Integer, default=0)
    cap_cents: Mapped[int | None] = mapped_column(Integer)
    scope: Mapped[dict[str, Any]] = mapped_column(JSON)
    valid_from: Mapped[float | None] = mapped_column(Float)
    valid_until: Mapped[float | None] = mapped_column(Float)
    valid_days: Mapped[int | None] = mapped_column(Integer)
    max_issued: Mapped[int | None] = mapped_column(Integer)
    issued: Mapped[int] = mapped_column(Integer, default=0)
    max_uses: Mapped[int | None] = mapped_column(Integer)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    per_buyer: Mapped[int | None] = mapped_column(Integer)
    budget_cents: Mapped[int | None] = mapped_column(Integer)
    spent_cents: Mapped[int] = mapped_column(Integer, default=0)
    return_on_refund: Mapped[bool] = mapped_column(Boolean, default=False)
    claim_token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[float] = mapped_column(Float)


class CouponCodeRow(Base):
    """One code of a coupon: shared (max_uses None) or a single buyer's (claimed, granted, bulk)."""

    __tablename__ = "promo_coupon_codes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    coupon_id: Mapped[int] = mapped_column(ForeignKey("promo_coupons.id"), index=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    account_id: Mapped[int | None] = mapped_column(Integer, index=True)
    max_uses: Mapped[int | None] = mapped_column(Integer)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[float | None] = mapped_column(Float)
    expires_at: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[float] = mapped_column(Float)


class RedemptionRow(Base):
    """A coupon used by an order: ``held`` while the order lives, ``returned`` when it gives it back."""

    __tablename__ = "promo_redemptions"
    __table_args__ = (Index("ix_promo_redemptions_coupon_account", "coupon_id", "account_id", "status"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    coupon_id: Mapped[int] = mapped_column(ForeignKey("promo_coupons.id"))
    code_id: Mapped[int] = mapped_column(ForeignKey("promo_coupon_codes.id"))
    account_id: Mapped[int] = mapped_column(Integer)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), unique=True)
    discount_cents: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[float] = mapped_column(Float)
    returned_at: Mapped[float | None] = mapped_column(Float)


class LinePriceRow(Base):
    """The frozen price of one order line (ticket) and how it came about, step by step."""

    __tablename__ = "promo_line_prices"
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    list_cents: Mapped[int] = mapped_column(Integer)
    price_cents: Mapped[int] = mapped_column(Integer)
    breakdown: Mapped[list[dict[str, Any]]] = mapped_column(JSON)


class MembershipRow(Base):
    """A buyer's membership tier with an organiser, for a period."""

    __tablename__ = "promo_memberships"
    __table_args__ = (UniqueConstraint("organiser_id", "account_id", "tier"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organiser_id: Mapped[int] = mapped_column(ForeignKey("organisers.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    tier: Mapped[str] = mapped_column(String(40))
    valid_from: Mapped[float] = mapped_column(Float)
    valid_until: Mapped[float] = mapped_column(Float)
    granted_at: Mapped[float] = mapped_column(Float)


class GroupRow(Base):
    """A group-buy (拼团): ``opening`` until its leader pays, then ``forming`` until ``size`` members
    have paid (``formed``) or ``expires_at`` passes (``failed``: everyone refunded)."""

    __tablename__ = "promo_groups"
    __table_args__ = (Index("ix_promo_groups_session_status", "session_id", "status"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("promo_campaigns.id"))
    session_id: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)
    paid_count: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(10))
    leader_account_id: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[float] = mapped_column(Float)
    closed_at: Mapped[float | None] = mapped_column(Float)


class GroupMemberRow(Base):
    """One order in a group: ``joined`` → ``paid`` → ``issued`` | ``lost`` (paid after the group
    filled: refunded) | ``refunded`` (the group failed)."""

    __tablename__ = "promo_group_members"
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("promo_groups.id"), index=True)
    account_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10))
    paid_at: Mapped[float | None] = mapped_column(Float)


class ReferrerRow(Base):
    """A referrer (推广员) of an event, enrolled by its organiser with a commission rule."""

    __tablename__ = "promo_referrers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(16), unique=True)
    stats_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    mode: Mapped[str] = mapped_column(String(10))
    value: Mapped[int] = mapped_column(Integer)
    include_group: Mapped[bool] = mapped_column(Boolean, default=False)
    window_seconds: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[float] = mapped_column(Float)


class ReferralViewRow(Base):
    """A buyer arrived through a referrer's link or poster (a click)."""

    __tablename__ = "promo_referral_views"
    __table_args__ = (Index("ix_promo_referral_views_account", "account_id", "seen_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    referrer_id: Mapped[int] = mapped_column(ForeignKey("promo_referrers.id"), index=True)
    event_id: Mapped[int] = mapped_column(Integer)
    account_id: Mapped[int] = mapped_column(Integer)
    seen_at: Mapped[float] = mapped_column(Float)


class ReferralRow(Base):
    """An order attributed to a referrer (kept for good) with its commission."""

    __tablename__ = "promo_referrals"
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    referrer_id: Mapped[int] = mapped_column(ForeignKey("promo_referrers.id"), index=True)
    commission_cents: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[float] = mapped_column(Float)


class ConsentRow(Base):
    """A buyer's marketing consent (opt-in) and the token of the opt-out link in every message."""

    __tablename__ = "promo_consents"
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    marketing: Mapped[bool] = mapped_column(Boolean)
    opt_out_token: Mapped[str] = mapped_column(String(64), unique=True)
    updated_at: Mapped[float] = mapped_column(Float)


class GroupNoticeRow(Base):
    """A group-buy step to tell a member by e-mail (zh/en), written in the step's transaction."""

    __tablename__ = "promo_group_notices"
    __table_args__ = (Index("ix_promo_group_notices_status", "status", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(Integer)
    order_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[float] = mapped_column(Float)
    sent_at: Mapped[float | None] = mapped_column(Float)
