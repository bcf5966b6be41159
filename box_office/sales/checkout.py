"""Checkout: an order made from a hold (idempotent), its lines priced, purchase limits checked."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as Db

from box_office.aftersales import refund_terms
from box_office.catalog.cache import SessionFacts
from box_office.catalog.keys import identity_key
from box_office.context import Context
from box_office.core.errors import RuleError
from box_office.core.holders import identify
from box_office.core.limits import Limits, check_limits
from box_office.core.orders import OPENED
from box_office.core.pricing import TicketTypeRule, price_of
from box_office.errors import Conflict, Invalid
from box_office.promotions import access as member_access
from box_office.promotions import group_buy, referrals
from box_office.promotions import pricing as promotion_pricing
from box_office.sales.holds import extend_hold, own_hold
from box_office.sales.limits import live_counts
from box_office.sales.views import order_view, render_order
from box_office.store.models import (
    Hold,
    HoldGa,
    Order,
    SessionSeat,
    Ticket,
)


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
    coupon: str | None = None
    group_open: int | None = None  # a group-buy campaign: this order opens a group
    group_join: int | None = None  # a group: this order joins it


def _digest(request: OrderRequest) -> str:
    return hashlib.sha256(json.dumps(asdict(request), sort_keys=True).encode()).hexdigest()


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
    # The pricing pipeline, as of the hold's creation: the price seen is the price paid.
    grouped = group_buy.prepare(
        db,
        facts,
        open_campaign=request.group_open,
        join_group=request.group_join,
        quantity=len(lines),
        now=now,
    )
    quote = promotion_pricing.quote(
        ctx,
        db,
        facts,
        account_id,
        lines,
        priced_at=hold.created_at,
        coupon_code=request.coupon,
        group_campaign=None if grouped is None else grouped.rule_id,
        lock=True,
    )
    for line, priced in zip(lines, quote.priced.lines, strict=True):
        line["price"] = priced.price_cents
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
            who = identify(id_key, holder.name, holder.id_type, holder.id_number)
        except RuleError as exc:
            raise Invalid(f"holder of {line['what']}: {exc}", exc.code) from None
        holders.append((ctx.vault.seal_json(who.sealed), who.masked, who.id_digest, who.name_digest))
        id_counts.setdefault(who.id_digest, [0, 0])[1] += 1
        masked_by_digest[who.id_digest] = who.masked_id
    perks = member_access.benefits(db, facts, account_id, hold.created_at)
    for line in lines:
        perks.check_zone(line["zone"], facts.id, line["what"])
    limits = Limits(perks.limit_per_account, facts.limit_per_device, facts.limit_per_id)
    if limits != Limits(None, None, None):
        subjects = [f"acct:{facts.id}:{account_id}"]
        if device_id:
            subjects.append(f"dev:{facts.id}:{device_id}")
        subjects += [f"id:{facts.id}:{d}" for d in id_counts]
        ctx.db.lock_subjects(db, subjects)
        account_count, device_count, per_id = live_counts(
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
        "status": OPENED,
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
    promotion_pricing.freeze(
        ctx, db, order_id=order_id, account_id=account_id, ticket_ids=[t.id for t in tickets], quote=quote
    )
    if grouped is not None:
        group_buy.attach(db, grouped, order_id=order_id, account_id=account_id, now=now)
    referrals.attribute(
        db,
        event_id=facts.event_id,
        account_id=account_id,
        order_id=order_id,
        prices=[line.price_cents for line in quote.priced.lines],
        group_order=grouped is not None,
        now=now,
    )
    tickets.sort(key=lambda t: (t.seat_label is None, t.seat_label or "", t.id))
    # The refund terms in force now are the order's for good (shown before paying).
    terms = refund_terms.snapshot(db, order_id, facts.event_id, now)
    return render_order(ctx, order, tickets, [], facts) | {"refund_policy": terms}, True


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


def _order_lines(
    db: Db, facts: SessionFacts, hold: Hold, requested: Sequence[TicketRequest], *, need_holders: bool = True
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
        if need_holders and facts.real_name and holder is None:
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


def quote_hold(
    ctx: Context,
    account_id: int,
    hold_id: int,
    requested: Sequence[TicketRequest],
    coupon: str | None,
    group_open: int | None = None,
    group_join: int | None = None,
) -> dict[str, Any]:
    """What an order from this hold would cost, line by line with its breakdown; writes nothing.

    The same pricing as :func:`create_order` (as of the hold's creation), so the price the buyer
    is shown at checkout is the price the order will have (unless a coupon's last use goes first).
    """
    with ctx.db.read() as db:
        hold = own_hold(db, account_id, hold_id)
        if hold.status != "active" or hold.expires_at < ctx.now():
            raise Conflict("the hold has expired or was released: hold the seats again", "hold_expired")
        facts = ctx.catalog.session(db, hold.session_id)
        lines = _order_lines(db, facts, hold, requested, need_holders=False)
        grouped = group_buy.prepare(
            db, facts, open_campaign=group_open, join_group=group_join, quantity=len(lines), now=ctx.now()
        )
        quote = promotion_pricing.quote(
            ctx,
            db,
            facts,
            account_id,
            lines,
            priced_at=hold.created_at,
            coupon_code=coupon,
            group_campaign=None if grouped is None else grouped.rule_id,
        )
    return {
        "hold_id": hold_id,
        "currency": facts.currency,
        "total_cents": quote.priced.total_cents,
        "list_total_cents": sum(p.list_cents for p in quote.priced.lines),
        "coupon_cents": quote.priced.coupon_cents,
        "lines": [
            {
                "what": line["what"],
                "zone": line["zone"],
                "ticket_type": line["type"],
                "list_cents": priced.list_cents,
                "price_cents": priced.price_cents,
                "steps": priced.breakdown(),
            }
            for line, priced in zip(lines, quote.priced.lines, strict=True)
        ],
    }
