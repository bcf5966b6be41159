"""The refunds this box office asked of its providers: one row per refund, its number our idempotency key."""

from __future__ import annotations

from sqlalchemy import BigInteger, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from box_office.store.models import Base


class PaymentRefund(Base):
    """One refund of a payment (full or partial).

    ``refund_no`` is sent to the provider as ``out_refund_no`` / ``out_request_no`` and reused on
    every retry, so a retry can never refund twice. ``status``: pending (asked, or to be asked
    again at ``next_try_at``) | succeeded | failed | closed. ``accepted``: the provider has
    acknowledged it (then retries *query* instead of asking again)."""

    __tablename__ = "payment_refunds"
    __table_args__ = (Index("ix_payment_refunds_due", "status", "next_try_at"),)
    refund_no: Mapped[str] = mapped_column(String(64), primary_key=True)
    payment_id: Mapped[int] = mapped_column(Integer, index=True)
    provider: Mapped[str] = mapped_column(String(20))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str] = mapped_column(String(200))
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_try_at: Mapped[float] = mapped_column(Float)
    provider_refund_id: Mapped[str] = mapped_column(String(64), default="")
    last_error: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
