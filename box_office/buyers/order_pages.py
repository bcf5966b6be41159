"""What the buyer's own pages show (issue #13): orders with their timeline, tickets with the
names a person reads (event, venue, session, zone), read for one signed-in account only."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from box_office.context import Context
from box_office.sales import views
from box_office.store.models import Event, Session, Venue, Zone


def _names(ctx: Context, session_ids: set[int]) -> dict[int, dict[str, Any]]:
    """Per session: event, venue and session names, start time, zone names by code."""
    if not session_ids:
        return {}
    with ctx.db.read() as db:
        rows = db.execute(
            select(Session.id, Session.name, Session.starts_at, Event.id, Event.name, Venue.name)
            .join(Event, Event.id == Session.event_id)
            .join(Venue, Venue.id == Event.venue_id)
            .where(Session.id.in_(session_ids))
        ).all()
        events = {row[3] for row in rows}
        zones: dict[int, dict[str, str]] = {}
        for event_id, code, name in db.execute(
            select(Zone.event_id, Zone.code, Zone.name).where(Zone.event_id.in_(events))
        ):
            zones.setdefault(event_id, {})[code] = name
    return {
        row[0]: {
            "session_name": row[1],
            "starts_at": row[2],
            "event_name": row[4],
            "venue_name": row[5],
            "zones": zones.get(row[3], {}),
        }
        for row in rows
    }


def timeline(order: dict[str, Any]) -> list[tuple[str, float | None]]:
    """The order's steps so far: (state, when) — held, paid, ticketed, then how it ended."""
    steps: list[tuple[str, float | None]] = [("held", order["created_at"])]
    if order["paid_at"]:
        steps.append(("paid", order["paid_at"]))
    if order["ticketed_at"]:
        steps.append(("ticketed", order["ticketed_at"]))
    if order["status"] in ("refunded", "cancelled", "expired"):
        steps.append((order["status"], order["expires_at"] if order["status"] == "expired" else None))
    return steps


def my_orders(ctx: Context, account_id: int) -> list[dict[str, Any]]:
    orders = views.list_orders(ctx, account_id)
    names = _names(ctx, {o["session_id"] for o in orders})
    return [o | names.get(o["session_id"], {}) | {"timeline": timeline(o)} for o in orders]


def my_order(ctx: Context, account_id: int, order_id: int) -> dict[str, Any]:
    order = views.get_order(ctx, account_id, order_id)
    return (
        order
        | _names(ctx, {order["session_id"]}).get(order["session_id"], {})
        | {"timeline": timeline(order)}
    )


def my_tickets(ctx: Context, account_id: int) -> list[dict[str, Any]]:
    """Valid tickets of the account's orders, with their names (the offline tickets page)."""
    tickets = [t for t in views.list_tickets(ctx, account_id) if t["status"] == "valid" and t["token"]]
    names = _names(ctx, {t["session_id"] for t in tickets})
    return [t | names.get(t["session_id"], {}) for t in tickets]


def session_exists(ctx: Context, session_id: int) -> bool:
    with ctx.db.read() as db:
        return db.scalar(select(Session.id).where(Session.id == session_id)) is not None
