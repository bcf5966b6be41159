"""The seat map as the page needs it: one compact, column-oriented JSON document per session.

Why columns: a 50,000-seat stadium as a list of objects is about 8 MB of JSON and a second of
Python to build; as parallel arrays (labels, x, y, zone index, status index) it is a fraction of
that, and the browser can copy it straight into typed arrays. Statuses change afterwards through
the live channel (``/api/sessions/{id}/live``); this document is the starting point.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session as Db

from box_office.core.seating import STATUSES, effective_status
from box_office.services import catalog
from box_office.services.context import Context
from box_office.store.models import Event, SessionSeat, TicketType, Venue, Zone


def _venue(db: Db, event: Event) -> dict[str, Any]:
    venue = db.get(Venue, event.venue_id)
    stage = None if venue is None or venue.stage is None else venue.stage
    return {"name": venue.name if venue else "", "stage": stage}


def seatmap_document(ctx: Context, session_id: int) -> dict[str, Any]:
    """Everything the page draws and sells from, for one session (no secrets, no personal data)."""
    now = ctx.now()
    with ctx.db.read() as db:
        session = catalog.load_session(db, session_id)
        event = db.get(Event, session.event_id)
        assert event is not None
        zones = db.scalars(select(Zone).where(Zone.event_id == event.id).order_by(Zone.id)).all()
        zone_index = {z.id: i for i, z in enumerate(zones)}
        types = db.scalars(
            select(TicketType).where(TicketType.event_id == event.id).order_by(TicketType.id)
        ).all()
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
            .order_by(SessionSeat.section, SessionSeat.row, SessionSeat.position)
        ).all()
        venue = _venue(db, event)
    status_index = {name: i for i, name in enumerate(STATUSES)}
    row_keys: dict[tuple[str, str], int] = {}
    labels: list[str] = []
    xs: list[float] = []
    ys: list[float] = []
    zone_col: list[int] = []
    status_col: list[int] = []
    row_col: list[int] = []
    pos_col: list[int] = []
    accessible: list[int] = []
    boxes: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        labels.append(r.label)
        xs.append(r.x)
        ys.append(r.y)
        zone_col.append(zone_index[r.zone_id])
        status_col.append(status_index[effective_status(r.status, r.hold_expires_at, now)])
        row_col.append(row_keys.setdefault((r.section, r.row), len(row_keys)))
        pos_col.append(r.position)
        if r.accessible:
            accessible.append(i)
        if r.box is not None:
            boxes.setdefault(r.box, []).append(i)
    return {
        "now": now,
        "event": {"id": event.id, "name": event.name, "currency": event.currency},
        "venue": venue,
        "session": catalog.session_summary(session),
        "zones": [{"code": z.code, "name": z.name, "price_cents": z.price_cents} for z in zones],
        "ticket_types": [{"code": t.code, "name": t.name, "kind": t.kind, "prices": t.prices} for t in types],
        "statuses": list(STATUSES),
        "rows": [[section, row] for section, row in row_keys],
        "seats": {
            "label": labels,
            "x": xs,
            "y": ys,
            "zone": zone_col,
            "status": status_col,
            "row": row_col,
            "position": pos_col,
            "accessible": accessible,
            "boxes": boxes,
        },
        "ga": catalog.seat_map_ga(ctx, session_id),
    }
