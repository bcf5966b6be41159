"""What a membership tier opens: an early-access window, a higher purchase limit, members-only
sessions and zones. No I/O. (Member prices are a layer of :mod:`core.pricing_pipeline`.)"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class MemberAccess:
    """One tier's access rules for an event (a ``member_access`` campaign)."""

    tier: str
    early_seconds: float = 0.0
    limit_per_account: int | None = None
    only_zones: frozenset[str] = frozenset()
    only_sessions: frozenset[int] = frozenset()


def sale_opens_at(sale_starts_at: float, rules: Iterable[MemberAccess], tiers: frozenset[str]) -> float:
    """When this buyer's sale opens: the public start, or earlier by the longest early window held."""
    early = max((r.early_seconds for r in rules if r.tier in tiers), default=0.0)
    return sale_starts_at - max(0.0, early)


def account_limit(default: int | None, rules: Iterable[MemberAccess], tiers: frozenset[str]) -> int | None:
    """The buyer's per-account limit: the highest a held tier grants, never lower than the public one
    (None, no limit, stays None)."""
    if default is None:
        return None
    granted = [r.limit_per_account for r in rules if r.tier in tiers and r.limit_per_account is not None]
    return max([default, *granted])


def closed_to(
    zone: str, session_id: int, rules: Iterable[MemberAccess], tiers: frozenset[str]
) -> frozenset[str] | None:
    """None if the buyer may buy this zone in this session, else the tiers that could.

    A zone or session listed as members-only by any tier is open to holders of one of those tiers."""
    rules = list(rules)
    needing = frozenset(r.tier for r in rules if zone in r.only_zones or session_id in r.only_sessions)
    if not needing or needing & tiers:
        return None
    return needing
