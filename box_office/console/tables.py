"""The console's tables: console users with a role, their login sessions, the audit trail, and
seat-map view counts (the top of the sales funnel).

They live on the box office's metadata (``store.models.Base``) so one Alembic history covers
them (migration ``0008_console``), but in this module so the console stays in one folder.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from box_office.store.models import Base


class ConsoleUser(Base):
    """A person who signs in to the console for an organiser. ``role``: owner, staff, finance.

    The password is kept only as a scrypt digest (``console.auth.hash_password``).
    """

    __tablename__ = "console_users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organiser_id: Mapped[int] = mapped_column(ForeignKey("organisers.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(10))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[float] = mapped_column(Float)


class ConsoleLogin(Base):
    """A signed-in browser: the cookie carries a random token, only its digest is stored;
    ``csrf`` is the synchronizer token every form of this login must send back."""

    __tablename__ = "console_logins"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("console_users.id"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float)


class AuditEntry(Base):
    """Who did what, when, in an organiser's console (every change and every refused attempt)."""

    __tablename__ = "console_audit"
    __table_args__ = (Index("ix_console_audit_organiser", "organiser_id", "at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organiser_id: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(60))
    target: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(20))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    at: Mapped[float] = mapped_column(Float)


class SeatmapView(Base):
    """How many times a session's seat map was loaded in one minute (``minute`` = Unix minutes)."""

    __tablename__ = "seatmap_views"
    session_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    minute: Mapped[int] = mapped_column(Integer, primary_key=True)
    views: Mapped[int] = mapped_column(Integer)


class WaitingRoomPeak(Base):
    """The longest line of buyers waiting in one process's admission gate, per minute."""

    __tablename__ = "waiting_room_peaks"
    minute: Mapped[int] = mapped_column(Integer, primary_key=True)
    peak: Mapped[int] = mapped_column(Integer)
