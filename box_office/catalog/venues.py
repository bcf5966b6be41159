"""Venues: seat maps imported (JSON or CSV), exported, listed; owned by one organiser."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session as Db

from box_office.catalog.ownership import owned_venue
from box_office.context import Context
from box_office.core.layout import GaSpec, Layout, SeatSpec
from box_office.store.models import (
    GaArea,
    Seat,
    Venue,
)


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
