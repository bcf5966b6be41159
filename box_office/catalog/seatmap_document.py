"""The seat map as the page needs it: one compact, column-oriented JSON document per session.

Why columns: a 50,000-seat stadium as a list of objects is about 8 MB of JSON and a second of
Python to build; as parallel arrays (labels, x, y, zone index, row, position) it is 2 MB.

Why a cache: a venue's geometry and price zones hardly ever change once on sale, but statuses
change all the time. So the geometry part is serialised once per session and kept (keyed by a
fingerprint of the seat rows: count, and a checksum over seat ids and zones, so a re-price or a
removed seat builds it again), and each request only reads the seats that are *not* available,
sent as a sparse list. Statuses change afterwards through the live channel
(``/api/sessions/{id}/live``); this document is the starting point.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session as Db

from box_office.catalog import events, seat_map
from box_office.catalog.ownership import load_session
from box_office.context import Context
from box_office.core.seating import STATUSES, effective_status
from box_office.store.models import Event, SessionSeat, TicketType, Venue, Zone

_CACHE_SIZE = 16
_cache: OrderedDict[tuple[str, int], tuple[tuple[int, int], str, dict[str, int]]] = OrderedDict()
_lock = threading.Lock()
_STATUS_INDEX = {name: i for i, name in enumerate(STATUSES)}


def _fingerprint(db: Db, session_id: int) -> tuple[int, int]:
    count, checksum = db.execute(
        select(
            func.count(SessionSeat.id), func.coalesce(func.sum(SessionSeat.id * (SessionSeat.zone_id + 7)), 0)
        ).where(SessionSeat.session_id == session_id, SessionSeat.status != "removed")
    ).one()
    return int(count), int(checksum)


def _geometry(db: Db, session_id: int, event_id: int) -> tuple[str, dict[str, int]]:
    """The seats' layout columns as JSON text, and each label's index in them."""
    zones = db.scalars(select(Zone.id).where(Zone.event_id == event_id).order_by(Zone.id)).all()
    zone_index = {zone_id: i for i, zone_id in enumerate(zones)}
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
        )
        .where(SessionSeat.session_id == session_id, SessionSeat.status != "removed")
        .order_by(SessionSeat.section, SessionSeat.row, SessionSeat.position)
    ).all()
    row_keys: dict[tuple[str, str], int] = {}
    index: dict[str, int] = {}
    columns: dict[str, list[Any]] = {k: [] for k in ("label", "x", "y", "zone", "row", "position")}
    accessible: list[int] = []
    boxes: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        index[r.label] = i
        columns["label"].append(r.label)
        columns["x"].append(r.x)
        columns["y"].append(r.y)
        columns["zone"].append(zone_index[r.zone_id])
        columns["row"].append(row_keys.setdefault((r.section, r.row), len(row_keys)))
        columns["position"].append(r.position)
        if r.accessible:
            accessible.append(i)
        if r.box is not None:
            boxes.setdefault(r.box, []).append(i)
    geometry = columns | {
        "accessible": accessible,
        "boxes": boxes,
        "rows": [[section, row] for section, row in row_keys],
    }
    return json.dumps(geometry, separators=(",", ":"), ensure_ascii=False), index


def _cached_geometry(ctx: Context, db: Db, session_id: int, event_id: int) -> tuple[str, dict[str, int]]:
    key = (ctx.settings.database_url, session_id)
    fingerprint = _fingerprint(db, session_id)
    with _lock:
        hit = _cache.get(key)
        if hit is not None and hit[0] == fingerprint:
            _cache.move_to_end(key)
            return hit[1], hit[2]
    text, index = _geometry(db, session_id, event_id)
    with _lock:
        _cache[key] = (fingerprint, text, index)
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return text, index


def seatmap_json(ctx: Context, session_id: int) -> str:
    """Everything the page draws and sells from, for one session, as JSON text (no personal data).

    ``seats`` holds the layout columns (``label``, ``x``, ``y``, ``zone`` index, ``row`` index
    into ``rows`` = [section, row], ``position``), ``accessible`` (seat indices), ``boxes``
    (box -> seat indices); ``status`` is sparse: [[seat index, status index], ...] for every
    seat that is not available, statuses named by ``statuses``.
    """
    now = ctx.now()
    with ctx.db.read() as db:
        session = load_session(db, session_id)
        event = db.get(Event, session.event_id)
        assert event is not None
        venue = db.get(Venue, event.venue_id)
        zones = db.scalars(select(Zone).where(Zone.event_id == event.id).order_by(Zone.id)).all()
        types = db.scalars(
            select(TicketType).where(TicketType.event_id == event.id).order_by(TicketType.id)
        ).all()
        geometry, index = _cached_geometry(ctx, db, session_id, event.id)
        taken = db.execute(
            select(SessionSeat.label, SessionSeat.status, SessionSeat.hold_expires_at).where(
                SessionSeat.session_id == session_id, SessionSeat.status.not_in(("available", "removed"))
            )
        ).all()
    status: list[list[int]] = []
    for label, raw, expires in taken:
        current = effective_status(raw, expires, now)
        if current != "available" and label in index:
            status.append([index[label], _STATUS_INDEX[current]])
    meta = {
        "now": now,
        "event": {"id": event.id, "name": event.name, "currency": event.currency},
        "venue": {"name": venue.name if venue else "", "stage": venue.stage if venue else None},
        "session": events.session_summary(session),
        "zones": [{"code": z.code, "name": z.name, "price_cents": z.price_cents} for z in zones],
        "ticket_types": [{"code": t.code, "name": t.name, "kind": t.kind, "prices": t.prices} for t in types],
        "statuses": list(STATUSES),
        "status": status,
        "ga": seat_map.seat_map_ga(ctx, session_id),
    }
    head = json.dumps(meta, separators=(",", ":"), ensure_ascii=False)
    return head[:-1] + ',"seats":' + geometry + "}"
