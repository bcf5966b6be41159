"""Prices an order's lines through :mod:`box_office.core.pricing_pipeline`, and freezes them.

Why here: checkout knows which seats and ticket types are bought; this module reads what the
pipeline needs (the promoter's price changes, the event's campaigns, the buyer's memberships,
the coupon) and afterwards writes what it decided: each line's price and breakdown, the stock
taken from quantity-limited phases, the coupon's use. It all runs inside checkout's one write
transaction, so an order either exists with its frozen prices and its coupon use, or not at all.

The price seen is the price paid: prices are judged at the hold's creation (``hold.created_at``),
so a promoter's price change made later never reaches this hold, while the next hold gets it at
once. Quantity limits (the first N tickets of an early-bird phase, a flash price's stock) are
taken when the order is made, by conditional UPDATEs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session as Db

from box_office.catalog.cache import SessionFacts
from box_office.catalog.ownership import owned_event
from box_office.context import Context
from box_office.core import pricing_pipeline as pp
from box_office.errors import Conflict, Forbidden, NotFound
from box_office.promotions import coupons
from box_office.promotions.tables import CampaignRow, LinePriceRow, MembershipRow, PriceChangeRow
from box_office.store.db import changed
from box_office.store.models import Event, Order, Session

REPLACEMENT_KINDS = frozenset({"early_bird", "flash", "group"})
CAMPAIGN_KINDS = REPLACEMENT_KINDS | {"member", "n_for_m", "threshold", "member_access"}


@dataclass(frozen=True)
class Quote:
    """An order priced: the pipeline's answer and the coupon it used (if any)."""

    priced: pp.PricedOrder
    coupon: coupons.Usable | None


def scope_of(raw: dict[str, Any] | None) -> pp.Scope:
    raw = raw or {}
    return pp.Scope(
        sessions=frozenset(int(s) for s in raw.get("sessions", ())),
        zones=frozenset(str(z) for z in raw.get("zones", ())),
        ticket_types=frozenset(str(t) for t in raw.get("ticket_types", ())),
    )


def adjust_of(raw: dict[str, Any]) -> pp.Adjust:
    return pp.Adjust(
        str(raw["mode"]), int(raw.get("value", 0)), {str(k): int(v) for k, v in raw.get("prices", {}).items()}
    )


def campaign_rules(rows: Sequence[CampaignRow]) -> pp.Campaigns:
    """The pipeline's campaigns from the promoter's stored configuration (active rows only)."""
    replacements: list[pp.Replacement] = []
    members: list[pp.MemberPrice] = []
    rules: list[pp.AutoRule] = []
    for row in rows:
        if not row.active:
            continue
        config = row.config
        rule_id = f"campaign:{row.id}"
        stacks = frozenset(config.get("stacks_with", ())) & pp.STACKABLE
        scope = scope_of(config.get("scope"))
        if row.kind in REPLACEMENT_KINDS:
            replacements.append(
                pp.Replacement(
                    rule_id,
                    row.name,
                    row.kind,
                    adjust_of(config["adjust"]),
                    priority=row.priority,
                    scope=scope,
                    starts_at=config.get("starts_at"),
                    ends_at=config.get("ends_at"),
                    quantity_left=None
                    if row.quantity_limit is None
                    else max(0, row.quantity_limit - row.sold),
                    stacks_with=stacks,
                )
            )
        elif row.kind == "member":
            members.append(
                pp.MemberPrice(
                    rule_id, row.name, str(config["tier"]), adjust_of(config["adjust"]), scope, stacks
                )
            )
        elif row.kind == "n_for_m":
            rules.append(
                pp.NForM(rule_id, row.name, int(config["n"]), int(config["m"]), scope, row.priority, stacks)
            )
        elif row.kind == "threshold":
            rules.append(
                pp.Threshold(
                    rule_id,
                    row.name,
                    int(config["min_cents"]),
                    adjust_of(config["adjust"]),
                    scope,
                    row.priority,
                    stacks,
                )
            )
    return pp.Campaigns(tuple(replacements), tuple(members), tuple(rules))


def price_changes(db: Db, event_id: int) -> list[pp.PriceChange]:
    rows = db.scalars(select(PriceChangeRow).where(PriceChangeRow.event_id == event_id)).all()
    return [
        pp.PriceChange(
            r.id, r.zone, r.price_cents, r.made_at, r.ticket_type, r.session_id, r.valid_from, r.valid_until
        )
        for r in rows
    ]


def member_tiers(db: Db, event_id: int, account_id: int, at: float) -> frozenset[str]:
    """The tiers the buyer holds at ``at`` with the event's organiser."""
    organiser_id = db.scalar(select(Event.organiser_id).where(Event.id == event_id))
    return frozenset(
        db.scalars(
            select(MembershipRow.tier).where(
                MembershipRow.organiser_id == organiser_id,
                MembershipRow.account_id == account_id,
                MembershipRow.valid_from <= at,
                MembershipRow.valid_until > at,
            )
        ).all()
    )


def quote(
    ctx: Context,
    db: Db,
    facts: SessionFacts,
    account_id: int,
    lines: Sequence[dict[str, Any]],
    *,
    priced_at: float,
    coupon_code: str | None = None,
    group_campaign: str | None = None,
    lock: bool = False,
) -> Quote:
    """Price the lines (dicts with ``zone``, ``type`` and the default ``price``) as of ``priced_at``.

    ``lock``: take the row locks the writes after it need (quantity-limited campaigns), so two
    orders racing for an early-bird phase's last ticket cannot both get it on PostgreSQL.
    """
    rows = list(
        db.scalars(
            select(CampaignRow).where(CampaignRow.event_id == facts.event_id, CampaignRow.active.is_(True))
        )
    )
    limited = [r.id for r in rows if r.quantity_limit is not None]
    if lock and limited and not ctx.db.is_sqlite:
        locked = db.scalars(
            select(CampaignRow)
            .where(CampaignRow.id.in_(limited))
            .order_by(CampaignRow.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).all()
        rows = [r for r in rows if r.quantity_limit is None] + list(locked)
    campaigns = campaign_rules(rows)
    changes = price_changes(db, facts.event_id)
    items = [
        pp.LineIn(
            str(index),
            facts.id,
            line["zone"],
            line["type"],
            pp.list_price(
                line["price"],
                changes,
                session_id=facts.id,
                zone=line["zone"],
                ticket_type=line["type"],
                at=priced_at,
            )
            if changes
            else line["price"],
        )
        for index, line in enumerate(lines)
    ]
    tiers = member_tiers(db, facts.event_id, account_id, priced_at) if campaigns.members else frozenset()
    usable = None
    if coupon_code:
        usable = coupons.usable(db, facts.event_id, account_id, coupon_code, ctx.now())
    context = pp.PricingContext(
        at=priced_at,
        member_tiers=tiers,
        group_campaign=group_campaign,
        coupon=None if usable is None else usable.terms,
    )
    try:
        priced = pp.price_order(items, campaigns, context)
    except pp.PricingError as exc:
        raise Conflict(str(exc), exc.code) from None
    return Quote(priced, usable)


def freeze(
    ctx: Context, db: Db, *, order_id: int, account_id: int, ticket_ids: Sequence[str], quote: Quote
) -> None:
    """Write what the quote decided, in the order's transaction: stock taken, coupon used, line prices."""
    for rule_id, count in quote.priced.used.items():
        campaign_id = int(rule_id.split(":", 1)[1])
        won = changed(
            db.connection().execute(
                update(CampaignRow)
                .where(
                    CampaignRow.id == campaign_id,
                    CampaignRow.quantity_limit.is_not(None),
                    CampaignRow.sold + count <= CampaignRow.quantity_limit,
                )
                .values(sold=CampaignRow.sold + count)
                .execution_options(synchronize_session=False)
            )
        )
        if not won:
            raise Conflict(
                "that promotion's last tickets just went: hold the seats again for today's price",
                "price_changed",
            )
    if quote.coupon is not None:
        coupons.redeem(
            ctx,
            db,
            quote.coupon,
            account_id=account_id,
            order_id=order_id,
            discount=quote.priced.coupon_cents,
        )
    db.connection().execute(
        insert(LinePriceRow),
        [
            {
                "ticket_id": ticket_id,
                "order_id": order_id,
                "list_cents": line.list_cents,
                "price_cents": line.price_cents,
                "breakdown": line.breakdown(),
            }
            for ticket_id, line in zip(ticket_ids, quote.priced.lines, strict=True)
        ],
    )


def breakdown_of(db: Db, order_id: int) -> dict[str, Any]:
    """An order's frozen prices: per line (ticket) the list price, the price paid and every step."""
    rows = db.scalars(select(LinePriceRow).where(LinePriceRow.order_id == order_id)).all()
    lines = [
        {
            "ticket_id": r.ticket_id,
            "list_cents": r.list_cents,
            "price_cents": r.price_cents,
            "steps": r.breakdown,
        }
        for r in sorted(rows, key=lambda r: r.ticket_id)
    ]
    return {
        "order_id": order_id,
        "total_cents": sum(line["price_cents"] for line in lines),
        "list_total_cents": sum(line["list_cents"] for line in lines),
        "lines": lines,
    }


def organiser_breakdown(ctx: Context, organiser_id: int, order_id: int) -> dict[str, Any]:
    """An order's frozen prices, for the organiser of its event only."""
    with ctx.db.read() as db:
        order = db.get(Order, order_id)
        session = None if order is None else db.get(Session, order.session_id)
        if order is None or session is None:
            raise NotFound(f"no order {order_id}")
        owned_event(db, organiser_id, session.event_id)
        return breakdown_of(db, order_id)


def buyer_breakdown(ctx: Context, account_id: int, order_id: int) -> dict[str, Any]:
    """An order's frozen prices, for its buyer only."""
    with ctx.db.read() as db:
        account = db.scalar(select(Order.account_id).where(Order.id == order_id))
        if account is None:
            raise NotFound(f"no order {order_id}")
        if account != account_id:
            raise Forbidden(f"order {order_id} belongs to another buyer")
        return breakdown_of(db, order_id)
