"""The promoter's price controls: price changes (zone × ticket type × session × period) and campaigns.

Only the event's organiser may touch them (:func:`owned_event`: 403 for another's event).
A price change is a new row, never an edit: what a hold was priced under stays provable,
and a change applies at once to holds made after it (``made_at``) and never to earlier ones.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session as Db

from box_office.catalog.ownership import owned_event
from box_office.context import Context
from box_office.core import pricing_pipeline as pp
from box_office.errors import Invalid, NotFound
from box_office.promotions.pricing import CAMPAIGN_KINDS, campaign_rules
from box_office.promotions.tables import CampaignRow, PriceChangeRow
from box_office.store.models import Session, TicketType, Zone


def _check_targets(db: Db, event_id: int, spec: dict[str, Any]) -> None:
    """Zones, ticket types and sessions named must be the event's own."""
    zones = set(db.scalars(select(Zone.code).where(Zone.event_id == event_id)))
    types = set(db.scalars(select(TicketType.code).where(TicketType.event_id == event_id)))
    sessions = set(db.scalars(select(Session.id).where(Session.event_id == event_id)))
    scope = spec.get("scope") or {}
    named_zones = (
        set(scope.get("zones", ()))
        | set(spec.get("only_zones") or ())
        | ({spec["zone"]} if spec.get("zone") else set())
    )
    named_types = set(scope.get("ticket_types", ())) | (
        {spec["ticket_type"]} if spec.get("ticket_type") else set()
    )
    named_sessions = set(scope.get("sessions", ())) | (
        {spec["session_id"]} if spec.get("session_id") else set()
    )
    if named_zones - zones:
        raise Invalid(f"no zone {', '.join(sorted(named_zones - zones))} in event {event_id}", "unknown_zone")
    if named_types - types:
        raise Invalid(
            f"no ticket type {', '.join(sorted(named_types - types))} in event {event_id}", "unknown_type"
        )
    if named_sessions - sessions:
        missing = ", ".join(str(s) for s in sorted(named_sessions - sessions))
        raise Invalid(f"no session {missing} in event {event_id}", "unknown_session")


def change_price(ctx: Context, organiser_id: int, event_id: int, spec: dict[str, Any]) -> dict[str, Any]:
    """Record a price for a zone (optionally a ticket type, a session, a period): new holds get it now."""
    start, end = spec.get("valid_from"), spec.get("valid_until")
    if start is not None and end is not None and end <= start:
        raise Invalid("valid_until must be after valid_from", "bad_period")

    def work(db: Db) -> dict[str, Any]:
        owned_event(db, organiser_id, event_id)
        _check_targets(db, event_id, spec)
        values = {
            "event_id": event_id,
            "session_id": spec.get("session_id"),
            "zone": spec["zone"],
            "ticket_type": spec.get("ticket_type"),
            "price_cents": spec["price_cents"],
            "valid_from": spec.get("valid_from"),
            "valid_until": spec.get("valid_until"),
            "made_at": ctx.now(),
            "made_by": organiser_id,
        }
        change_id = db.connection().execute(
            insert(PriceChangeRow).values(**values).returning(PriceChangeRow.id)
        )
        return {"id": change_id.scalar_one()} | values

    return ctx.db.write(work)


def list_prices(ctx: Context, organiser_id: int, event_id: int) -> list[dict[str, Any]]:
    with ctx.db.read() as db:
        owned_event(db, organiser_id, event_id)
        rows = db.scalars(
            select(PriceChangeRow).where(PriceChangeRow.event_id == event_id).order_by(PriceChangeRow.id)
        ).all()
        return [
            {
                "id": r.id,
                "event_id": r.event_id,
                "session_id": r.session_id,
                "zone": r.zone,
                "ticket_type": r.ticket_type,
                "price_cents": r.price_cents,
                "valid_from": r.valid_from,
                "valid_until": r.valid_until,
                "made_at": r.made_at,
                "made_by": r.made_by,
            }
            for r in rows
        ]


def campaign_view(row: CampaignRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "event_id": row.event_id,
        "kind": row.kind,
        "name": row.name,
        "priority": row.priority,
        "config": row.config,
        "quantity_limit": row.quantity_limit,
        "sold": row.sold,
        "active": row.active,
        "created_at": row.created_at,
    }


def create_campaign(ctx: Context, organiser_id: int, event_id: int, spec: dict[str, Any]) -> dict[str, Any]:
    """A campaign (early_bird, flash, group, member, n_for_m, threshold), checked by building it."""
    kind = spec["kind"]
    if kind not in CAMPAIGN_KINDS:
        raise Invalid(f"unknown campaign kind {kind}", "bad_campaign")
    config = {
        k: v
        for k, v in spec.items()
        if k not in ("kind", "name", "priority", "quantity_limit") and v is not None
    }

    def work(db: Db) -> dict[str, Any]:
        owned_event(db, organiser_id, event_id)
        _check_targets(db, event_id, spec)
        values = {
            "event_id": event_id,
            "kind": kind,
            "name": spec["name"],
            "priority": spec.get("priority") or 0,
            "config": config,
            "quantity_limit": spec.get("quantity_limit"),
            "sold": 0,
            "active": True,
            "created_at": ctx.now(),
        }
        try:
            if kind == "member_access" and not config.get("tier"):
                raise ValueError("member_access needs a tier")
            if kind == "group" and (not config.get("size") or not config.get("time_limit_seconds")):
                raise ValueError("a group-buy needs size and time_limit_seconds")
            campaign_rules([CampaignRow(id=0, **values)])
        except (pp.PricingError, KeyError, TypeError, ValueError) as exc:
            raise Invalid(f"campaign: {exc}", "bad_campaign") from None
        campaign_id = db.connection().execute(insert(CampaignRow).values(**values).returning(CampaignRow.id))
        return campaign_view(CampaignRow(id=campaign_id.scalar_one(), **values))

    return ctx.db.write(work)


def list_campaigns(ctx: Context, organiser_id: int, event_id: int) -> list[dict[str, Any]]:
    with ctx.db.read() as db:
        owned_event(db, organiser_id, event_id)
        rows = db.scalars(
            select(CampaignRow).where(CampaignRow.event_id == event_id).order_by(CampaignRow.id)
        )
        return [campaign_view(r) for r in rows]


def set_active(ctx: Context, organiser_id: int, campaign_id: int, active: bool) -> dict[str, Any]:
    def work(db: Db) -> dict[str, Any]:
        row = db.get(CampaignRow, campaign_id)
        if row is None:
            raise NotFound(f"no campaign {campaign_id}")
        owned_event(db, organiser_id, row.event_id)
        db.connection().execute(
            update(CampaignRow)
            .where(CampaignRow.id == campaign_id)
            .values(active=active)
            .execution_options(synchronize_session=False)
        )
        return campaign_view(row) | {"active": active}

    return ctx.db.write(work)
