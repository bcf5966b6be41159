"""Changes after on-sale: remove, re-price, reserve or block unsold seats; GA quotas."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as Db

from box_office.catalog.ownership import owned_session
from box_office.catalog.seat_map import ga_view
from box_office.context import Context
from box_office.core.seating import effective_status
from box_office.errors import Conflict, Invalid, NotFound
from box_office.sales import ledger
from box_office.sales.holds import reclaim_expired_ga
from box_office.store.models import (
    GaArea,
    SessionGa,
    SessionSeat,
    Zone,
)


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
        done = ledger.set_unsold_status(db, ids, status, now)
        if done != len(ids):
            raise Conflict(f"a seat was taken meanwhile; nothing was {past}", "seat_taken")
        return done

    return ctx.db.write(work)


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
        done = ledger.rezone_unsold(db, ids, zone_id, now)
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
            # the venue's state refuses it, not the request's form: a 409 (as for below sold)
            raise Conflict(f"the area holds at most {venue_capacity}", "over_capacity")
        reclaim_expired_ga(ctx, db, area.id, ctx.now())
        done = ledger.set_ga_capacity(db, area.id, capacity, ctx.now())
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
