"""Events (zones, ticket types, keys) and their sessions (the seats and GA quotas on sale)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session as Db

from box_office.catalog import keys
from box_office.catalog.ownership import owned_event, owned_venue
from box_office.context import Context
from box_office.errors import Invalid, NotFound
from box_office.sales import ledger
from box_office.store.models import (
    Event,
    GaArea,
    Seat,
    Session,
    TicketType,
    Zone,
)


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
                    "changed_at": now,
                }
            )
        if unzoned and spec.seat_zones:
            raise Invalid(f"{unzoned} seats match no zone rule: add a rule or a default_zone")
        quotas = []
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
            quotas.append(
                {
                    "session_id": session.id,
                    "code": area.code,
                    "name": area.name,
                    "zone_id": zones[quota.zone],
                    "capacity": capacity,
                    "changed_at": now,
                }
            )
        ledger.stock_session(db, rows, quotas)
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
