"""Routes for sync servers (feed-client token): the venue feed, the keyring, check-ins back."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from box_office.api import schemas
from box_office.api.deps import FeedEventId, State
from box_office.services import feed, keys
from wire.venue_feed import MAX_PAGE, CheckIn

router = APIRouter(prefix="/api/feed", tags=["venue feed"])


@router.get("", summary="Ticket changes after a cursor (contract 5)")
def read_feed(
    event_id: FeedEventId,
    app: State,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 500,
) -> dict[str, Any]:
    with app.ctx.db.read() as db:
        return feed.read_page(db, event_id, after, limit).to_json() | {"event_id": event_id}


@router.get("/keyring", summary="Public signing keys and the identity digest key of the event")
def read_keyring(event_id: FeedEventId, app: State) -> dict[str, Any]:
    with app.ctx.db.read() as db:
        return {
            "event_id": event_id,
            "keyring": keys.keyring(db, event_id).to_json(),
            "identity_key": keys.identity_key(app.ctx, db, event_id).hex(),
        }


@router.post("/checkins", summary="Check-ins from the venue, idempotent by scan id")
def post_checkins(body: schemas.CheckInsIn, event_id: FeedEventId, app: State) -> dict[str, list[str]]:
    items = [CheckIn(**c.model_dump()) for c in body.checkins]
    return app.ctx.db.write(lambda db: feed.record_checkins(app.ctx, db, event_id, items))
