"""Catalog use cases: organisers, buyers, venues, events, sessions, and safe changes after on-sale."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as Db

from box_office.config import new_token
from box_office.core.layout import GaSpec, Layout, SeatSpec
from box_office.core.seating import effective_status
from box_office.services import keys
from box_office.services.context import Context
from box_office.services.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from box_office.store.db import changed
from box_office.store.models import (
    Account,
    Event,
    FeedClient,
    GaArea,
    Hold,
    HoldGa,
    Organiser,
    Seat,
    Session,
    SessionGa,
    SessionSeat,
    TicketType,
    Venue,
    Zone,
)
from box_office.vault import token_hash

# ------------------------------------------------------------------ principals


def create_organiser(ctx: Context, name: str) -> tuple[int, str]:
    token = new_token()

    def work(db: Db) -> int:
        row = Organiser(name=name, token_hash=token_hash(token), created_at=ctx.now())
        db.add(row)
        db.flush()
        return row.id

    return ctx.db.write(work), token


def create_account(ctx: Context, email: str, name: str | None, phone: str | None) -> tuple[int, str]:
    token = new_token()

    def work(db: Db) -> int:
        row = Account(email=email, name=name, phone=phone, token_hash=token_hash(token), created_at=ctx.now())
        db.add(row)
        db.flush()
        return row.id

    return ctx.db.write(work), token


def organiser_for(ctx: Context, token: str | None) -> int:
    return _principal(ctx, Organiser.id, Organiser.token_hash, token, "organiser")


def account_for(ctx: Context, token: str | None) -> int:
    return _principal(ctx, Account.id, Account.token_hash, token, "buyer")


def feed_client_for(ctx: Context, token: str | None) -> int:
    """The event id a feed client's token may read."""
    return _principal(ctx, FeedClient.event_id, FeedClient.token_hash, token, "feed client")


_MAX_KNOWN_TOKENS = 200_000
_KINDS: dict[Any, str] = {organiser_for: "organiser", account_for: "buyer", feed_client_for: "feed client"}


def remembered_principal(ctx: Context, lookup: Any, token: str | None) -> int | None:
    """The owner of ``token`` if this process has already looked it up with ``lookup``
    (one of :func:`organiser_for`, :func:`account_for`, :func:`feed_client_for`), else None."""
    if not token:
        return None
    return ctx.known_tokens.get((_KINDS[lookup], token_hash(token)))


def _principal(ctx: Context, column: Any, hash_column: Any, token: str | None, what: str) -> int:
    """Who a bearer token belongs to. Tokens never change owner, so a found one is remembered
    in this process: one database round trip less on every request of an on-sale spike."""
    if not token:
        raise Unauthorized(f"a {what} bearer token is required (Authorization: Bearer ...)")
    digest = token_hash(token)
    known = ctx.known_tokens.get((what, digest))
    if known is not None:
        return known
    with ctx.db.read() as db:
        found = db.scalar(select(column).where(hash_column == digest))
    if found is None:
        raise Unauthorized(f"unknown {what} token")
    if len(ctx.known_tokens) >= _MAX_KNOWN_TOKENS:
        ctx.known_tokens.clear()
    ctx.known_tokens[(what, digest)] = int(found)
    return int(found)


def create_feed_client(ctx: Context, organiser_id: int, event_id: int, name: str) -> tuple[int, str]:
    token = new_token()

    def work(db: Db) -> int:
        owned_event(db, organiser_id, event_id)
        row = FeedClient(event_id=event_id, name=name, token_hash=token_hash(token), created_at=ctx.now())
        db.add(row)
        db.flush()
        return row.id

    return ctx.db.write(work), token


# ------------------------------------------------------------------ ownership


def owned_venue(db: Db, organiser_id: int, venue_id: int) -> Venue:
    venue = db.get(Venue, venue_id)
    if venue is None:
        raise NotFound(f"no venue {venue_id}")
    if venue.organiser_id != organiser_id:
        raise Forbidden(f"venue {venue_id} belongs to another organiser")
    return venue


def owned_event(db: Db, organiser_id: int, event_id: int) -> Event:
    event = db.get(Event, event_id)
    if event is None:
        raise NotFound(f"no event {event_id}")
    if event.organiser_id != organiser_id:
        raise Forbidden(f"event {event_id} belongs to another organiser")
    return event


def owned_session(db: Db, organiser_id: int, session_id: int) -> tuple[Session, Event]:
    session = db.get(Session, session_id)
    if session is None:
        raise NotFound(f"no session {session_id}")
    return session, owned_event(db, organiser_id, session.event_id)


# ------------------------------------------------------------------ venues


def create_venue(ctx: Context, organiser_id: int, layout: Layout) -> int:
    def work(db: Db) -> int:
        stage = None if layout.stage is None else {"x": layout.stage[0], "y": layout.stage[1]}
        venue = Venue(organiser_id=organiser_id, name=layout.name, stage=stage, created_at=ctx.now())
        db.add(venue)
        db.flush()
        if layout.seats:
            db.execute(
                insert(Seat),
                [
                    {
                        "venue_id": venue.id,
                        "label": s.label,
                        "section": s.section,
                        "row": s.row,
                        "number": s.number,
                        "position": s.position,
                        "rank": s.rank,
                        "x": s.x,
                        "y": s.y,
                        "accessible": s.accessible,
                        "companion": s.companion,
                        "box": s.box,
                    }
                    for s in layout.seats
                ],
            )
        for area in layout.ga_areas:
            db.add(GaArea(venue_id=venue.id, code=area.code, name=area.name, capacity=area.capacity))
        return venue.id

    return ctx.db.write(work)


def venue_layout(ctx: Context, organiser_id: int, venue_id: int) -> Layout:
    with ctx.db.read() as db:
        venue = owned_venue(db, organiser_id, venue_id)
        seats = db.scalars(select(Seat).where(Seat.venue_id == venue_id).order_by(Seat.id)).all()
        areas = db.scalars(select(GaArea).where(GaArea.venue_id == venue_id).order_by(GaArea.id)).all()
        stage = None if venue.stage is None else (float(venue.stage["x"]), float(venue.stage["y"]))
        return Layout(
            name=venue.name,
            stage=stage,
            seats=tuple(
                SeatSpec(
                    s.section, s.row, s.number, s.position, s.rank, s.x, s.y, s.accessible, s.companion, s.box
                )
                for s in seats
            ),
            ga_areas=tuple(GaSpec(a.code, a.name, a.capacity) for a in areas),
        )


def list_venues(ctx: Context, organiser_id: int) -> list[dict[str, Any]]:
    with ctx.db.read() as db:
        rows = db.execute(
            select(Venue.id, Venue.name, func.count(Seat.id))
            .outerjoin(Seat, Seat.venue_id == Venue.id)
            .where(Venue.organiser_id == organiser_id)
            .group_by(Venue.id, Venue.name)
            .order_by(Venue.id)
        ).all()
    return [{"id": r[0], "name": r[1], "seats": r[2]} for r in rows]


# ------------------------------------------------------------------ events and sessions


@dataclass(frozen=True)
class ZoneSpec:
    code: str
    name: str
    price_cents: int


@dataclass(frozen=True)
class TicketTypeSpec:
    code: str
    name: str
    kind: str
    prices: Mapping[str, int]


def create_event(
    ctx: Context,
    organiser_id: int,
    venue_id: int,
    name: str,
    currency: str,
    zones: Sequence[ZoneSpec],
    ticket_types: Sequence[TicketTypeSpec],
) -> int:
    codes = [z.code for z in zones]
    if len(set(codes)) != len(codes):
        raise Invalid("zone codes must be unique")
    type_codes = [t.code for t in ticket_types]
    if len(set(type_codes)) != len(type_codes):
        raise Invalid("ticket type codes must be unique")
    for ticket_type in ticket_types:
        unknown = set(ticket_type.prices) - set(codes)
        if unknown:
            raise Invalid(
                f"ticket type {ticket_type.code} prices unknown zones: {', '.join(sorted(unknown))}"
            )
    types = list(ticket_types) or [TicketTypeSpec("adult", "Adult", "standard", {})]

    def work(db: Db) -> int:
        owned_venue(db, organiser_id, venue_id)
        event = Event(
            organiser_id=organiser_id,
            venue_id=venue_id,
            name=name,
            currency=currency,
            identity_key_enc=keys.new_identity_key(ctx),
            created_at=ctx.now(),
        )
        db.add(event)
        db.flush()
        for zone in zones:
            db.add(Zone(event_id=event.id, code=zone.code, name=zone.name, price_cents=zone.price_cents))
        for t in types:
            db.add(
                TicketType(event_id=event.id, code=t.code, name=t.name, kind=t.kind, prices=dict(t.prices))
            )
        keys.add_signing_key(ctx, db, event.id)
        return event.id

    return ctx.db.write(work)


@dataclass(frozen=True)
class SeatZoneRule:
    """Seats matching this rule get ``zone``: by section (and optionally rows) or by seat labels."""

    zone: str
    sections: tuple[str, ...] = ()
    rows: tuple[str, ...] = ()
    seats: tuple[str, ...] = ()

    def matches(self, seat: Seat) -> bool:
        if self.seats:
            return seat.label in self.seats
        if self.sections and seat.section not in self.sections:
            return False
        return not self.rows or seat.row in self.rows


@dataclass(frozen=True)
class GaQuota:
    area: str
    zone: str
    capacity: int | None = None


@dataclass(frozen=True)
class SessionSpec:
    name: str
    starts_at: float
    ends_at: float
    sale_starts_at: float
    sale_ends_at: float
    hold_seconds: int = 600
    real_name: bool = False
    limit_per_account: int | None = None
    limit_per_device: int | None = None
    limit_per_id: int | None = None
    default_zone: str | None = None
    seat_zones: tuple[SeatZoneRule, ...] = ()
    ga: tuple[GaQuota, ...] = ()


def create_session(ctx: Context, organiser_id: int, event_id: int, spec: SessionSpec) -> int:
    if spec.ends_at < spec.starts_at:
        raise Invalid("ends_at is before starts_at")
    if spec.sale_ends_at < spec.sale_starts_at:
        raise Invalid("sale_ends_at is before sale_starts_at")

    def work(db: Db) -> int:
        event = owned_event(db, organiser_id, event_id)
        zones = {z.code: z.id for z in db.scalars(select(Zone).where(Zone.event_id == event_id))}
        for rule in spec.seat_zones:
            if rule.zone not in zones:
                raise Invalid(f"unknown zone {rule.zone}")
        if spec.default_zone is not None and spec.default_zone not in zones:
            raise Invalid(f"unknown default zone {spec.default_zone}")
        per_id = spec.limit_per_id
        if spec.real_name and per_id is None:
            per_id = 1  # one ID, one ticket: the usual rule for real-name sessions
        now = ctx.now()
        session = Session(
            event_id=event_id,
            name=spec.name,
            starts_at=spec.starts_at,
            ends_at=spec.ends_at,
            sale_starts_at=spec.sale_starts_at,
            sale_ends_at=spec.sale_ends_at,
            hold_seconds=spec.hold_seconds,
            real_name=spec.real_name,
            limit_per_account=spec.limit_per_account,
            limit_per_device=spec.limit_per_device,
            limit_per_id=per_id,
            created_at=now,
        )
        db.add(session)
        db.flush()
        rows = []
        unzoned = 0
        for seat in db.scalars(select(Seat).where(Seat.venue_id == event.venue_id).order_by(Seat.id)):
            zone = spec.default_zone
            for rule in spec.seat_zones:
                if rule.matches(seat):
                    zone = rule.zone
            if zone is None:
                unzoned += 1
                continue
            rows.append(
                {
                    "session_id": session.id,
                    "seat_id": seat.id,
                    "label": seat.label,
                    "section": seat.section,
                    "row": seat.row,
                    "position": seat.position,
                    "rank": seat.rank,
                    "x": seat.x,
                    "y": seat.y,
                    "accessible": seat.accessible,
                    "box": seat.box,
                    "zone_id": zones[zone],
                    "status": "available",
                    "changed_at": now,
                }
            )
        if unzoned and spec.seat_zones:
            raise Invalid(f"{unzoned} seats match no zone rule: add a rule or a default_zone")
        for start in range(0, len(rows), 5000):
            db.execute(insert(SessionSeat), rows[start : start + 5000])
        areas = {a.code: a for a in db.scalars(select(GaArea).where(GaArea.venue_id == event.venue_id))}
        for quota in spec.ga:
            area = areas.get(quota.area)
            if area is None:
                raise Invalid(f"the venue has no general-admission area {quota.area}")
            if quota.zone not in zones:
                raise Invalid(f"unknown zone {quota.zone}")
            capacity = area.capacity if quota.capacity is None else quota.capacity
            if capacity > area.capacity:
                raise Invalid(
                    f"quota {capacity} for {quota.area} exceeds the area's capacity {area.capacity}"
                )
            db.add(
                SessionGa(
                    session_id=session.id,
                    code=area.code,
                    name=area.name,
                    zone_id=zones[quota.zone],
                    capacity=capacity,
                    held=0,
                    sold=0,
                    changed_at=now,
                )
            )
        return session.id

    return ctx.db.write(work)


def event_info(ctx: Context, event_id: int) -> dict[str, Any]:
    """Public description of an event: zones, ticket types and sessions (no secrets)."""
    with ctx.db.read() as db:
        event = db.get(Event, event_id)
        if event is None:
            raise NotFound(f"no event {event_id}")
        zones = db.scalars(select(Zone).where(Zone.event_id == event_id).order_by(Zone.id)).all()
        types = db.scalars(
            select(TicketType).where(TicketType.event_id == event_id).order_by(TicketType.id)
        ).all()
        sessions = db.scalars(
            select(Session).where(Session.event_id == event_id).order_by(Session.starts_at)
        ).all()
        return {
            "id": event.id,
            "name": event.name,
            "venue_id": event.venue_id,
            "currency": event.currency,
            "zones": [{"code": z.code, "name": z.name, "price_cents": z.price_cents} for z in zones],
            "ticket_types": [
                {"code": t.code, "name": t.name, "kind": t.kind, "prices": t.prices} for t in types
            ],
            "sessions": [session_summary(s) for s in sessions],
        }


def session_summary(s: Session) -> dict[str, Any]:
    return {
        "id": s.id,
        "event_id": s.event_id,
        "name": s.name,
        "starts_at": s.starts_at,
        "ends_at": s.ends_at,
        "sale_starts_at": s.sale_starts_at,
        "sale_ends_at": s.sale_ends_at,
        "hold_seconds": s.hold_seconds,
        "real_name": s.real_name,
        "limits": {
            "per_account": s.limit_per_account,
            "per_device": s.limit_per_device,
            "per_id": s.limit_per_id,
        },
    }


def load_session(db: Db, session_id: int) -> Session:
    session = db.get(Session, session_id)
    if session is None:
        raise NotFound(f"no session {session_id}")
    return session


def seat_map(ctx: Context, session_id: int) -> dict[str, Any]:
    """Every seat of the session with its zone and effective status, plus GA stock."""
    now = ctx.now()
    with ctx.db.read() as db:
        session = load_session(db, session_id)
        zones = {z.id: z for z in db.scalars(select(Zone).where(Zone.event_id == session.event_id))}
        rows = db.execute(
            select(
                SessionSeat.label,
                SessionSeat.section,
                SessionSeat.row,
                SessionSeat.position,
                SessionSeat.x,
                SessionSeat.y,
                SessionSeat.accessible,
                SessionSeat.box,
                SessionSeat.zone_id,
                SessionSeat.status,
                SessionSeat.hold_expires_at,
            )
            .where(SessionSeat.session_id == session_id, SessionSeat.status != "removed")
            .order_by(SessionSeat.id)
        ).all()
        ga = db.scalars(
            select(SessionGa).where(SessionGa.session_id == session_id).order_by(SessionGa.id)
        ).all()
        ga_active = _active_ga_holds(db, session_id, now)
        return {
            "session": session_summary(session),
            "zones": [{"code": z.code, "name": z.name, "price_cents": z.price_cents} for z in zones.values()],
            "seats": [
                {
                    "label": r.label,
                    "section": r.section,
                    "row": r.row,
                    "position": r.position,
                    "x": r.x,
                    "y": r.y,
                    "accessible": r.accessible,
                    "box": r.box,
                    "zone": zones[r.zone_id].code,
                    "status": effective_status(r.status, r.hold_expires_at, now),
                }
                for r in rows
            ],
            "ga": [ga_view(a, zones[a.zone_id].code, ga_active.get(a.id, 0)) for a in ga],
        }


def _active_ga_holds(db: Db, session_id: int, now: float) -> dict[int, int]:
    """GA places in holds that have not expired (expired ones are free even before sweeping)."""
    rows = db.execute(
        select(HoldGa.ga_id, func.sum(HoldGa.quantity))
        .join(Hold, Hold.id == HoldGa.hold_id)
        .where(Hold.session_id == session_id, Hold.status == "active", Hold.expires_at >= now)
        .group_by(HoldGa.ga_id)
    ).all()
    return {int(r[0]): int(r[1]) for r in rows}


def ga_view(area: SessionGa, zone_code: str, active_held: int) -> dict[str, Any]:
    return {
        "code": area.code,
        "name": area.name,
        "zone": zone_code,
        "capacity": area.capacity,
        "sold": area.sold,
        "held": active_held,
        "available": max(0, area.capacity - area.sold - active_held),
    }


# ------------------------------------------------------------------ changes after on-sale


def _session_seats(db: Db, session_id: int, labels: Iterable[str]) -> list[SessionSeat]:
    wanted = list(dict.fromkeys(labels))
    rows = db.scalars(
        select(SessionSeat).where(SessionSeat.session_id == session_id, SessionSeat.label.in_(wanted))
    ).all()
    found = {r.label for r in rows if r.status != "removed"}
    missing = [label for label in wanted if label not in found]
    if missing:
        raise NotFound(f"no such seats in this session: {', '.join(missing[:10])}")
    return list(rows)


def _taken(rows: Iterable[SessionSeat], now: float) -> list[str]:
    return [r.label for r in rows if effective_status(r.status, r.hold_expires_at, now) in ("held", "sold")]


def remove_seats(ctx: Context, organiser_id: int, session_id: int, labels: list[str]) -> int:
    """Take unsold seats off sale for good; a sold or held seat cannot be removed."""
    return _set_unsold(ctx, organiser_id, session_id, labels, "removed", "be removed", "removed")


def _set_unsold(
    ctx: Context, organiser_id: int, session_id: int, labels: list[str], status: str, verb: str, past: str
) -> int:
    """Give unsold seats (available, lapsed holds, reserved, blocked) a new status, all or none.

    The conditional UPDATE re-checks every seat, so a seat sold between the read and the write
    makes the whole change roll back rather than overwrite a sale.
    """

    def work(db: Db) -> int:
        owned_session(db, organiser_id, session_id)
        now = ctx.now()
        rows = _session_seats(db, session_id, labels)
        taken = _taken(rows, now)
        if taken:
            raise Conflict(f"sold or held seats cannot {verb}: {', '.join(taken[:10])}", "seat_taken")
        ids = [r.id for r in rows]
        done = changed(
            db.execute(
                update(SessionSeat)
                .where(
                    SessionSeat.id.in_(ids),
                    _free_clause(now) | SessionSeat.status.in_(("reserved", "blocked")),
                )
                .values(status=status, hold_id=None, hold_expires_at=None, changed_at=now)
            )
        )
        if done != len(ids):
            raise Conflict(f"a seat was taken meanwhile; nothing was {past}", "seat_taken")
        return done

    return ctx.db.write(work)


def _free_clause(now: float) -> Any:
    return (SessionSeat.status == "available") | (
        (SessionSeat.status == "held") & (SessionSeat.hold_expires_at < now)
    )


def reprice_seats(ctx: Context, organiser_id: int, session_id: int, labels: list[str], zone_code: str) -> int:
    """Move unsold seats to another price zone; sold or held seats keep the price they were sold at."""

    def work(db: Db) -> int:
        session, _ = owned_session(db, organiser_id, session_id)
        zone_id = db.scalar(select(Zone.id).where(Zone.event_id == session.event_id, Zone.code == zone_code))
        if zone_id is None:
            raise Invalid(f"unknown zone {zone_code}")
        now = ctx.now()
        rows = _session_seats(db, session_id, labels)
        taken = _taken(rows, now)
        if taken:
            raise Conflict(f"sold or held seats cannot be re-priced: {', '.join(taken[:10])}", "seat_taken")
        ids = [r.id for r in rows]
        done = changed(
            db.execute(
                update(SessionSeat)
                .where(
                    SessionSeat.id.in_(ids),
                    _free_clause(now) | SessionSeat.status.in_(("reserved", "blocked")),
                )
                .values(zone_id=zone_id, changed_at=now)
            )
        )
        if done != len(ids):
            raise Conflict("a seat was taken meanwhile; nothing was re-priced", "seat_taken")
        return done

    return ctx.db.write(work)


def set_seat_status(ctx: Context, organiser_id: int, session_id: int, labels: list[str], status: str) -> int:
    """Reserve (promoter/sponsor allocation), block, or release unsold seats back to sale."""
    if status not in ("available", "reserved", "blocked"):
        raise Invalid("status must be available, reserved or blocked")
    return _set_unsold(ctx, organiser_id, session_id, labels, status, "change status", "changed")


def set_ga_quota(
    ctx: Context, organiser_id: int, session_id: int, code: str, capacity: int
) -> dict[str, Any]:
    """Raise or lower a GA quota, never below what is sold or held, never above the area."""

    def work(db: Db) -> dict[str, Any]:
        _session, event = owned_session(db, organiser_id, session_id)
        area = db.scalar(select(SessionGa).where(SessionGa.session_id == session_id, SessionGa.code == code))
        if area is None:
            raise NotFound(f"no general-admission area {code} in session {session_id}")
        venue_capacity = db.scalar(
            select(GaArea.capacity).where(GaArea.venue_id == event.venue_id, GaArea.code == code)
        )
        if venue_capacity is not None and capacity > venue_capacity:
            raise Invalid(f"the area holds at most {venue_capacity}")
        from box_office.services.inventory import reclaim_expired_ga

        reclaim_expired_ga(ctx, db, area.id, ctx.now())
        done = changed(
            db.execute(
                update(SessionGa)
                .where(SessionGa.id == area.id, SessionGa.sold + SessionGa.held <= capacity)
                .values(capacity=capacity, changed_at=ctx.now())
            )
        )
        db.refresh(area)
        if not done:
            raise Conflict(
                f"cannot set the quota to {capacity}: {area.sold} sold and {area.held} held",
                "quota_below_taken",
            )
        zone = db.get(Zone, area.zone_id)
        assert zone is not None
        return ga_view(area, zone.code, area.held)

    try:
        return ctx.db.write(work)
    except IntegrityError:
        raise Conflict("the quota cannot go below what is sold or held", "quota_below_taken") from None


def seat_map_ga(ctx: Context, session_id: int) -> list[dict[str, Any]]:
    """Only the GA stock of a session (cheap; the live channel polls it)."""
    now = ctx.now()
    with ctx.db.read() as db:
        session = load_session(db, session_id)
        zones = {z.id: z.code for z in db.scalars(select(Zone).where(Zone.event_id == session.event_id))}
        ga = db.scalars(
            select(SessionGa).where(SessionGa.session_id == session_id).order_by(SessionGa.id)
        ).all()
        active = _active_ga_holds(db, session_id, now)
        return [ga_view(a, zones[a.zone_id], active.get(a.id, 0)) for a in ga]
