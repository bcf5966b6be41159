"""Routes for sync servers (feed-client token): the venue feed, the keyring, check-ins back."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from box_office.api import errors, schemas
from box_office.api.deps import FeedEventId, State
from box_office.catalog import events, keys
from box_office.feed import service as feed
from wire.venue_feed import MAX_PAGE, CheckIn

router = APIRouter(prefix="/api/feed", tags=["venue feed"])


FEED_POLL_SECONDS = 0.1
"""How often a waiting feed request looks for new entries. Polling the indexed feed table
works whichever worker process wrote the change, and costs one small query per waiting sync
server (one per venue) every 100 ms."""


def _read_page(app: Any, event_id: int, after: int, limit: int) -> dict[str, Any]:
    return feed.page(app.ctx, event_id, after, limit).to_json() | {"event_id": event_id}


@router.get("", summary="Ticket changes after a cursor (contract 5)", responses=errors.responses(401))
async def read_feed(
    event_id: FeedEventId,
    app: State,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 500,
    wait: Annotated[float, Query(ge=0, le=30, description="long poll: seconds to wait for a change")] = 0,
) -> dict[str, Any]:
    """A page of changes after ``after``. With ``wait``, an empty answer is held back until a
    change commits or ``wait`` seconds pass: a sync server that is caught up learns of a
    refund within about 100 ms, without polling the box office in a tight loop."""
    deadline = time.monotonic() + wait
    while True:
        page = await run_in_threadpool(_read_page, app, event_id, after, limit)
        if page["entries"] or time.monotonic() >= deadline:
            return page
        await asyncio.sleep(FEED_POLL_SECONDS)


@router.get(
    "/keyring",
    summary="Public signing keys and the identity digest key of the event",
    responses=errors.responses(401),
)
def read_keyring(event_id: FeedEventId, app: State) -> dict[str, Any]:
    # the event's and its sessions' names: the venue's dashboards show names, not ids
    info = events.event_info(app.ctx, event_id)
    names = {"event_name": info["name"], "session_names": {str(s["id"]): s["name"] for s in info["sessions"]}}
    return {"event_id": event_id} | keys.feed_keyring(app.ctx, event_id) | names


@router.post(
    "/checkins",
    summary="Check-ins from the venue, idempotent by scan id",
    responses=errors.responses(401, 422),
)
def post_checkins(body: schemas.CheckInsIn, event_id: FeedEventId, app: State) -> dict[str, list[str]]:
    items = [CheckIn(**c.model_dump()) for c in body.checkins]
    return feed.checkins(app.ctx, event_id, items)
