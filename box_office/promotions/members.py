"""Memberships: a promoter grants a buyer a tier for a period; tiers open member prices (the
pipeline's member layer) and member access (early window, higher limits, members-only zones)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session as Db

from box_office.context import Context
from box_office.errors import Invalid, NotFound
from box_office.promotions.tables import MembershipRow
from box_office.store.models import Account


def _account(db: Db, account_id: int | None, email: str | None) -> int:
    if account_id is not None:
        if db.get(Account, account_id) is None:
            raise NotFound(f"no buyer {account_id}")
        return account_id
    found = db.scalar(
        select(Account.id)
        .where(func.lower(Account.email) == (email or "").strip().lower())
        .order_by(Account.id.desc())
    )
    if found is None:
        raise NotFound("no buyer with that e-mail")
    return int(found)


def grant(ctx: Context, organiser_id: int, spec: dict[str, Any]) -> dict[str, Any]:
    """Grant (or extend) a tier: one row per (organiser, buyer, tier), its period replaced."""
    now = ctx.now()
    start = spec.get("valid_from") or now
    if spec["valid_until"] <= start:
        raise Invalid("valid_until must be after valid_from", "bad_period")

    def work(db: Db) -> dict[str, Any]:
        account_id = _account(db, spec.get("account_id"), spec.get("email"))
        ctx.db.lock_subjects(db, [f"member:{organiser_id}:{account_id}:{spec['tier']}"])
        values = {"valid_from": start, "valid_until": spec["valid_until"], "granted_at": now}
        key = (
            MembershipRow.organiser_id == organiser_id,
            MembershipRow.account_id == account_id,
            MembershipRow.tier == spec["tier"],
        )
        if db.scalar(select(MembershipRow.id).where(*key)) is None:
            db.connection().execute(
                insert(MembershipRow).values(
                    organiser_id=organiser_id, account_id=account_id, tier=spec["tier"], **values
                )
            )
        else:
            db.connection().execute(update(MembershipRow).where(*key).values(**values))
        return {"account_id": account_id, "tier": spec["tier"], **values}

    return ctx.db.write(work)


def list_members(ctx: Context, organiser_id: int) -> list[dict[str, Any]]:
    with ctx.db.read() as db:
        rows = db.scalars(
            select(MembershipRow).where(MembershipRow.organiser_id == organiser_id).order_by(MembershipRow.id)
        ).all()
        return [
            {
                "account_id": r.account_id,
                "tier": r.tier,
                "valid_from": r.valid_from,
                "valid_until": r.valid_until,
                "granted_at": r.granted_at,
            }
            for r in rows
        ]
