"""The audit trail: every console action, with who did it, when, and whether it went through."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session as Db

from box_office.console.auth import ConsoleUserView
from box_office.console.tables import AuditEntry
from box_office.context import Context


def entry(
    user: ConsoleUserView, action: str, target: str, outcome: str, detail: dict[str, Any], now: float
) -> AuditEntry:
    return AuditEntry(
        organiser_id=user.organiser_id,
        user_id=user.id,
        actor=user.email,
        action=action,
        target=target[:200],
        outcome=outcome[:20],
        detail=detail,
        at=now,
    )


def record(
    ctx: Context, user: ConsoleUserView, action: str, target: str, outcome: str = "ok", **detail: Any
) -> None:
    """Write one audit line in its own transaction (a refused action is recorded too)."""
    row = entry(user, action, target, outcome, detail, ctx.now())
    ctx.db.write(lambda db: db.add(row))


def recent(ctx: Context, organiser_id: int, limit: int = 200) -> list[dict[str, Any]]:
    with ctx.db.read() as db:
        rows = db.scalars(
            select(AuditEntry)
            .where(AuditEntry.organiser_id == organiser_id)
            .order_by(AuditEntry.id.desc())
            .limit(limit)
        ).all()
    return [view(r) for r in rows]


def view(r: AuditEntry) -> dict[str, Any]:
    return {
        "id": r.id,
        "at": r.at,
        "actor": r.actor,
        "action": r.action,
        "target": r.target,
        "outcome": r.outcome,
        "detail": r.detail,
    }


def for_db(db: Db, user: ConsoleUserView, action: str, target: str, now: float, **detail: Any) -> None:
    """Record inside the caller's transaction (the change and its audit line commit together)."""
    db.add(entry(user, action, target, "ok", detail, now))
