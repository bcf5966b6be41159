"""The sandbox bank's own books (as if at the bank): read by the bank, and by nothing of the box office."""

from __future__ import annotations

from sqlalchemy import BigInteger, Float, String
from sqlalchemy.orm import Mapped, mapped_column

from box_office.store.models import Base


class SandboxPayment(Base):
    """One payment at the sandbox bank. ``pay_token_hash``: the SHA-256 of the buyer's payment
    token (in the pay URL only the buyer is given), without which the payment cannot be paid."""

    __tablename__ = "sandbox_payments"
    ref: Mapped[str] = mapped_column(String(100), primary_key=True)
    merchant_order: Mapped[str] = mapped_column(String(100))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    notify_url: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(12))
    refunded_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[float] = mapped_column(Float)
    paid_at: Mapped[float | None] = mapped_column(Float)
    pay_token_hash: Mapped[str | None] = mapped_column(String(64))
