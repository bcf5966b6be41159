"""Order use cases: create from a hold, pay, issue, cancel/refund, list; and the order sweeper.

Every status change of an order is a conditional UPDATE (``WHERE status = <expected>``), so
two processes racing on the same order (a payment notification and a cancellation, say)
cannot both win. Paying an order whose hold has lapsed never sells its seats: turning the
hold into a sale is itself conditional on the hold still being active and unexpired, and
the payment is refunded instead.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import partial
from typing import Any

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as Db
from sqlalchemy.orm.attributes import set_committed_value

from box_office.core.orders import (
    Limits,
    RuleError,
    TicketTypeRule,
    check_limits,
    effective_order_status,
    mask_name,
    price_of,
)
from box_office.payments.provider import NotificationError, PaymentError, PaymentProvider
from box_office.services import feed, issuing
from box_office.services.catalog import load_session
from box_office.services.catalog_cache import SessionFacts
from box_office.services.context import Context
from box_office.services.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized, Unavailable
from box_office.services.inventory import _finish_hold, extend_hold, own_hold
from box_office.services.keys import identity_key
from box_office.store.db import changed
from box_office.store.models import (
    Event,
    Hold,
    HoldGa,
    Order,
    Payment,
    PaymentNotification,
    SessionGa,
    SessionSeat,
    Ticket,
)
from ticket_format.identity import IdentityError, id_digest, name_digest, normalize_name, parse_id

_NO_SYNC = {"synchronize_session": False}
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Holder:
    name: str
    id_type: str
    id_number: str


@dataclass(frozen=True)
class TicketRequest:
    seat: str | None = None
    area: str | None = None
    ticket_type: str | None = None
    holder: Holder | None = None


@dataclass(frozen=True)
class OrderRequest:
    hold_id: int
    email: str
    phone: str | None = None
    tickets: tuple[TicketRequest, ...] = ()


def _digest(request: OrderRequest) -> str:
    return hashlib.sha256(json.dumps(asdict(request), sort_keys=True).encode()).hexdigest()


def _move(db: Db, order: Order, old: str | Sequence[str], new: str, **values: Any) -> None:
    """Conditionally move an order from ``old`` to ``new``; Conflict if someone else moved it first."""
    olds = (old,) if isinstance(old, str) else tuple(old)
    count = changed(
        db.connection().execute(
            update(Order)
            .where(Order.id == order.id, Order.status.in_(olds))
            .values(status=new, **values)
            .execution_options(**_NO_SYNC)
        )
    )
    if not count:
        db.refresh(order)
        raise Conflict(f"order {order.id} is {order.status}", "bad_state")
    db.refresh(order)


# ------------------------------------------------------------------ create


def create_order(
    ctx: Context, account_id: int, device_id: str | None, key: str, request: OrderRequest
) -> tuple[dict[str, Any], bool]:
    """Create a pending order from a hold; returns (order, created). Same key + same request = same order.

    The happy path does not look for an earlier order with this key first: the unique
    constraints (account + key, one order per hold) refuse a second insert, and that rarer
    path looks the earlier order up.
    """
    digest = _digest(request)

    def again(db: Db) -> tuple[dict[str, Any], bool]:
        existing = _by_key(db, account_id, key)
        if existing is None:
            raise Conflict("this hold already has an order", "has_order") from None
        if existing.request_digest != digest:
            raise Conflict(
                "this Idempotency-Key was used for a different order request", "idempotency_mismatch"
            )
        return order_view(ctx, db, existing), False

    try:
        return ctx.db.write(lambda db: _create(ctx, db, account_id, device_id, key, digest, request))
    except _Replay:
        return ctx.db.write(again)
    except IntegrityError:
        # A concurrent request with the same key (or for the same hold) won the race.
        return ctx.db.write(again)
    except Conflict as exc:
        # On PostgreSQL the loser of that race usually waits on the hold's row instead, then
        # finds it already extended: if the winner was this very request, answer its order.
        if exc.code != "hold_expired":
            raise
        with ctx.db.read() as db:
            if _by_key(db, account_id, key) is None:
                raise
        return ctx.db.write(again)


class _Replay(Exception):
    """The hold is no longer open because this very order (same key) was made from it."""


def _by_key(db: Db, account_id: int, key: str) -> Order | None:
    return db.scalar(select(Order).where(Order.account_id == account_id, Order.idempotency_key == key))


def _create(
    ctx: Context, db: Db, account_id: int, device_id: str | None, key: str, digest: str, request: OrderRequest
) -> tuple[dict[str, Any], bool]:
    now = ctx.now()
    hold = own_hold(db, account_id, request.hold_id)
    if hold.status != "active" or hold.expires_at < now:
        if _by_key(db, account_id, key) is not None:
            raise _Replay()
        raise Conflict("the hold has expired or was released: hold the seats again", "hold_expired")
    facts = ctx.catalog.session(db, hold.session_id)
    lines = _order_lines(db, facts, hold, request.tickets)
    id_key = identity_key(ctx, db, facts.event_id) if facts.real_name else b""
    holders: list[tuple[bytes | None, str | None, str | None, str | None]] = []
    id_counts: dict[str, list[int]] = {}
    masked_by_digest: dict[str, str] = {}
    for line in lines:
        holder = line["holder"]
        if holder is None:
            holders.append((None, None, None, None))
            continue
        try:
            document = parse_id(holder.id_type, holder.id_number)
            normalize_name(holder.name)
        except IdentityError as exc:
            raise Invalid(f"holder of {line['what']}: {exc}", "bad_identity") from None
        d_id = id_digest(id_key, document)
        masked = f"{mask_name(holder.name.strip())} {document.masked}"
        sealed = ctx.vault.seal_json(
            {"name": holder.name.strip(), "id_type": document.id_type.value, "id_number": document.number}
        )
        holders.append((sealed, masked, d_id, name_digest(id_key, holder.name)))
        id_counts.setdefault(d_id, [0, 0])[1] += 1
        masked_by_digest[d_id] = document.masked
    limits = Limits(facts.limit_per_account, facts.limit_per_device, facts.limit_per_id)
    if limits != Limits(None, None, None):
        subjects = [f"acct:{facts.id}:{account_id}"]
        if device_id:
            subjects.append(f"dev:{facts.id}:{device_id}")
        subjects += [f"id:{facts.id}:{d}" for d in id_counts]
        ctx.db.lock_subjects(db, subjects)
        account_count, device_count, per_id = _counts(
            db, facts.id, account_id, device_id, list(id_counts), now
        )
        for d, existing in per_id.items():
            id_counts[d][0] = existing
        try:
            check_limits(
                limits,
                quantity=len(lines),
                account_count=account_count,
                device_count=device_count,
                id_counts={masked_by_digest[d]: (c[0], c[1]) for d, c in id_counts.items()},
            )
        except RuleError as exc:
            raise Conflict(str(exc), exc.code) from None
    expires = extend_hold(ctx, db, hold, now, facts.hold_seconds)
    fields: dict[str, Any] = {
        "session_id": facts.id,
        "account_id": account_id,
        "device_id": device_id,
        "hold_id": hold.id,
        "idempotency_key": key,
        "request_digest": digest,
        "status": "pending_payment",
        "total_cents": sum(line["price"] for line in lines),
        "currency": facts.currency,
        "email": request.email,
        "phone": request.phone,
        "expires_at": expires,
        "created_at": now,
    }
    order_id: int = db.connection().execute(insert(Order).values(**fields).returning(Order.id)).scalar_one()
    # Not added to the session: the view is rendered from what was just written.
    order = Order(id=order_id, paid_at=None, ticketed_at=None, reason=None, **fields)
    tickets = [
        Ticket(
            id=str(uuid.uuid4()),
            order_id=order_id,
            event_id=facts.event_id,
            session_id=facts.id,
            seat_label=line["seat"],
            ga_id=line["ga_id"],
            zone=line["zone"],
            ticket_type=line["type"],
            price_cents=line["price"],
            status="pending",
            version=1,
            holder_enc=sealed_holder,
            holder_masked=masked_holder,
            id_digest=digest_id,
            name_digest=digest_name,
            inside=False,
            token=None,
            checked_in_at=None,
            checked_in_gate=None,
        )
        for line, (sealed_holder, masked_holder, digest_id, digest_name) in zip(lines, holders, strict=True)
    ]
    db.connection().execute(insert(Ticket), [_ticket_row(t) for t in tickets])
    tickets.sort(key=lambda t: (t.seat_label is None, t.seat_label or "", t.id))
    return render_order(ctx, order, tickets, [], facts), True


_TICKET_COLUMNS = [
    "id",
    "order_id",
    "event_id",
    "session_id",
    "seat_label",
    "ga_id",
    "zone",
    "ticket_type",
    "price_cents",
    "status",
    "version",
    "holder_enc",
    "holder_masked",
    "id_digest",
    "name_digest",
    "inside",
]


def _ticket_row(ticket: Ticket) -> dict[str, Any]:
    return {column: getattr(ticket, column) for column in _TICKET_COLUMNS}


def _counts(
    db: Db, session_id: int, account_id: int, device_id: str | None, digests: list[str], now: float
) -> tuple[int, int | None, dict[str, int]]:
    """Live tickets of this session per account, device and ID digest, in one round trip.

    Each count is its own scalar subquery so that each uses its index (orders by account,
    orders by session and device, tickets by session and ID digest).
    """
    live = or_(
        Order.status.in_(("paid", "ticketed")),
        (Order.status == "pending_payment") & (Order.expires_at >= now),
    )
    counted = (
        select(func.count(Ticket.id))
        .join(Order, Order.id == Ticket.order_id)
        .where(Order.session_id == session_id, live)
    )
    columns = [counted.where(Order.account_id == account_id).scalar_subquery()]
    if device_id:
        columns.append(counted.where(Order.device_id == device_id).scalar_subquery())
    columns += [
        counted.where(Ticket.session_id == session_id, Ticket.id_digest == d).scalar_subquery()
        for d in digests
    ]
    row = db.connection().execute(select(*columns)).one()
    values = [int(v or 0) for v in row]
    account_count = values.pop(0)
    device_count = values.pop(0) if device_id else None
    return account_count, device_count, dict(zip(digests, values, strict=True))


def _order_lines(
    db: Db, facts: SessionFacts, hold: Hold, requested: Sequence[TicketRequest]
) -> list[dict[str, Any]]:
    """One priced line per held seat or GA place, matched with the buyer's ticket requests."""
    types = facts.types
    default_standard = next((t for t in types.values() if t.kind == "standard"), None)
    default_box = next((t for t in types.values() if t.kind == "box"), None)
    seats = (
        db.connection()
        .execute(
            select(SessionSeat.label, SessionSeat.zone_id, SessionSeat.box).where(
                SessionSeat.hold_id == hold.id, SessionSeat.status == "held"
            )
        )
        .all()
    )
    if len(seats) != hold.seat_count:
        raise Conflict("the hold has expired and some seats were taken", "hold_expired")
    ga = [
        (facts.areas[ga_id], quantity)
        for ga_id, quantity in db.connection().execute(
            select(HoldGa.ga_id, HoldGa.quantity).where(HoldGa.hold_id == hold.id)
        )
    ]
    by_seat: dict[str, TicketRequest] = {}
    by_area: dict[str, list[TicketRequest]] = {}
    for item in requested:
        if (item.seat is None) == (item.area is None):
            raise Invalid("each ticket names either a seat or a GA area")
        if item.seat is not None:
            if item.seat in by_seat:
                raise Invalid(f"seat {item.seat} is listed twice")
            by_seat[item.seat] = item
        else:
            by_area.setdefault(str(item.area), []).append(item)
    held_labels = {s.label for s in seats}
    stray = set(by_seat) - held_labels
    if stray:
        raise Invalid(f"seats not in the hold: {', '.join(sorted(stray))}")
    held_areas = {area.code: quantity for area, quantity in ga}
    for code, items in by_area.items():
        if code not in held_areas:
            raise Invalid(f"GA area {code} is not in the hold")
        if len(items) > held_areas[code]:
            raise Invalid(f"more tickets for {code} than places held ({held_areas[code]})")

    def line(what: str, zone_id: int, in_box: bool, item: TicketRequest | None) -> dict[str, Any]:
        chosen = (
            types.get(item.ticket_type)
            if item and item.ticket_type
            else (default_box if in_box else default_standard)
        )
        if chosen is None:
            wanted = item.ticket_type if item and item.ticket_type else ("box" if in_box else "standard")
            raise Invalid(f"{what}: no ticket type {wanted}")
        zone = facts.zones[zone_id]
        try:
            price = price_of(
                zone.code, zone.price_cents, TicketTypeRule(chosen.code, chosen.kind, chosen.prices), in_box
            )
        except RuleError as exc:
            raise Invalid(f"{what}: {exc}", exc.code) from None
        holder = item.holder if item else None
        if facts.real_name and holder is None:
            raise Invalid(
                f"{what}: this is a real-name session: give the holder's name and ID", "holder_required"
            )
        return {"what": what, "zone": zone.code, "type": chosen.code, "price": price, "holder": holder}

    lines = []
    for seat in sorted(seats, key=lambda s: s.label):
        entry = line(f"seat {seat.label}", seat.zone_id, seat.box is not None, by_seat.get(seat.label))
        lines.append(entry | {"seat": seat.label, "ga_id": None})
    for area, quantity in ga:
        items = by_area.get(area.code, [])
        for index in range(quantity):
            place = items[index] if index < len(items) else None
            lines.append(
                line(f"{area.code} place {index + 1}", area.zone_id, False, place)
                | {"seat": None, "ga_id": area.id}
            )
    return lines


# ------------------------------------------------------------------ read


def order_view(ctx: Context, db: Db, order: Order) -> dict[str, Any]:
    tickets = db.scalars(
        select(Ticket).where(Ticket.order_id == order.id).order_by(Ticket.seat_label, Ticket.id)
    ).all()
    payments = db.scalars(select(Payment).where(Payment.order_id == order.id).order_by(Payment.id)).all()
    facts = ctx.catalog.session(db, order.session_id)
    if any(t.ga_id is not None and t.ga_id not in facts.areas for t in tickets):
        facts = ctx.catalog.session(db, order.session_id, fresh=True)
    return render_order(ctx, order, tickets, payments, facts)


def render_order(
    ctx: Context, order: Order, tickets: Sequence[Ticket], payments: Sequence[Payment], facts: SessionFacts
) -> dict[str, Any]:
    """The buyer's view of an order, from rows already at hand (no queries)."""
    return {
        "id": order.id,
        "session_id": order.session_id,
        "event_id": facts.event_id,
        "status": effective_order_status(order.status, order.expires_at, ctx.now()),
        "total_cents": order.total_cents,
        "currency": order.currency,
        "email": order.email,
        "expires_at": order.expires_at,
        "created_at": order.created_at,
        "paid_at": order.paid_at,
        "ticketed_at": order.ticketed_at,
        "reason": order.reason,
        "tickets": [
            ticket_view(t, facts.areas[t.ga_id].code if t.ga_id is not None else None) for t in tickets
        ],
        "payments": [
            {
                "id": p.id,
                "provider": p.provider,
                "status": p.status,
                "amount_cents": p.amount_cents,
                "pay_url": p.pay_url,
            }
            for p in payments
        ],
    }


def ticket_view(ticket: Ticket, area: str | None) -> dict[str, Any]:
    return {
        "id": ticket.id,
        "order_id": ticket.order_id,
        "event_id": ticket.event_id,
        "session_id": ticket.session_id,
        "seat": ticket.seat_label,
        "area": area,
        "zone": ticket.zone,
        "ticket_type": ticket.ticket_type,
        "price_cents": ticket.price_cents,
        "status": ticket.status,
        "version": ticket.version,
        "holder": ticket.holder_masked,
        "token": ticket.token if ticket.status == "valid" else None,
        "checked_in_at": ticket.checked_in_at,
        "checked_in_gate": ticket.checked_in_gate,
        "inside": ticket.inside,
    }


def order_statuses(ctx: Context, order_ids: list[int]) -> dict[int, str]:
    """Effective status of each of these orders (one query): what :mod:`order_watch` looks at."""
    now = ctx.now()
    with ctx.db.read() as db:
        rows = (
            db.connection()
            .execute(select(Order.id, Order.status, Order.expires_at).where(Order.id.in_(order_ids)))
            .all()
        )
    return {row[0]: effective_order_status(row[1], row[2], now) for row in rows}


def get_order(ctx: Context, account_id: int, order_id: int) -> dict[str, Any]:
    with ctx.db.read() as db:
        return order_view(ctx, db, _own_order(db, account_id, order_id))


def _own_order(db: Db, account_id: int, order_id: int) -> Order:
    order = db.get(Order, order_id)
    if order is None:
        raise NotFound(f"no order {order_id}")
    if order.account_id != account_id:
        raise Forbidden(f"order {order_id} belongs to another buyer")
    return order


def list_orders(ctx: Context, account_id: int) -> list[dict[str, Any]]:
    with ctx.db.read() as db:
        orders = db.scalars(
            select(Order).where(Order.account_id == account_id).order_by(Order.id.desc()).limit(200)
        ).all()
        return [order_view(ctx, db, o) for o in orders]


def list_tickets(ctx: Context, account_id: int) -> list[dict[str, Any]]:
    with ctx.db.read() as db:
        rows = db.scalars(
            select(Ticket)
            .join(Order, Order.id == Ticket.order_id)
            .where(Order.account_id == account_id, Ticket.status != "pending")
            .order_by(Ticket.order_id.desc(), Ticket.seat_label)
            .limit(1000)
        ).all()
        areas = {
            g.id: g.code
            for g in db.scalars(select(SessionGa).where(SessionGa.id.in_({t.ga_id for t in rows if t.ga_id})))
        }
        return [ticket_view(t, areas.get(t.ga_id) if t.ga_id else None) for t in rows]


def get_ticket(
    ctx: Context, account_id: int | None, ticket_id: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    with ctx.db.read() as db:
        ticket = db.get(Ticket, ticket_id)
        if ticket is None or ticket.status == "pending":
            raise NotFound(f"no ticket {ticket_id}")
        order = db.get(Order, ticket.order_id)
        assert order is not None
        if account_id is not None and order.account_id != account_id:
            raise Forbidden("this ticket belongs to another buyer")
        area = db.scalar(select(SessionGa.code).where(SessionGa.id == ticket.ga_id)) if ticket.ga_id else None
        return ticket_view(ticket, area), feed.ticket_checkins(db, ticket_id)


# ------------------------------------------------------------------ payment


def start_payment(
    ctx: Context,
    provider: PaymentProvider,
    account_id: int,
    order_id: int,
    notify_url: str,
    new_order: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Create (or return the open) provider payment for an unpaid order.

    ``new_order`` is the view of an order this request has just created (so it is the buyer's,
    unpaid, and has no payment yet): the checks that read the order are skipped.
    """
    if new_order is not None:
        amount, currency = new_order["total_cents"], new_order["currency"]
    else:
        with ctx.db.read() as db:
            order = _own_order(db, account_id, order_id)
            status = effective_order_status(order.status, order.expires_at, ctx.now())
            if status != "pending_payment":
                raise Conflict(f"order {order_id} is {status}: nothing to pay", "bad_state")
            open_payment = db.scalar(
                select(Payment).where(
                    Payment.order_id == order_id,
                    Payment.status == "created",
                    Payment.provider == provider.name,
                )
            )
            if open_payment is not None:
                return _payment_view(open_payment)
            amount, currency = order.total_cents, order.currency
    try:
        created = provider.create(f"order-{order_id}", amount, currency, notify_url)
    except PaymentError as exc:
        raise Unavailable(str(exc), "provider_unavailable") from None

    def work(db: Db) -> dict[str, Any]:
        payment = Payment(
            order_id=order_id,
            provider=provider.name,
            provider_ref=created.ref,
            amount_cents=amount,
            currency=currency,
            status="created",
            pay_url=created.pay_url,
            created_at=ctx.now(),
        )
        db.add(payment)
        db.flush()
        return _payment_view(payment) | {"qr_text": created.qr_text}

    return ctx.db.write(work)


def _payment_view(p: Payment) -> dict[str, Any]:
    return {
        "id": p.id,
        "order_id": p.order_id,
        "provider": p.provider,
        "status": p.status,
        "amount_cents": p.amount_cents,
        "currency": p.currency,
        "pay_url": p.pay_url,
        "qr_text": p.pay_url,
    }


class _HoldLost(Exception):
    pass


def handle_notification(
    ctx: Context, provider: PaymentProvider, headers: dict[str, str], body: bytes
) -> dict[str, Any]:
    """Verify and apply a provider's payment notification; forged, stale or replayed ones are refused."""
    try:
        note = provider.verify_notification(headers, body)
    except NotificationError as exc:
        raise Unauthorized(f"notification rejected: {exc}", "bad_notification") from None

    def record(db: Db, payment: Payment) -> None:
        if db.get(PaymentNotification, note.notify_id) is not None:
            raise Conflict("notification already processed (replay)", "replayed")
        db.add(PaymentNotification(notify_id=note.notify_id, payment_id=payment.id, received_at=ctx.now()))

    def work(db: Db) -> tuple[str, int]:
        found = db.execute(
            select(Payment, Order)
            .join(Order, Order.id == Payment.order_id)
            .where(Payment.provider_ref == note.ref, Payment.provider == provider.name)
        ).first()
        if found is None:
            raise NotFound(f"no payment {note.ref}", "unknown_payment")
        payment, order = found
        if note.amount_cents != payment.amount_cents or note.currency != payment.currency:
            raise Invalid(
                f"amount mismatch: notified {note.amount_cents} {note.currency}, "
                f"expected {payment.amount_cents} {payment.currency}",
                "amount_mismatch",
            )
        now = ctx.now()
        # A replayed notification id breaks the primary key: IntegrityError, answered 409 below.
        db.connection().execute(
            insert(PaymentNotification).values(
                notify_id=note.notify_id, payment_id=payment.id, received_at=now
            )
        )
        if note.status != "paid" or payment.status != "created":
            return "ignored", payment.order_id
        if effective_order_status(order.status, order.expires_at, now) != "pending_payment":
            if order.status == "pending_payment":
                _move(
                    db,
                    order,
                    "pending_payment",
                    "expired",
                    closed_at=now,
                    reason="paid after expiry: refunded",
                )
                _finish_hold(db, order.hold_id, "expired", now)
            payment.status = "refund_due"
            return "refund", order.id
        seat_count = (
            db.connection()
            .execute(
                update(Hold)
                .where(Hold.id == order.hold_id, Hold.status == "active", Hold.expires_at >= now)
                .values(status="converted")
                .returning(Hold.seat_count)
                .execution_options(**_NO_SYNC)
            )
            .scalar()
        )
        if seat_count is None:
            raise _HoldLost()
        sold = changed(
            db.connection().execute(
                update(SessionSeat)
                .where(SessionSeat.hold_id == order.hold_id, SessionSeat.status == "held")
                .values(status="sold", order_id=order.id, hold_expires_at=None, changed_at=now)
                .execution_options(**_NO_SYNC)
            )
        )
        if sold != seat_count:
            raise _HoldLost()
        tickets = db.scalars(select(Ticket).where(Ticket.order_id == order.id).order_by(Ticket.id)).all()
        facts = ctx.catalog.session(db, order.session_id)
        signed = issuing.sign_all(ctx, db, tickets, facts)  # before any ticket write: may fail
        # One ticket was made per GA place held (create_order), so the tickets say what to move.
        for ga_id, quantity in Counter(t.ga_id for t in tickets if t.ga_id is not None).items():
            db.connection().execute(
                update(SessionGa)
                .where(SessionGa.id == ga_id)
                .values(held=SessionGa.held - quantity, sold=SessionGa.sold + quantity, changed_at=now)
                .execution_options(**_NO_SYNC)
            )
        if not changed(
            db.connection().execute(
                update(Order)
                .where(Order.id == order.id, Order.status == "pending_payment")
                .values(status="paid", paid_at=now)
                .execution_options(**_NO_SYNC)
            )
        ):
            raise Conflict(f"order {order.id} changed while its payment arrived", "bad_state")
        set_committed_value(order, "status", "paid")
        set_committed_value(order, "paid_at", now)
        db.connection().execute(
            update(Payment).where(Payment.id == payment.id).values(status="succeeded", settled_at=now)
        )
        set_committed_value(payment, "status", "succeeded")
        set_committed_value(payment, "settled_at", now)
        if signed is not None:  # else the order stays paid and the sweeper issues it later
            issuing.issue_tickets(ctx, db, order, tickets, facts, signed)
        return "paid", order.id

    def lost(db: Db) -> tuple[str, int]:
        payment = db.scalar(select(Payment).where(Payment.provider_ref == note.ref))
        assert payment is not None
        record(db, payment)
        order = db.get(Order, payment.order_id)
        assert order is not None
        now = ctx.now()
        if order.status == "pending_payment":
            _move(
                db, order, "pending_payment", "expired", closed_at=now, reason="paid after expiry: refunded"
            )
        _finish_hold(db, order.hold_id, "expired", now)
        payment.status = "refund_due"
        return "refund", order.id

    try:
        outcome, order_id = ctx.db.write(work)
    except _HoldLost:
        outcome, order_id = ctx.db.write(lost)
    except IntegrityError:
        raise Conflict("notification already processed (replay)", "replayed") from None
    if outcome == "refund":
        settle_refunds(ctx, provider, order_id)
    return {"outcome": outcome, "order_id": order_id}


def settle_refunds(ctx: Context, provider: PaymentProvider, order_id: int | None = None) -> int:
    """Refund every payment marked refund_due (of one order, or all): retried until the provider agrees."""
    with ctx.db.read() as db:
        query = select(Payment.id, Payment.provider_ref, Payment.amount_cents).where(
            Payment.status == "refund_due", Payment.provider == provider.name
        )
        if order_id is not None:
            query = query.where(Payment.order_id == order_id)
        due = db.connection().execute(query).all()
    done = 0
    for payment_id, ref, amount in due:
        try:
            provider.refund(ref, amount)
        except PaymentError:
            continue  # the sweeper tries again later; the money is owed, not lost
        ctx.db.write(partial(_mark_refunded, payment_id=payment_id, now=ctx.now()))
        done += 1
    return done


def _mark_refunded(db: Db, *, payment_id: int, now: float) -> None:
    db.connection().execute(
        update(Payment)
        .where(Payment.id == payment_id, Payment.status == "refund_due")
        .values(status="refunded", settled_at=now)
    )


def reconcile_payment(
    ctx: Context, provider: PaymentProvider, account_id: int, order_id: int
) -> dict[str, Any]:
    """Ask the provider about the order's open payment, for a notification that never arrived."""
    with ctx.db.read() as db:
        _own_order(db, account_id, order_id)
        refs = db.scalars(
            select(Payment.provider_ref).where(Payment.order_id == order_id, Payment.status == "created")
        ).all()
    for ref in refs:
        try:
            state = provider.query(ref)
        except PaymentError as exc:
            raise Unavailable(str(exc), "provider_unavailable") from None
        if state.status == "paid":
            _apply_queried(ctx, provider, ref, state.amount_cents)
    return get_order(ctx, account_id, order_id)


def _apply_queried(ctx: Context, provider: PaymentProvider, ref: str, amount: int) -> None:
    """Apply a payment found paid by a query, through the same path as a notification."""
    from box_office.payments.sandbox import SandboxProvider, signed_headers

    if not isinstance(provider, SandboxProvider):  # pragma: no cover - only the sandbox exists yet
        return
    with ctx.db.read() as db:
        payment = db.scalar(select(Payment).where(Payment.provider_ref == ref))
        assert payment is not None
        currency, order_id = payment.currency, payment.order_id
    body = json.dumps(
        {
            "notify_id": f"query:{ref}",
            "ref": ref,
            "merchant_order": f"order-{order_id}",
            "status": "paid",
            "amount_cents": amount,
            "currency": currency,
        }
    ).encode()
    with contextlib.suppress(Conflict):
        handle_notification(ctx, provider, signed_headers(provider.secret, body), body)


# ------------------------------------------------------------------ cancel and refund


def cancel_order(
    ctx: Context,
    provider: PaymentProvider,
    order_id: int,
    *,
    account_id: int | None,
    organiser_id: int | None,
) -> dict[str, Any]:
    """Cancel an unpaid order (hold released) or refund a paid one (tickets revoked, seats back on sale).

    A refund is refused once any ticket of the order has been checked in at the venue.
    """

    def work(db: Db) -> str:
        order = db.get(Order, order_id)
        if order is None:
            raise NotFound(f"no order {order_id}")
        if account_id is not None and order.account_id != account_id:
            raise Forbidden(f"order {order_id} belongs to another buyer")
        if organiser_id is not None:
            session = load_session(db, order.session_id)
            event = db.get(Event, session.event_id)
            if event is None or event.organiser_id != organiser_id:
                raise Forbidden(f"order {order_id} is for another organiser's event")
        now = ctx.now()
        status = effective_order_status(order.status, order.expires_at, now)
        if status == "pending_payment":
            _move(db, order, "pending_payment", "cancelled", closed_at=now, reason="cancelled")
            _finish_hold(db, order.hold_id, "released", now)
            return "cancelled"
        if status not in ("paid", "ticketed"):
            raise Conflict(f"order {order_id} is {status}: nothing to cancel", "bad_state")
        tickets = db.scalars(select(Ticket).where(Ticket.order_id == order_id)).all()
        used = [t.seat_label or t.id for t in tickets if t.checked_in_at is not None]
        if used:
            raise Conflict(
                f"refund refused: ticket(s) already used at the venue ({', '.join(used[:5])})", "already_used"
            )
        _move(db, order, ("paid", "ticketed"), "refunded", closed_at=now, reason="refunded")
        session = load_session(db, order.session_id)
        changes: list[tuple[str, Ticket, bool]] = []
        per_area: dict[int, int] = {}
        for ticket in tickets:
            if ticket.ga_id is not None:
                per_area[ticket.ga_id] = per_area.get(ticket.ga_id, 0) + 1
            if ticket.status == "valid":
                changes.append(("revoked", ticket, session.real_name))
            ticket.status = "revoked"
        db.connection().execute(
            update(SessionSeat)
            .where(SessionSeat.order_id == order_id, SessionSeat.status == "sold")
            .values(status="available", order_id=None, hold_id=None, changed_at=now)
            .execution_options(**_NO_SYNC)
        )
        for ga_id, count in per_area.items():
            db.connection().execute(
                update(SessionGa)
                .where(SessionGa.id == ga_id)
                .values(sold=SessionGa.sold - count, changed_at=now)
                .execution_options(**_NO_SYNC)
            )
        db.connection().execute(
            update(Payment)
            .where(Payment.order_id == order_id, Payment.status == "succeeded")
            .values(status="refund_due")
            .execution_options(**_NO_SYNC)
        )
        feed.append(ctx, db, changes)
        return "refunded"

    outcome = ctx.db.write(work)
    if outcome == "refunded":
        settle_refunds(ctx, provider, order_id)
    with ctx.db.read() as db:
        order = db.get(Order, order_id)
        assert order is not None
        return order_view(ctx, db, order)


def sweep_orders(ctx: Context, limit: int = 500) -> int:
    """Record expiry of unpaid orders past their time (their holds are closed by the hold sweeper)."""
    now = ctx.now()

    def work(db: Db) -> int:
        return changed(
            db.connection().execute(
                update(Order)
                .where(Order.status == "pending_payment", Order.expires_at < now)
                .values(status="expired", closed_at=now, reason="not paid in time")
                .execution_options(**_NO_SYNC)
            )
        )

    return ctx.db.write(work)
