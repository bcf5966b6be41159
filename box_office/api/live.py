"""Live seat status per session over Server-Sent Events.

Each subscriber first gets a ``snapshot`` event (every seat's status and GA stock), then a
``seats`` event whenever seats change and a ``ga`` event when GA stock changes. Changes are
found by polling the inventory rows changed since the last look (every ``live_interval``,
250 ms by default), so it works whichever worker process made the change; held seats whose
hold runs out are pushed as available at that moment, though no row changed.

The polling is done once per session per process by a shared hub
(:mod:`box_office.api.live_hub`), started lazily by the first subscriber, not per subscriber.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import State as StarletteState

from box_office.api import errors
from box_office.api.deps import Id, State
from box_office.api.live_hub import LiveHubs
from box_office.catalog import seat_map
from box_office.context import Context

router = APIRouter(prefix="/api", tags=["catalog"])
_DISCONNECT_CHECK = 1.0  # seconds without an event after which a quiet stream checks its client


def hubs_of(app_state: StarletteState, ctx: Context) -> LiveHubs:
    """The app's hubs, made on first use (from the event loop, so no two are ever made)."""
    hubs: LiveHubs | None = getattr(app_state, "live_hubs", None)
    if hubs is None:
        hubs = LiveHubs(ctx)
        app_state.live_hubs = hubs
    return hubs


async def stream(hubs: LiveHubs, session_id: int, request: Request) -> AsyncIterator[str]:
    async with hubs.subscribe(session_id) as subscription:
        yield subscription.snapshot()
        while True:
            try:
                event = await asyncio.wait_for(subscription.next_event(), _DISCONNECT_CHECK)
            except TimeoutError:
                if await request.is_disconnected():
                    return
                continue
            if event is None:
                return
            yield event


@router.get(
    "/sessions/{session_id}/live",
    summary="Live seat status (Server-Sent Events: snapshot, seats, ga)",
    response_class=StreamingResponse,
    responses=errors.responses(404, ok={"content": {"text/event-stream": {}}}),
)
async def live(session_id: Id, request: Request, app: State) -> StreamingResponse:
    hubs = hubs_of(request.app.state, app.ctx)
    if hubs.get(session_id) is None:  # a running hub already proved the session exists
        await run_in_threadpool(_check_session, app.ctx, session_id)
    return StreamingResponse(
        stream(hubs, session_id, request),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _check_session(ctx: Context, session_id: int) -> None:
    """404 for an unknown session before the stream starts."""
    seat_map.require_session(ctx, session_id)
