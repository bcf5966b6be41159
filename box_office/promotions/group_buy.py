"""Group-buy (拼团): open a group by paying, others join and pay; N paid → everyone's tickets issued;
T passes unfilled → everyone refunded through their own payment and the places return.

How it hooks into the sale (each a small call from the existing modules):

- checkout: an order that opens or joins a group is priced with the group campaign's price
  (the pipeline's group replacement) and :func:`attach` records it in the group;
- settle: when its payment arrives, :func:`on_paid` decides: wait for the group (the order stays
  ``paid``, no tickets yet), the group is now full (issue every paid member's tickets), or the
  group filled first (``lost``: this payment is refunded). The group's ``paid_count`` moves only
  by a conditional UPDATE (``paid_count < size``), so of payments racing for the last place the
  first to commit wins and the rest are refunded;
- issuing: :func:`waiting_orders` keeps the sweeper from issuing tickets of a forming group;
- sweeper: :func:`sweep` fails expired groups (or completes them when the campaign allows
  completion with at least ``simulate_min_real`` paying members — never showing fake members)
  and refunds every member of a failed group and every ``lost`` payment, through
  :func:`box_office.aftersales.refunds.cancel_order` (the provider's refund; the sandbox for now).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from sqlalchemy import and_, insert, select, update
from sqlalchemy.orm import Session as Db

from box_office.catalog.cache import SessionFacts
from box_office.context import Context
from box_office.errors import Conflict, Invalid, NotFound
from box_office.payments.provider import ProviderRegistry
from box_office.promotions import group_notices
from box_office.promotions.tables import CampaignRow, GroupMemberRow, GroupRow
from box_office.store.db import changed

OPENING = "opening"
FORMING = "forming"
FORMED = "formed"
FAILED = "failed"
JOINED = "joined"
PAID = "paid"
ISSUED = "issued"
LOST = "lost"
REFUNDED = "refunded"


@dataclass(frozen=True)
class Intent:
    """An order about to open (group_id None) or join a group of ``campaign``."""

    campaign: CampaignRow
    group_id: int | None

    @property
    def rule_id(self) -> str:
        return f"campaign:{self.campaign.id}"


@dataclass
class Paid:
    """What a payment of a group order means: issue this order now? others too? or refund it?"""

    issue_now: bool = True
    also_issue: list[int] = field(default_factory=list)
    lost: bool = False


def _campaign(db: Db, facts: SessionFacts, campaign_id: int, now: float) -> CampaignRow:
    row = db.get(CampaignRow, campaign_id)
    if row is None or row.kind != "group" or row.event_id != facts.event_id or not row.active:
        raise NotFound(f"no group-buy campaign {campaign_id} for this event", "no_group_campaign")
    starts, ends = row.config.get("starts_at"), row.config.get("ends_at")
    if (starts is not None and now < starts) or (ends is not None and now >= ends):
        raise Conflict(f"group-buy {row.name} is not running now", "group_closed")
    return row


def prepare(
    db: Db,
    facts: SessionFacts,
    *,
    open_campaign: int | None,
    join_group: int | None,
    quantity: int,
    now: float,
) -> Intent | None:
    """Check an order's group request before pricing (None: not a group order)."""
    if open_campaign is None and join_group is None:
        return None
    if open_campaign is not None and join_group is not None:
        raise Invalid("open a group or join one, not both")
    if join_group is not None:
        group = db.get(GroupRow, join_group)
        if group is None or group.session_id != facts.id:
            raise NotFound(f"no group {join_group} for this session", "no_group")
        if group.status != FORMING or (group.expires_at is not None and group.expires_at <= now):
            raise Conflict(f"group {join_group} is no longer open", "group_closed")
        campaign = _campaign(db, facts, group.campaign_id, now)
    else:
        assert open_campaign is not None
        campaign = _campaign(db, facts, open_campaign, now)
    per_buyer = campaign.config.get("per_buyer")
    if per_buyer is not None and quantity > per_buyer:
        raise Conflict(f"at most {per_buyer} tickets per member of this group-buy", "group_limit")
    return Intent(campaign, join_group)


def attach(db: Db, intent: Intent, *, order_id: int, account_id: int, now: float) -> int:
    """Record the order in its group (opening the group when it has none yet); returns the group id."""
    group_id = intent.group_id
    if group_id is None:
        group_id = int(
            db.connection()
            .execute(
                insert(GroupRow)
                .values(
                    campaign_id=intent.campaign.id,
                    session_id=_session_of(db, order_id),
                    size=int(intent.campaign.config["size"]),
                    paid_count=0,
                    status=OPENING,
                    leader_account_id=account_id,
                    expires_at=None,
                    created_at=now,
                    closed_at=None,
                )
                .returning(GroupRow.id)
            )
            .scalar_one()
        )
    db.connection().execute(
        insert(GroupMemberRow).values(
            order_id=order_id, group_id=group_id, account_id=account_id, status=JOINED, paid_at=None
        )
    )
    return group_id


def _session_of(db: Db, order_id: int) -> int:
    from box_office.store.models import Order

    session_id = db.scalar(select(Order.session_id).where(Order.id == order_id))
    assert session_id is not None
    return int(session_id)


def on_paid(db: Db, order_id: int, now: float) -> Paid:
    """An order's payment arrived (in settle's transaction): see the module docstring."""
    member = db.get(GroupMemberRow, order_id)
    if member is None:
        return Paid()
    group = db.get(GroupRow, member.group_id)
    assert group is not None
    if group.status == OPENING:  # the leader's payment opens the group: T starts now
        campaign = db.get(CampaignRow, group.campaign_id)
        assert campaign is not None
        limit = float(campaign.config["time_limit_seconds"])
        db.connection().execute(
            update(GroupRow)
            .where(GroupRow.id == group.id, GroupRow.status == OPENING)
            .values(status=FORMING, expires_at=now + limit)
            .execution_options(synchronize_session=False)
        )
    won = changed(
        db.connection().execute(
            update(GroupRow)
            .where(
                GroupRow.id == group.id,
                GroupRow.status == FORMING,
                GroupRow.paid_count < GroupRow.size,
                GroupRow.expires_at > now,
            )
            .values(paid_count=GroupRow.paid_count + 1)
            .execution_options(synchronize_session=False)
        )
    )
    if not won:
        _member(db, order_id, LOST, now)
        group_notices.queue(db, group.id, group_notices.LOST, [order_id], now)
        return Paid(issue_now=False, lost=True)
    _member(db, order_id, PAID, now)
    db.refresh(group)
    if group.paid_count < group.size:
        kind = group_notices.OPENED if group.paid_count == 1 else group_notices.JOINED
        group_notices.queue(db, group.id, kind, [order_id], now)
        return Paid(issue_now=False)
    db.connection().execute(
        update(GroupRow)
        .where(GroupRow.id == group.id)
        .values(status=FORMED, closed_at=now)
        .execution_options(synchronize_session=False)
    )
    others = _issue_members(db, group.id, now)
    group_notices.queue(db, group.id, group_notices.FORMED, others, now)
    return Paid(issue_now=True, also_issue=[o for o in others if o != order_id])


def _member(db: Db, order_id: int, status: str, now: float) -> None:
    values: dict[str, Any] = {"status": status}
    if status == PAID:
        values["paid_at"] = now
    db.connection().execute(
        update(GroupMemberRow)
        .where(GroupMemberRow.order_id == order_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def _issue_members(db: Db, group_id: int, now: float) -> list[int]:
    """Mark the group's paid members issued; returns their orders (the caller issues the tickets)."""
    orders = list(
        db.scalars(
            select(GroupMemberRow.order_id).where(
                GroupMemberRow.group_id == group_id, GroupMemberRow.status == PAID
            )
        )
    )
    db.connection().execute(
        update(GroupMemberRow)
        .where(GroupMemberRow.group_id == group_id, GroupMemberRow.status == PAID)
        .values(status=ISSUED)
        .execution_options(synchronize_session=False)
    )
    return orders


def waiting_orders() -> Any:
    """Orders whose tickets wait for their group (a subquery for the issuing sweeper to skip)."""
    return select(GroupMemberRow.order_id).where(GroupMemberRow.status.in_((PAID, LOST)))


def sweep(ctx: Context, providers: ProviderRegistry) -> int:
    """Close expired groups (complete or fail them) and refund failed and lost members; returns
    how many orders were refunded or cancelled."""
    from box_office.aftersales.refunds import cancel_order
    from box_office.sales import issuing

    now = ctx.now()

    def close(db: Db) -> list[int]:
        issue: list[int] = []
        expired = db.scalars(
            select(GroupRow).where(GroupRow.status == FORMING, GroupRow.expires_at <= now).limit(200)
        ).all()
        for group in expired:
            campaign = db.get(CampaignRow, group.campaign_id)
            minimum = None if campaign is None else campaign.config.get("simulate_min_real")
            complete = minimum is not None and group.paid_count >= max(1, int(minimum))
            if not changed(
                db.connection().execute(
                    update(GroupRow)
                    .where(GroupRow.id == group.id, GroupRow.status == FORMING)
                    .values(status=FORMED if complete else FAILED, closed_at=now)
                    .execution_options(synchronize_session=False)
                )
            ):
                continue
            if complete:
                members = _issue_members(db, group.id, now)
                group_notices.queue(db, group.id, group_notices.FORMED, members, now)
                issue += members
            else:
                told = db.scalars(
                    select(GroupMemberRow.order_id).where(
                        GroupMemberRow.group_id == group.id, GroupMemberRow.status == PAID
                    )
                ).all()
                group_notices.queue(db, group.id, group_notices.FAILED, told, now)
                db.connection().execute(
                    update(GroupMemberRow)
                    .where(GroupMemberRow.group_id == group.id, GroupMemberRow.status.in_((JOINED, PAID)))
                    .values(status=REFUNDED)
                    .execution_options(synchronize_session=False)
                )
        return issue

    for order_id in ctx.db.write(close):
        issuing.issue_order(ctx, order_id)
    with ctx.db.read() as db:
        to_refund = list(
            db.scalars(
                select(GroupMemberRow.order_id)
                .join(GroupRow, GroupRow.id == GroupMemberRow.group_id)
                .where(
                    (GroupMemberRow.status == LOST)
                    | and_(GroupRow.status == FAILED, GroupMemberRow.status == REFUNDED)
                )
            )
        )
    done = 0
    for order_id in to_refund:
        with contextlib.suppress(Conflict):  # already cancelled, refunded or expired: nothing owed
            cancel_order(ctx, providers, order_id, account_id=None, organiser_id=None)
        ctx.db.write(partial(_member, order_id=order_id, status="closed", now=now))
        done += 1
    return done


def open_groups(ctx: Context, session_id: int) -> list[dict[str, Any]]:
    """Groups of a session that can be joined now (凑团): no members' names, only counts."""
    now = ctx.now()
    with ctx.db.read() as db:
        rows = db.execute(
            select(GroupRow, CampaignRow.name)
            .join(CampaignRow, CampaignRow.id == GroupRow.campaign_id)
            .where(GroupRow.session_id == session_id, GroupRow.status == FORMING, GroupRow.expires_at > now)
            .order_by(GroupRow.expires_at)
            .limit(100)
        ).all()
        return [group_view(group, name) for group, name in rows]


def group_view(group: GroupRow, name: str) -> dict[str, Any]:
    return {
        "id": group.id,
        "campaign_id": group.campaign_id,
        "name": name,
        "session_id": group.session_id,
        "size": group.size,
        "paid": group.paid_count,
        "missing": max(0, group.size - group.paid_count),
        "status": group.status,
        "expires_at": group.expires_at,
    }


def get_group(ctx: Context, group_id: int) -> dict[str, Any]:
    with ctx.db.read() as db:
        group = db.get(GroupRow, group_id)
        campaign = None if group is None else db.get(CampaignRow, group.campaign_id)
        if group is None or campaign is None:
            raise NotFound(f"no group {group_id}")
        return group_view(group, campaign.name)


def groups_csv(ctx: Context, organiser_id: int, event_id: int) -> str:
    """Groups formed / forming / failed of the organiser's event, as CSV."""
    import csv
    import io

    from box_office.catalog.ownership import owned_event

    with ctx.db.read() as db:
        owned_event(db, organiser_id, event_id)
        rows = db.execute(
            select(GroupRow, CampaignRow.name)
            .join(CampaignRow, CampaignRow.id == GroupRow.campaign_id)
            .where(CampaignRow.event_id == event_id)
            .order_by(GroupRow.id)
        ).all()
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(
            ["group", "campaign", "session", "size", "paid", "status", "created_at", "expires_at"]
        )
        for group, name in rows:
            writer.writerow(
                [
                    group.id,
                    name,
                    group.session_id,
                    group.size,
                    group.paid_count,
                    group.status,
                    group.created_at,
                    group.expires_at,
                ]
            )
        return out.getvalue()
