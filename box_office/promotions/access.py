"""Member benefits at hold and order time: the adapter around :mod:`core.member_benefits`.

An event without ``member_access`` campaigns costs one indexed query per hold or order and
changes nothing; memberships are read only when such a campaign exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session as Db

from box_office.catalog.cache import SessionFacts
from box_office.core import member_benefits as mb
from box_office.errors import Forbidden
from box_office.promotions.pricing import member_tiers
from box_office.promotions.tables import CampaignRow

ACCESS_KIND = "member_access"


@dataclass(frozen=True)
class Benefits:
    sale_starts_at: float
    limit_per_account: int | None
    rules: tuple[mb.MemberAccess, ...] = ()
    tiers: frozenset[str] = field(default_factory=frozenset)

    def check_zone(self, zone: str, session_id: int, what: str) -> None:
        needing = mb.closed_to(zone, session_id, self.rules, self.tiers)
        if needing is not None:
            raise Forbidden(
                f"{what}: zone {zone} is for members ({', '.join(sorted(needing))}) only", "members_only"
            )


def access_rules(db: Db, event_id: int) -> tuple[mb.MemberAccess, ...]:
    rows = db.scalars(
        select(CampaignRow).where(
            CampaignRow.event_id == event_id, CampaignRow.kind == ACCESS_KIND, CampaignRow.active.is_(True)
        )
    ).all()
    return tuple(
        mb.MemberAccess(
            tier=str(r.config["tier"]),
            early_seconds=float(r.config.get("early_seconds") or 0),
            limit_per_account=r.config.get("limit_per_account"),
            only_zones=frozenset(r.config.get("only_zones") or ()),
            only_sessions=frozenset(r.config.get("only_sessions") or ()),
        )
        for r in rows
    )


def benefits(db: Db, facts: SessionFacts, account_id: int, now: float) -> Benefits:
    rules = access_rules(db, facts.event_id)
    if not rules:
        return Benefits(facts.sale_starts_at, facts.limit_per_account)
    tiers = member_tiers(db, facts.event_id, account_id, now)
    return Benefits(
        mb.sale_opens_at(facts.sale_starts_at, rules, tiers),
        mb.account_limit(facts.limit_per_account, rules, tiers),
        rules,
        tiers,
    )
