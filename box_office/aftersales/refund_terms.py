"""Refund policies of events, and their snapshot on each order at purchase.

The promoter sets a policy per event (``PUT /api/events/{id}/refund-policy``); checkout copies
the policy in force into ``order_refund_terms`` in the order's own transaction, so the terms a
buyer saw before paying are the terms their refund is computed under, whatever changes later.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session as Db

from box_office.catalog.ownership import owned_event
from box_office.context import Context
from box_office.core.errors import RuleError
from box_office.core.refund_policy import DEFAULT_POLICY, RefundPolicy, parse_policy, policy_json
from box_office.errors import Invalid, NotFound
from box_office.store.models import Event, EventRefundPolicy, OrderRefundTerms


def event_policy(db: Db, event_id: int) -> RefundPolicy:
    """The event's policy in force now (the default one if the promoter set none)."""
    row = db.get(EventRefundPolicy, event_id)
    return DEFAULT_POLICY if row is None else parse_policy(row.policy)


def get_policy(ctx: Context, event_id: int) -> dict[str, Any]:
    """Public: the terms a buyer sees before holding seats."""
    with ctx.db.read() as db:
        if db.get(Event, event_id) is None:
            raise NotFound(f"no event {event_id}")
        return {"event_id": event_id, "policy": policy_json(event_policy(db, event_id))}


def set_policy(ctx: Context, organiser_id: int, event_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """The promoter sets the event's policy; orders already made keep their snapshot."""
    try:
        policy = parse_policy(body)
    except RuleError as exc:
        raise Invalid(str(exc), exc.code) from None

    def work(db: Db) -> dict[str, Any]:
        owned_event(db, organiser_id, event_id)
        row = db.get(EventRefundPolicy, event_id)
        if row is None:
            db.add(EventRefundPolicy(event_id=event_id, policy=policy_json(policy), updated_at=ctx.now()))
        else:
            row.policy = policy_json(policy)
            row.updated_at = ctx.now()
        return {"event_id": event_id, "policy": policy_json(policy)}

    return ctx.db.write(work)


def snapshot(db: Db, order_id: int, event_id: int, now: float) -> dict[str, Any]:
    """Copy the event's policy onto a new order (in checkout's transaction); returns its JSON."""
    terms = policy_json(event_policy(db, event_id))
    db.connection().execute(
        insert(OrderRefundTerms).values(order_id=order_id, policy=terms, purchased_at=now)
    )
    return terms


def order_terms(db: Db, order_id: int) -> tuple[RefundPolicy, float | None]:
    """The policy an order was bought under, and when. Orders made before snapshots existed
    fall back to the default policy (purchase time unknown: no grace period)."""
    row = db.scalar(select(OrderRefundTerms).where(OrderRefundTerms.order_id == order_id))
    if row is None:
        return DEFAULT_POLICY, None
    return parse_policy(row.policy), row.purchased_at


def order_terms_json(db: Db, order_id: int) -> dict[str, Any]:
    return policy_json(order_terms(db, order_id)[0])
