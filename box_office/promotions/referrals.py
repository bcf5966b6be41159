"""Referrers (推广员): enrolled by the organiser, a code in their links and posters, orders
attributed to the last code a buyer saw within the referrer's window, commission pending until
the show, settled after it, reversed by a refund (rules in :mod:`core.referrals`)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session as Db

from box_office.catalog.ownership import owned_event
from box_office.context import Context
from box_office.core import referrals as rules
from box_office.core.orders import effective_order_status
from box_office.errors import Invalid, NotFound, Unauthorized
from box_office.promotions.coupons import CODE_ALPHABET
from box_office.promotions.tables import ReferralRow, ReferralViewRow, ReferrerRow
from box_office.store.models import Order, Session

CODE_LENGTH = 8


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def enroll(ctx: Context, organiser_id: int, event_id: int, spec: dict[str, Any]) -> dict[str, Any]:
    """Enroll a referrer; the answer carries its code and, once only, its stats token."""
    try:
        rules.commission(spec["mode"], spec["value"], [], group_order=False, include_group=False)
    except ValueError as exc:
        raise Invalid(str(exc), "bad_commission") from None
    token = secrets.token_urlsafe(24)
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))

    def work(db: Db) -> dict[str, Any]:
        owned_event(db, organiser_id, event_id)
        values = {
            "event_id": event_id,
            "name": spec["name"],
            "code": code,
            "stats_token_hash": _hash(token),
            "mode": spec["mode"],
            "value": spec["value"],
            "include_group": bool(spec.get("include_group")),
            "window_seconds": spec.get("window_seconds") or 7 * 86400,
            "created_at": ctx.now(),
        }
        referrer_id = db.connection().execute(insert(ReferrerRow).values(**values).returning(ReferrerRow.id))
        return {"id": referrer_id.scalar_one(), "stats_token": token} | {
            k: v for k, v in values.items() if k != "stats_token_hash"
        }

    return ctx.db.write(work)


def seen(ctx: Context, account_id: int, code: str) -> dict[str, Any]:
    """The buyer arrived through this referral code (a click): recorded for attribution."""

    def work(db: Db) -> dict[str, Any]:
        referrer = db.scalar(select(ReferrerRow).where(ReferrerRow.code == code.strip().upper()))
        if referrer is None:
            raise NotFound("no such referral code", "no_referrer")
        now = ctx.now()
        db.connection().execute(
            insert(ReferralViewRow).values(
                referrer_id=referrer.id, event_id=referrer.event_id, account_id=account_id, seen_at=now
            )
        )
        return {"event_id": referrer.event_id, "code": referrer.code, "until": now + referrer.window_seconds}

    return ctx.db.write(work)


def attribute(
    db: Db,
    *,
    event_id: int,
    account_id: int,
    order_id: int,
    prices: Sequence[int],
    group_order: bool,
    now: float,
) -> None:
    """In the order's transaction: the last code seen within its window gets the order, for good."""
    rows = db.execute(
        select(ReferralViewRow.referrer_id, ReferralViewRow.seen_at, ReferrerRow.window_seconds)
        .join(ReferrerRow, ReferrerRow.id == ReferralViewRow.referrer_id)
        .where(ReferralViewRow.account_id == account_id, ReferralViewRow.event_id == event_id)
        .order_by(ReferralViewRow.seen_at.desc())
        .limit(50)
    ).all()
    winner = rules.attributed((rules.Seen(r[0], r[1], float(r[2])) for r in rows), now)
    if winner is None:
        return
    referrer = db.get(ReferrerRow, winner)
    assert referrer is not None
    earned = rules.commission(
        referrer.mode, referrer.value, prices, group_order=group_order, include_group=referrer.include_group
    )
    db.connection().execute(
        insert(ReferralRow).values(
            order_id=order_id, referrer_id=winner, commission_cents=earned, created_at=now
        )
    )


def stats(ctx: Context, token: str) -> dict[str, Any]:
    """A referrer's own figures (by its stats token): clicks, orders, commission by standing."""
    with ctx.db.read() as db:
        referrer = db.scalar(select(ReferrerRow).where(ReferrerRow.stats_token_hash == _hash(token)))
        if referrer is None:
            raise Unauthorized("not a referrer's stats token")
        return _figures(ctx, db, referrer)


def organiser_stats(ctx: Context, organiser_id: int, event_id: int) -> list[dict[str, Any]]:
    with ctx.db.read() as db:
        owned_event(db, organiser_id, event_id)
        referrers = db.scalars(
            select(ReferrerRow).where(ReferrerRow.event_id == event_id).order_by(ReferrerRow.id)
        )
        return [_figures(ctx, db, r) for r in referrers]


def _figures(ctx: Context, db: Db, referrer: ReferrerRow) -> dict[str, Any]:
    now = ctx.now()
    clicks = db.scalar(
        select(func.count()).select_from(ReferralViewRow).where(ReferralViewRow.referrer_id == referrer.id)
    )
    rows = db.execute(
        select(
            ReferralRow.commission_cents, Order.status, Order.expires_at, Order.total_cents, Session.ends_at
        )
        .join(Order, Order.id == ReferralRow.order_id)
        .join(Session, Session.id == Order.session_id)
        .where(ReferralRow.referrer_id == referrer.id)
    ).all()
    commission = {"pending": 0, "settled": 0, "reversed": 0}
    orders = 0
    sales = 0
    for earned, status, expires_at, total, ends_at in rows:
        where = rules.standing(effective_order_status(status, expires_at, now), ends_at < now)
        if where is None:
            continue
        commission[where] += earned
        if where != "reversed":
            orders += 1
            sales += total
    return {
        "id": referrer.id,
        "name": referrer.name,
        "code": referrer.code,
        "clicks": clicks or 0,
        "orders": orders,
        "sales_cents": sales,
        "commission_cents": commission,
    }
