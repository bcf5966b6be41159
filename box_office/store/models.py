"""The box office's tables (SQLAlchemy 2 declarative). Alembic migrations are made from these.

Times are Unix seconds (floats): the same on SQLite and PostgreSQL, and what tickets carry.
Money is integer cents. Personal data (holder name and ID number) is stored only encrypted
(``holder_enc``); gates get keyed digests, never the clear text.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Organiser(Base):
    __tablename__ = "organisers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[float] = mapped_column(Float)


class Account(Base):
    """A buyer."""

    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[float] = mapped_column(Float)


class Venue(Base):
    __tablename__ = "venues"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organiser_id: Mapped[int] = mapped_column(ForeignKey("organisers.id"))
    name: Mapped[str] = mapped_column(String(200))
    stage: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[float] = mapped_column(Float)


class Seat(Base):
    """A seat of a venue layout. ``rank`` orders rows by distance to the stage (0 nearest)."""

    __tablename__ = "seats"
    __table_args__ = (UniqueConstraint("venue_id", "label"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    venue_id: Mapped[int] = mapped_column(ForeignKey("venues.id"), index=True)
    label: Mapped[str] = mapped_column(String(64))
    section: Mapped[str] = mapped_column(String(40))
    row: Mapped[str] = mapped_column(String(20))
    number: Mapped[str] = mapped_column(String(20))
    position: Mapped[int] = mapped_column(Integer)
    rank: Mapped[int] = mapped_column(Integer)
    x: Mapped[float] = mapped_column(Float)
    y: Mapped[float] = mapped_column(Float)
    accessible: Mapped[bool] = mapped_column(Boolean, default=False)
    companion: Mapped[bool] = mapped_column(Boolean, default=False)
    box: Mapped[str | None] = mapped_column(String(40))


class GaArea(Base):
    """A general-admission area of a venue layout (standing floor, lawn) with its capacity."""

    __tablename__ = "ga_areas"
    __table_args__ = (UniqueConstraint("venue_id", "code"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    venue_id: Mapped[int] = mapped_column(ForeignKey("venues.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    capacity: Mapped[int] = mapped_column(Integer)


class Event(Base):
    __tablename__ = "events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organiser_id: Mapped[int] = mapped_column(ForeignKey("organisers.id"), index=True)
    venue_id: Mapped[int] = mapped_column(ForeignKey("venues.id"))
    name: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3))
    identity_key_enc: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[float] = mapped_column(Float)


class Zone(Base):
    """A price zone of an event (e.g. VIP, A, B, floor)."""

    __tablename__ = "zones"
    __table_args__ = (UniqueConstraint("event_id", "code"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    price_cents: Mapped[int] = mapped_column(Integer)


class TicketType(Base):
    """Adult, child, VIP, box...; ``kind='box'`` types sell a whole box, all or nothing.

    ``prices`` maps zone codes to a price in cents overriding the zone's base price.
    """

    __tablename__ = "ticket_types"
    __table_args__ = (UniqueConstraint("event_id", "code"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10))
    prices: Mapped[dict[str, int]] = mapped_column(JSON)


class Session(Base):
    """One performance of an event, with its sale window, hold time and purchase limits."""

    __tablename__ = "sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[float] = mapped_column(Float)
    ends_at: Mapped[float] = mapped_column(Float)
    sale_starts_at: Mapped[float] = mapped_column(Float)
    sale_ends_at: Mapped[float] = mapped_column(Float)
    hold_seconds: Mapped[int] = mapped_column(Integer)
    real_name: Mapped[bool] = mapped_column(Boolean)
    limit_per_account: Mapped[int | None] = mapped_column(Integer)
    limit_per_device: Mapped[int | None] = mapped_column(Integer)
    limit_per_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[float] = mapped_column(Float)


class SessionSeat(Base):
    """The inventory row of one seat in one session: the only place a seat's sale is decided.

    A seat is held or sold by one conditional UPDATE on this row (status and hold expiry in
    the WHERE clause), so two buyers can never both get it. A hold whose ``hold_expires_at``
    has passed counts as available without anyone having to reset it.
    Layout fields are copied in so the seat map and best-available read one table.
    """

    __tablename__ = "session_seats"
    __table_args__ = (
        UniqueConstraint("session_id", "label"),
        Index("ix_session_seats_hold", "hold_id"),
        Index("ix_session_seats_changed", "session_id", "changed_at"),
        Index("ix_session_seats_row", "session_id", "section", "row"),
        Index("ix_session_seats_best", "session_id", "zone_id", "rank", "section", "row", "position"),
        CheckConstraint(
            "status in ('available','held','sold','reserved','blocked','removed')", name="seat_status"
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"))
    seat_id: Mapped[int] = mapped_column(ForeignKey("seats.id"))
    label: Mapped[str] = mapped_column(String(64))
    section: Mapped[str] = mapped_column(String(40))
    row: Mapped[str] = mapped_column(String(20))
    position: Mapped[int] = mapped_column(Integer)
    rank: Mapped[int] = mapped_column(Integer)
    x: Mapped[float] = mapped_column(Float)
    y: Mapped[float] = mapped_column(Float)
    accessible: Mapped[bool] = mapped_column(Boolean)
    box: Mapped[str | None] = mapped_column(String(40))
    zone_id: Mapped[int] = mapped_column(ForeignKey("zones.id"))
    status: Mapped[str] = mapped_column(String(10))
    hold_id: Mapped[int | None] = mapped_column(Integer)
    hold_expires_at: Mapped[float | None] = mapped_column(Float)
    order_id: Mapped[int | None] = mapped_column(Integer)
    changed_at: Mapped[float] = mapped_column(Float)


class SessionGa(Base):
    """General-admission stock of one area in one session: atomic counters under a CHECK."""

    __tablename__ = "session_ga"
    __table_args__ = (
        UniqueConstraint("session_id", "code"),
        CheckConstraint("held >= 0 AND sold >= 0 AND held + sold <= capacity", name="ga_stock"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    zone_id: Mapped[int] = mapped_column(ForeignKey("zones.id"))
    capacity: Mapped[int] = mapped_column(Integer)
    held: Mapped[int] = mapped_column(Integer, default=0)
    sold: Mapped[int] = mapped_column(Integer, default=0)
    changed_at: Mapped[float] = mapped_column(Float)


class Hold(Base):
    """A buyer's temporary claim. status: active -> converted | released | expired."""

    __tablename__ = "holds"
    __table_args__ = (Index("ix_holds_expiry", "status", "expires_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    device_id: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(10))
    expires_at: Mapped[float] = mapped_column(Float)
    extended: Mapped[bool] = mapped_column(Boolean, default=False)
    seat_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[float] = mapped_column(Float)


class HoldGa(Base):
    __tablename__ = "hold_ga"
    hold_id: Mapped[int] = mapped_column(ForeignKey("holds.id"), primary_key=True)
    ga_id: Mapped[int] = mapped_column(ForeignKey("session_ga.id"), primary_key=True)
    quantity: Mapped[int] = mapped_column(Integer)


class Order(Base):
    """status: pending_payment -> paid -> ticketed; pending_payment -> expired | cancelled;
    paid/ticketed -> refunded (cancelled after payment, money returned)."""

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("account_id", "idempotency_key"),
        Index("ix_orders_session_device", "session_id", "device_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    device_id: Mapped[str | None] = mapped_column(String(100))
    hold_id: Mapped[int] = mapped_column(ForeignKey("holds.id"), unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(100))
    request_digest: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), index=True)
    total_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    email: Mapped[str] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(32))
    expires_at: Mapped[float] = mapped_column(Float)
    created_at: Mapped[float] = mapped_column(Float)
    paid_at: Mapped[float | None] = mapped_column(Float)
    ticketed_at: Mapped[float | None] = mapped_column(Float)
    closed_at: Mapped[float | None] = mapped_column(Float)
    reason: Mapped[str | None] = mapped_column(String(200))


class Ticket(Base):
    """One ticket line of an order. ``status``: pending (order unpaid) -> valid -> revoked.

    ``token`` is the signed ``EN1:`` text of the current version. The holder's name and ID
    number are only in ``holder_enc`` (Fernet); ``id_digest``/``name_digest`` are keyed HMACs
    the gates compare against.
    """

    __tablename__ = "tickets"
    __table_args__ = (Index("ix_tickets_session_digest", "session_id", "id_digest"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    event_id: Mapped[int] = mapped_column(Integer, index=True)
    session_id: Mapped[int] = mapped_column(Integer)
    seat_label: Mapped[str | None] = mapped_column(String(64))
    ga_id: Mapped[int | None] = mapped_column(Integer)
    zone: Mapped[str] = mapped_column(String(40))
    ticket_type: Mapped[str] = mapped_column(String(40))
    price_cents: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10))
    version: Mapped[int] = mapped_column(Integer, default=1)
    token: Mapped[str | None] = mapped_column(Text)
    kid: Mapped[str | None] = mapped_column(String(64))
    holder_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    holder_masked: Mapped[str | None] = mapped_column(String(120))
    id_digest: Mapped[str | None] = mapped_column(String(64))
    name_digest: Mapped[str | None] = mapped_column(String(64))
    checked_in_at: Mapped[float | None] = mapped_column(Float)
    checked_in_gate: Mapped[str | None] = mapped_column(String(100))
    inside: Mapped[bool] = mapped_column(Boolean, default=False)
    device_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    """The buyer's phone's Ed25519 public key once bound (signed in as the ``dk`` claim)."""


class DeviceBinding(Base):
    """The audit trail of a ticket's device keys: every binding, with the key it replaced.

    Keys appear only as fingerprints (``core.device_binding.fingerprint``).
    """

    __tablename__ = "device_bindings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id"), index=True)
    account_id: Mapped[int] = mapped_column(Integer)
    old_fingerprint: Mapped[str | None] = mapped_column(String(64))
    new_fingerprint: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[float] = mapped_column(Float)


class DeviceStepUp(Base):
    """A confirmation code e-mailed to the buyer before a bound ticket moves to another phone.

    Only a keyed digest of the code is kept (``core.device_binding.step_up_digest``).
    """

    __tablename__ = "device_step_ups"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id"), index=True)
    account_id: Mapped[int] = mapped_column(Integer)
    code_digest: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[float] = mapped_column(Float)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[float] = mapped_column(Float)


class Payment(Base):
    __tablename__ = "payments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    provider: Mapped[str] = mapped_column(String(20))
    provider_ref: Mapped[str] = mapped_column(String(100), unique=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(12))
    pay_url: Mapped[str] = mapped_column(String(4000))  # 0006_alipay_card: Alipay page-pay URLs are long
    created_at: Mapped[float] = mapped_column(Float)
    settled_at: Mapped[float | None] = mapped_column(Float)


class PaymentNotification(Base):
    """Every provider notification accepted once: a replay finds its id here and is refused."""

    __tablename__ = "payment_notifications"
    notify_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    payment_id: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[float] = mapped_column(Float)


class EventKey(Base):
    """A per-event Ed25519 signing key; the private half only Fernet-encrypted."""

    __tablename__ = "event_keys"
    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    public_json: Mapped[dict[str, Any]] = mapped_column(JSON)
    private_enc: Mapped[bytes] = mapped_column(LargeBinary)
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[float] = mapped_column(Float)
    retired_at: Mapped[float | None] = mapped_column(Float)


class FeedCounter(Base):
    """One row whose value hands out feed cursors; its row lock orders them by commit."""

    __tablename__ = "feed_counter"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class FeedEntry(Base):
    __tablename__ = "feed_entries"
    __table_args__ = (Index("ix_feed_event_cursor", "event_id", "cursor"),)
    cursor: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    event_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    ticket_id: Mapped[str] = mapped_column(String(36))
    record: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[float] = mapped_column(Float)


class FeedClient(Base):
    """A sync server allowed to read one event's feed and post its check-ins."""

    __tablename__ = "feed_clients"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[float] = mapped_column(Float)


class CheckIn(Base):
    __tablename__ = "checkins"
    scan_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(String(36), index=True)
    version: Mapped[int] = mapped_column(Integer)
    gate: Mapped[str] = mapped_column(String(100))
    direction: Mapped[str] = mapped_column(String(3))
    verdict: Mapped[str] = mapped_column(String(40))
    conflict: Mapped[bool] = mapped_column(Boolean)
    device_id: Mapped[str | None] = mapped_column(String(100))
    scanned_at: Mapped[float] = mapped_column(Float)
    received_at: Mapped[float] = mapped_column(Float)


class OutboxMessage(Base):
    """An e-mail or SMS to deliver; written in the ticketing transaction, so never lost."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(5))
    recipient: Mapped[str] = mapped_column(String(254))
    order_id: Mapped[int] = mapped_column(Integer, index=True)
    status: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[float] = mapped_column(Float)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[float] = mapped_column(Float)
    sent_at: Mapped[float | None] = mapped_column(Float)
    kind: Mapped[str | None] = mapped_column(String(20))
    """What the message says (notify.messages.KINDS); None is a tickets message (rows before 0005)."""


# --- support desk and Q&A bot (box_office/support) ---


class SupportFaq(Base):
    """One FAQ entry of an event, edited by its promoter; the bot answers from these.

    ``topic`` is a stable key (doors, bags, children, parking, real_name, refund_policy, ...);
    ``keywords`` are extra words buyers use for it (both languages, space separated)."""

    __tablename__ = "support_faq"
    __table_args__ = (UniqueConstraint("event_id", "topic"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    topic: Mapped[str] = mapped_column(String(40))
    question_zh: Mapped[str] = mapped_column(String(300))
    question_en: Mapped[str] = mapped_column(String(300))
    answer_zh: Mapped[str] = mapped_column(Text)
    answer_en: Mapped[str] = mapped_column(Text)
    keywords: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[float] = mapped_column(Float)


class SupportRequest(Base):
    """A buyer's request to the promoter's staff. status: open | waiting_buyer | solved.

    ``reply_due_at`` is when staff must answer next (None while waiting for the buyer or solved)."""

    __tablename__ = "support_requests"
    __table_args__ = (
        Index("ix_support_requests_event_status", "event_id", "status"),
        CheckConstraint("status in ('open','waiting_buyer','solved')", name="support_status"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    category: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    lang: Mapped[str] = mapped_column(String(5))
    subject: Mapped[str] = mapped_column(String(200))
    from_bot: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    first_reply_at: Mapped[float | None] = mapped_column(Float)
    reply_due_at: Mapped[float | None] = mapped_column(Float)
    solved_at: Mapped[float | None] = mapped_column(Float)


class SupportMessage(Base):
    """One message of a request's thread. author: buyer | staff | bot."""

    __tablename__ = "support_messages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("support_requests.id"), index=True)
    author: Mapped[str] = mapped_column(String(10))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float)


class CannedReply(Base):
    """A promoter's saved reply, in both languages, for staff to send in one click."""

    __tablename__ = "support_canned_replies"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organiser_id: Mapped[int] = mapped_column(ForeignKey("organisers.id"), index=True)
    title: Mapped[str] = mapped_column(String(100))
    body_zh: Mapped[str] = mapped_column(Text)
    body_en: Mapped[str] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float)


# ------------------------------------------------------------------ after-sales (issue 21)


class EventRefundPolicy(Base):
    """A promoter's refund terms for one event (``core.refund_policy`` JSON form)."""

    __tablename__ = "event_refund_policies"
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), primary_key=True)
    policy: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[float] = mapped_column(Float)


class OrderRefundTerms(Base):
    """The refund policy an order was bought under: snapshotted at purchase, never changed."""

    __tablename__ = "order_refund_terms"
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    policy: Mapped[dict[str, Any]] = mapped_column(JSON)
    purchased_at: Mapped[float] = mapped_column(Float)


class RefundRequest(Base):
    """A buyer's (or the promoter's, or a bulk job's) request to refund tickets of an order.

    status: pending_approval -> approved | denied; approved -> (refunds) done.
    ``reason`` is the policy's stable reason code when it needed the promoter.
    """

    __tablename__ = "refund_requests"
    __table_args__ = (Index("ix_refund_requests_session_status", "session_id", "status"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    account_id: Mapped[int] = mapped_column(Integer, index=True)
    session_id: Mapped[int] = mapped_column(Integer)
    ticket_ids: Mapped[list[str]] = mapped_column(JSON)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    percent: Mapped[int] = mapped_column(Integer)
    fee_cents: Mapped[int] = mapped_column(BigInteger)
    basis: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[float] = mapped_column(Float)
    decided_at: Mapped[float | None] = mapped_column(Float)
    decided_by: Mapped[int | None] = mapped_column(Integer)


class Refund(Base):
    """Money going back through the payment's own provider. ``refund_no`` is deterministic
    (``R<order>-<seq>``) and unique: the same refund is never created twice.

    status: pending -> submitting -> succeeded (or back to pending on a provider error).
    """

    __tablename__ = "refunds"
    __table_args__ = (Index("ix_refunds_status", "status", "lease_until"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    refund_no: Mapped[str] = mapped_column(String(64), unique=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("refund_requests.id"), index=True)
    order_id: Mapped[int] = mapped_column(Integer, index=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    provider: Mapped[str] = mapped_column(String(20))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[float | None] = mapped_column(Float)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    """``host:pid`` of the process that claimed it: on the same host a dead claimer's lease is
    not waited for (a bulk job resumed after kill -9)."""
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[float] = mapped_column(Float)
    done_at: Mapped[float | None] = mapped_column(Float)


class InvoiceCounter(Base):
    """The next invoice number of one promoter: one row, updated in the issuing transaction, so
    numbers are gap-free (a rolled-back invoice rolls its number back too)."""

    __tablename__ = "invoice_counters"
    organiser_id: Mapped[int] = mapped_column(ForeignKey("organisers.id"), primary_key=True)
    next_number: Mapped[int] = mapped_column(BigInteger)


class Invoice(Base):
    """A 发票, immutable once issued. ``kind``: blue (normal) or red (credit, negative amount,
    ``original_id`` the blue one, ``reason`` the 红字 reason code)."""

    __tablename__ = "invoices"
    __table_args__ = (UniqueConstraint("organiser_id", "number"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organiser_id: Mapped[int] = mapped_column(Integer, index=True)
    number: Mapped[int] = mapped_column(BigInteger)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    kind: Mapped[str] = mapped_column(String(4))
    original_id: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(String(40))
    title_type: Mapped[str] = mapped_column(String(12))
    title: Mapped[str] = mapped_column(String(200))
    tax_number: Mapped[str | None] = mapped_column(String(18))
    email: Mapped[str] = mapped_column(String(254))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    issued_at: Mapped[float] = mapped_column(Float)


class BulkJob(Base):
    """A bulk cancellation (or postponement) of a session: resumable, shared by workers."""

    __tablename__ = "bulk_jobs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10))
    total: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[float] = mapped_column(Float)
    finished_at: Mapped[float | None] = mapped_column(Float)
    refund_until: Mapped[float | None] = mapped_column(Float)
    """A postponement: until then every buyer of the session may refund in full, whatever the policy."""
    new_starts_at: Mapped[float | None] = mapped_column(Float)


class BulkJobOrder(Base):
    """One order of a bulk job and how far it got: todo -> done (or failed, retried)."""

    __tablename__ = "bulk_job_orders"
    __table_args__ = (Index("ix_bulk_job_orders_state", "job_id", "state"),)
    job_id: Mapped[int] = mapped_column(ForeignKey("bulk_jobs.id"), primary_key=True)
    order_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    state: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    done_at: Mapped[float | None] = mapped_column(Float)


class EventTransferRules(Base):
    """A promoter's transfer rules for one event: allowed or not, how many times per ticket, and
    how long before the show transfers close (large real-name shows often forbid them)."""

    __tablename__ = "event_transfer_rules"
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), primary_key=True)
    allowed: Mapped[bool] = mapped_column(Boolean)
    max_per_ticket: Mapped[int | None] = mapped_column(Integer)
    lock_hours: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)


class TicketTransfer(Base):
    """A ticket offered to another account: offered -> accepted | declined | cancelled."""

    __tablename__ = "ticket_transfers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id"), index=True)
    from_account: Mapped[int] = mapped_column(Integer, index=True)
    to_email: Mapped[str] = mapped_column(String(254), index=True)
    to_account: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10))
    new_order_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[float] = mapped_column(Float)
    decided_at: Mapped[float | None] = mapped_column(Float)


# --- buyers (issue #13): verified numbers and addresses, one-time codes, sessions, passkeys ---


class BuyerIdentity(Base):
    """A verified mobile number or e-mail address: each belongs to exactly one account."""

    __tablename__ = "buyer_identities"
    __table_args__ = (UniqueConstraint("kind", "value", name="uq_buyer_identities_kind_value"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(5))  # phone | email
    value: Mapped[str] = mapped_column(String(254))
    verified_at: Mapped[float] = mapped_column(Float)


class BuyerOtp(Base):
    """One code sent by SMS or e-mail: its keyed digest, never the code."""

    __tablename__ = "buyer_otps"
    __table_args__ = (
        Index("ix_buyer_otps_target", "target", "created_at"),
        Index("ix_buyer_otps_ip", "ip", "created_at"),
        Index("ix_buyer_otps_device", "device", "created_at"),
    )
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel: Mapped[str] = mapped_column(String(5))  # sms | email
    target: Mapped[str] = mapped_column(String(254))
    purpose: Mapped[str] = mapped_column(String(10))  # sign_in | step_up
    account_id: Mapped[int | None] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[float] = mapped_column(Float)
    tries: Mapped[int] = mapped_column(Integer)
    used_at: Mapped[float | None] = mapped_column(Float)
    ip: Mapped[str] = mapped_column(String(64))
    device: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column(Float)


class BuyerToken(Base):
    """A signed-in buyer: an API bearer token or a page session (cookie), stored hashed."""

    __tablename__ = "buyer_tokens"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(4))  # api | page
    device: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float)
    stepped_up_at: Mapped[float | None] = mapped_column(Float)


class BuyerStepUp(Base):
    """Proof of a fresh second factor for one sensitive action (API): single use, short-lived."""

    __tablename__ = "buyer_step_ups"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(Integer, index=True)
    method: Mapped[str] = mapped_column(String(8))  # sms | email | passkey
    created_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float)
    used_at: Mapped[float | None] = mapped_column(Float)


class Passkey(Base):
    """A WebAuthn credential (a phone's fingerprint or face unlock) of one account."""

    __tablename__ = "passkeys"
    credential_id: Mapped[str] = mapped_column(String(512), primary_key=True)  # base64url
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    sign_count: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[float] = mapped_column(Float)
    last_used_at: Mapped[float | None] = mapped_column(Float)


class WebauthnChallenge(Base):
    """A WebAuthn challenge, consumed once."""

    __tablename__ = "webauthn_challenges"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    account_id: Mapped[int | None] = mapped_column(Integer)
    purpose: Mapped[str] = mapped_column(String(10))  # register | sign_in | step_up
    challenge: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[float] = mapped_column(Float)
    used_at: Mapped[float | None] = mapped_column(Float)


class StepUpRule(Base):
    """The promoter's amount above which paying for an order of the event needs a step-up."""

    __tablename__ = "step_up_rules"
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), primary_key=True)
    above_cents: Mapped[int] = mapped_column(Integer)
