"""The seat map a buyer sees: every seat with its effective status, and the GA stock."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session as Db

from box_office.catalog.events import session_summary
from box_office.catalog.ownership import load_session
from box_office.context import Context
from box_office.core.seating import effective_status
from box_office.store.models import (
    Hold,
    HoldGa,
    SessionGa,
    SessionSeat,
    Zone,
)


def require_session(ctx: Context, session_id: int) -> None:
    """NotFound unless the session exists."""
    with ctx.db.read() as db:
        load_session(db, session_id)


def seat_statuses(ctx: Context, session_id: int) -> list[tuple[str, str, float | None]]:
    """Every shown seat's stored status and hold expiry (what the live channel starts from)."""
    with ctx.db.read() as db:
        rows = db.execute(
            select(SessionSeat.label, SessionSeat.status, SessionSeat.hold_expires_at)
            .where(SessionSeat.session_id == session_id, SessionSeat.status != "removed")
            .order_by(SessionSeat.id)
        ).all()
    return [(r[0], r[1], r[2]) for r in rows]


def changed_seats(ctx: Context, session_id: int, since: float) -> list[tuple[str, str, float | None]]:
    """The seats whose row changed since ``since``, with their stored status and hold expiry."""
    with ctx.db.read() as db:
        rows = db.execute(
            select(SessionSeat.label, SessionSeat.status, SessionSeat.hold_expires_at).where(
                SessionSeat.session_id == session_id, SessionSeat.changed_at >= since
            )
        ).all()
    return [(r[0], r[1], r[2]) for r in rows]


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
