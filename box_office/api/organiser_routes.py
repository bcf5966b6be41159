"""Routes for organisers: venues and seat maps, events, sessions, keys, feed clients, changes."""

from __future__ import annotations

import time
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response, status
from fastapi.responses import PlainTextResponse
from starlette.concurrency import run_in_threadpool

from box_office.aftersales import refunds
from box_office.api import errors, schemas
from box_office.api.deps import AreaCode, Id, Kid, OrganiserId, State, TicketId
from box_office.catalog import changes, events, keys, principals, venues
from box_office.core.layout import (
    LayoutError,
    grid_layout,
    layout_to_csv,
    layout_to_json,
    parse_csv_layout,
    parse_json_layout,
)
from box_office.errors import Forbidden, Invalid
from box_office.sales import issuing
from box_office.sales import refunding as provider_refunds

router = APIRouter(prefix="/api", tags=["organisers"])
MAX_DEMO_SEATS = 60_000


@router.post(
    "/organisers",
    status_code=status.HTTP_201_CREATED,
    summary="Create an organiser and its API token",
    responses=errors.responses(403, 422),
)
def create_organiser(body: schemas.OrganiserIn, app: State, request: Request) -> dict[str, Any]:
    admin = app.ctx.settings.admin_token
    if admin is not None and request.headers.get("x-admin-token") != admin:
        raise Forbidden("creating organisers needs the X-Admin-Token header")
    organiser_id, token = principals.create_organiser(app.ctx, body.name)
    return {"id": organiser_id, "name": body.name, "token": token}


@router.post(
    "/venues",
    status_code=status.HTTP_201_CREATED,
    summary="Import a venue from a JSON seat map",
    responses=errors.responses(401, 422),
)
def create_venue(
    organiser: OrganiserId, app: State, layout: Annotated[dict[str, Any], Body()]
) -> dict[str, Any]:
    try:
        parsed = parse_json_layout(layout)
    except LayoutError as exc:
        raise Invalid(f"layout: {exc}", "bad_layout") from None
    venue_id = venues.create_venue(app.ctx, organiser, parsed)
    return {"id": venue_id, "name": parsed.name, "seats": len(parsed.seats), "ga_areas": len(parsed.ga_areas)}


@router.post(
    "/venues/csv",
    status_code=status.HTTP_201_CREATED,
    summary="Import a venue from a CSV seat map",
    openapi_extra={
        "requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}
    },
    responses=errors.responses(401, 422),
)
async def create_venue_csv(
    organiser: OrganiserId,
    app: State,
    request: Request,
    name: Annotated[str, Query(min_length=1, max_length=200)] = "Venue",
) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > 20_000_000:
        raise Invalid("the CSV is larger than 20 MB")
    try:
        parsed = parse_csv_layout(raw.decode("utf-8-sig"), name)
    except UnicodeDecodeError:
        raise Invalid("the CSV must be UTF-8 text", "bad_layout") from None
    except LayoutError as exc:
        raise Invalid(f"layout: {exc}", "bad_layout") from None
    venue_id = await run_in_threadpool(venues.create_venue, app.ctx, organiser, parsed)
    return {"id": venue_id, "name": parsed.name, "seats": len(parsed.seats), "ga_areas": len(parsed.ga_areas)}


@router.get("/venues", summary="The organiser's venues", responses=errors.responses(401))
def list_venues(organiser: OrganiserId, app: State) -> list[dict[str, Any]]:
    return venues.list_venues(app.ctx, organiser)


@router.get(
    "/venues/{venue_id}/layout",
    summary="Export a venue's seat map as JSON",
    responses=errors.responses(401, 403, 404),
)
def export_layout(venue_id: Id, organiser: OrganiserId, app: State) -> dict[str, Any]:
    return layout_to_json(venues.venue_layout(app.ctx, organiser, venue_id))


@router.get(
    "/venues/{venue_id}/layout.csv",
    response_class=Response,
    summary="Export a venue's seat map as CSV",
    responses=errors.responses(401, 403, 404, ok={"content": {"text/csv": {"schema": {"type": "string"}}}}),
)
def export_layout_csv(venue_id: Id, organiser: OrganiserId, app: State) -> PlainTextResponse:
    text = layout_to_csv(venues.venue_layout(app.ctx, organiser, venue_id))
    return PlainTextResponse(text, media_type="text/csv")


@router.post(
    "/events",
    status_code=status.HTTP_201_CREATED,
    summary="Create an event with price zones and ticket types",
    responses=errors.responses(401, 403, 404, 422),
)
def create_event(body: schemas.EventIn, organiser: OrganiserId, app: State) -> dict[str, Any]:
    event_id = events.create_event(
        app.ctx,
        organiser,
        body.venue_id,
        body.name,
        body.currency,
        [events.ZoneSpec(z.code, z.name, z.price_cents) for z in body.zones],
        [events.TicketTypeSpec(t.code, t.name, t.kind, t.prices) for t in body.ticket_types],
    )
    return events.event_info(app.ctx, event_id)


@router.post(
    "/events/{event_id}/sessions",
    status_code=status.HTTP_201_CREATED,
    summary="Add a session (performance)",
    responses=errors.responses(401, 403, 404, 409, 422),
)
def create_session(
    event_id: Id, body: schemas.SessionIn, organiser: OrganiserId, app: State
) -> dict[str, Any]:
    spec = events.SessionSpec(
        name=body.name,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        sale_starts_at=body.sale_starts_at,
        sale_ends_at=body.sale_ends_at if body.sale_ends_at is not None else body.ends_at,
        hold_seconds=body.hold_seconds,
        real_name=body.real_name,
        limit_per_account=body.limit_per_account,
        limit_per_device=body.limit_per_device,
        limit_per_id=body.limit_per_id,
        default_zone=body.default_zone,
        seat_zones=tuple(
            events.SeatZoneRule(r.zone, tuple(r.sections), tuple(r.rows), tuple(r.seats))
            for r in body.seat_zones
        ),
        ga=tuple(events.GaQuota(g.area, g.zone, g.capacity) for g in body.ga),
    )
    session_id = events.create_session(app.ctx, organiser, event_id, spec)
    info = events.event_info(app.ctx, event_id)
    return next(s for s in info["sessions"] if s["id"] == session_id)


@router.post(
    "/sessions/{session_id}/seats/remove",
    summary="Take unsold seats off sale",
    responses=errors.responses(401, 403, 404, 409, 422),
)
def remove_seats(session_id: Id, body: schemas.SeatsIn, organiser: OrganiserId, app: State) -> dict[str, int]:
    return {"removed": changes.remove_seats(app.ctx, organiser, session_id, body.seats)}


@router.post(
    "/sessions/{session_id}/seats/reprice",
    summary="Move unsold seats to another price zone",
    responses=errors.responses(401, 403, 404, 409, 422),
)
def reprice_seats(
    session_id: Id, body: schemas.RepriceIn, organiser: OrganiserId, app: State
) -> dict[str, int]:
    return {"repriced": changes.reprice_seats(app.ctx, organiser, session_id, body.seats, body.zone)}


@router.post(
    "/sessions/{session_id}/seats/status",
    summary="Reserve, block or release unsold seats",
    responses=errors.responses(401, 403, 404, 409, 422),
)
def seat_status(
    session_id: Id, body: schemas.SeatStatusIn, organiser: OrganiserId, app: State
) -> dict[str, int]:
    return {"changed": changes.set_seat_status(app.ctx, organiser, session_id, body.seats, body.status)}


@router.put(
    "/sessions/{session_id}/ga/{code}",
    summary="Raise or lower a general-admission quota",
    responses=errors.responses(401, 403, 404, 409, 422),
)
def set_quota(
    session_id: Id, code: AreaCode, body: schemas.QuotaIn, organiser: OrganiserId, app: State
) -> dict[str, Any]:
    return changes.set_ga_quota(app.ctx, organiser, session_id, code, body.capacity)


@router.get(
    "/events/{event_id}/keys",
    summary="The event's signing keys (public halves only)",
    responses=errors.responses(401, 403, 404),
)
def list_keys(event_id: Id, organiser: OrganiserId, app: State) -> list[dict[str, Any]]:
    return keys.event_keys(app.ctx, organiser, event_id)


@router.post(
    "/events/{event_id}/keys/rotate",
    summary="Start signing with a new key (old keys stay trusted)",
    responses=errors.responses(401, 403, 404),
)
def rotate_key(event_id: Id, organiser: OrganiserId, app: State) -> dict[str, str]:
    return {"kid": keys.rotate(app.ctx, organiser, event_id)}


@router.post(
    "/events/{event_id}/keys/{kid}/retire",
    summary="Stop trusting an old key",
    responses=errors.responses(401, 403, 404, 409),
)
def retire_key(event_id: Id, kid: Kid, organiser: OrganiserId, app: State) -> dict[str, str]:
    keys.retire(app.ctx, organiser, event_id, kid)
    return {"retired": kid}


@router.post(
    "/events/{event_id}/feed-clients",
    status_code=status.HTTP_201_CREATED,
    summary="Credentials for a sync server",
    responses=errors.responses(401, 403, 404, 422),
)
def create_feed_client(
    event_id: Id, body: schemas.FeedClientIn, organiser: OrganiserId, app: State
) -> dict[str, Any]:
    client_id, token = principals.create_feed_client(app.ctx, organiser, event_id, body.name)
    return {"id": client_id, "event_id": event_id, "token": token}


@router.post(
    "/organiser/orders/{order_id}/refund",
    summary="Refund an order (tickets revoked, seats back on sale)",
    responses=errors.responses(401, 403, 404, 409),
)
async def refund_order(order_id: Id, organiser: OrganiserId, app: State) -> dict[str, Any]:
    view = await app.with_provider(
        partial(refunds.cancel_order, account_id=None, organiser_id=organiser),
        app.ctx,
        app.providers,
        order_id,
    )
    app.order_watch.settled([order_id])
    return view


@router.post(
    "/tickets/{ticket_id}/reissue",
    summary="Re-issue a ticket with a new version (old QR revoked)",
    responses=errors.responses(401, 403, 404, 409),
)
def reissue(ticket_id: TicketId, organiser: OrganiserId, app: State) -> dict[str, object]:
    return issuing.reissue(app.ctx, organiser, ticket_id)


@router.post(
    "/demo",
    status_code=status.HTTP_201_CREATED,
    summary="Create a demo concert in one call",
    responses=errors.responses(401, 422),
)
def create_demo(body: schemas.DemoIn, organiser: OrganiserId, app: State) -> dict[str, Any]:
    """A venue with ``sections`` x ``rows`` x ``seats_per_row`` seats and a standing floor, an event
    with zones VIP (first two rows), A (the rest) and FLOOR, adult/child types, a session tonight
    on sale now, and feed credentials for a sync server."""
    if body.sections * body.rows * body.seats_per_row > MAX_DEMO_SEATS:
        raise Invalid(f"a demo venue has at most {MAX_DEMO_SEATS} seats (sections x rows x seats_per_row)")
    codes = [chr(ord("A") + i) for i in range(body.sections)]
    ga = [("FLOOR", body.ga_capacity)] if body.ga_capacity else []
    layout = grid_layout("Demo Arena", codes, body.rows, body.seats_per_row, ga)
    ctx = app.ctx
    venue_id = venues.create_venue(ctx, organiser, layout)
    zones = [events.ZoneSpec("VIP", "VIP", 88000), events.ZoneSpec("A", "Stalls", 48000)]
    if ga:
        zones.append(events.ZoneSpec("FLOOR", "Standing floor", 38000))
    types = [
        events.TicketTypeSpec("adult", "Adult", "standard", {}),
        events.TicketTypeSpec("child", "Child", "standard", {"A": 24000}),
    ]
    event_id = events.create_event(ctx, organiser, venue_id, "Demo Concert", "CNY", zones, types)
    now = time.time()
    rules = (events.SeatZoneRule("VIP", rows=tuple(str(r) for r in range(1, min(2, body.rows) + 1))),)
    session_id = events.create_session(
        ctx,
        organiser,
        event_id,
        events.SessionSpec(
            name="Tonight",
            starts_at=now + 6 * 3600,
            ends_at=now + 9 * 3600,
            sale_starts_at=now - 60,
            sale_ends_at=now + 6 * 3600,
            hold_seconds=body.hold_seconds,
            real_name=body.real_name,
            limit_per_account=6,
            default_zone="A",
            seat_zones=rules,
            ga=tuple(events.GaQuota("FLOOR", "FLOOR") for _ in ga),
        ),
    )
    _client_id, feed_token = principals.create_feed_client(ctx, organiser, event_id, "demo sync server")
    return {"venue_id": venue_id, "event_id": event_id, "session_id": session_id, "feed_token": feed_token}


@router.post(
    "/organiser/orders/{order_id}/payment-refunds",
    status_code=status.HTTP_201_CREATED,
    summary="Refund part (or all) of an order's payment through its provider; the tickets stay",
    responses=errors.responses(401, 403, 404, 409, 422),
)
async def refund_payment(
    order_id: Id, body: schemas.RefundIn, organiser: OrganiserId, app: State
) -> dict[str, Any]:
    return await app.with_provider(
        provider_refunds.refund_order_payment,
        app.ctx,
        app.providers,
        organiser,
        order_id,
        body.amount_cents,
        body.reason,
    )


@router.get(
    "/organiser/orders/{order_id}/payment-refunds",
    summary="The refunds of an order's payments and how each stands",
    responses=errors.responses(401, 403, 404),
)
def payment_refunds(order_id: Id, organiser: OrganiserId, app: State) -> list[dict[str, Any]]:
    return provider_refunds.order_refunds(app.ctx, order_id, organiser_id=organiser)
