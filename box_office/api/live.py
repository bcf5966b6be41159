"""Live seat status per session over Server-Sent Events.

Each subscriber first gets a ``snapshot`` event (every seat's status and GA stock), then a
``seats`` event whenever seats change and a ``ga`` event when GA stock changes. Changes are
found by polling the inventory rows changed since the last look (every 250 ms by default), so
it works whichever worker process made the change; held seats whose hold runs out are pushed
as available at that moment, though no row changed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from box_office.api.deps import Id, State
from box_office.core.seating import effective_status
from box_office.services import catalog
from box_office.services.context import Context
from box_office.store.models import SessionSeat

router = APIRouter(prefix="/api", tags=["catalog"])
_OVERLAP = 5.0  # re-read rows changed this long before the last look: commits land late


def _changed(ctx: Context, session_id: int, since: float) -> list[tuple[str, str, float | None]]:
    with ctx.db.read() as db:
        rows = db.execute(
            select(SessionSeat.label, SessionSeat.status, SessionSeat.hold_expires_at).where(
                SessionSeat.session_id == session_id, SessionSeat.changed_at >= since
            )
        ).all()
    return [(r[0], r[1], r[2]) for r in rows]


def _held_until(ctx: Context, session_id: int) -> dict[str, float]:
    """When each seat held right now runs out, so that a hold made before this subscriber
    connected is still pushed as available the moment it expires (with no sweeper run)."""
    with ctx.db.read() as db:
        rows = db.execute(
            select(SessionSeat.label, SessionSeat.hold_expires_at).where(
                SessionSeat.session_id == session_id,
                SessionSeat.status == "held",
                SessionSeat.hold_expires_at.is_not(None),
            )
        ).all()
    return {r[0]: float(r[1]) for r in rows if r[1] is not None}


def _event(name: str, data: Any) -> str:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def stream(ctx: Context, session_id: int, request: Request) -> AsyncIterator[str]:
    started = ctx.now()
    snapshot = await run_in_threadpool(catalog.seat_map, ctx, session_id)
    known = {s["label"]: s["status"] for s in snapshot["seats"]}
    expiry: dict[str, float] = await run_in_threadpool(_held_until, ctx, session_id)
    ga = snapshot["ga"]
    yield _event("snapshot", {"seats": known, "ga": ga})
    last = started
    while not await request.is_disconnected():
        await asyncio.sleep(ctx.settings.live_interval)
        now = ctx.now()
        rows = await run_in_threadpool(_changed, ctx, session_id, last - _OVERLAP)
        last = now
        diff: dict[str, str] = {}
        for label, raw, expires in rows:
            current = effective_status(raw, expires, now)
            if current == "held" and expires is not None:
                expiry[label] = expires
            if known.get(label) != current and raw != "removed":
                diff[label] = known[label] = current
        for label, expires in list(expiry.items()):
            if expires < now:
                del expiry[label]
                if known.get(label) == "held":
                    diff[label] = known[label] = "available"
        if diff:
            yield _event("seats", diff)
        fresh = (await run_in_threadpool(catalog.seat_map_ga, ctx, session_id)) if ga else ga
        if fresh != ga:
            ga = fresh
            yield _event("ga", ga)


@router.get(
    "/sessions/{session_id}/live",
    summary="Live seat status (Server-Sent Events: snapshot, seats, ga)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
def live(session_id: Id, request: Request, app: State) -> StreamingResponse:
    with app.ctx.db.read() as db:
        catalog.load_session(db, session_id)
    return StreamingResponse(
        stream(app.ctx, session_id, request),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
