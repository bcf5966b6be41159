"""Refund policies: what a buyer gets back, and when a request needs the promoter. No I/O.

A policy is set per event by the promoter and *snapshotted on each order at purchase*, so a
later change never worsens the terms a buyer agreed to (and the terms are shown before paying:
Civil Code art. 496 asks for prominent notice of fee terms).

The rule, in the order it is applied (see :func:`quote`):

1. refusals nobody can override: a ticket already used at the gate (``entered``), nothing paid
   or everything already refunded;
2. force majeure (a cancelled show) and promoter-approved exceptions override the policy:
   100 % (or the approved percentage), no fee;
3. within ``grace_hours`` after purchase: 100 %, no fee (unless the show is inside the
   ``cutoff_hours`` window);
4. otherwise the tier of the time left before the show: tiers are ``(hours_before, percent)``;
   the first tier (largest ``hours_before`` first) whose ``hours_before`` is reached applies;
5. inside the last ``cutoff_hours`` (or below every tier) there is no refund right:
   ``past_deadline`` — a request then goes to the promoter's queue instead of being approved.

Amounts are integer fen, rounded down per ticket (the buyer never gets a fraction of a fen the
promoter did not agree to), then the flat ``fee_cents`` per ticket is kept (never below 0).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from box_office.core.errors import RuleError

HOUR = 3600.0

# Stable reason codes (API ``code`` values; documented in box_office/README.md).
ENTERED = "entered"
PAST_DEADLINE = "past_deadline"
SHOW_STARTED = "show_started"
WHOLE_ORDER_ONLY = "whole_order_only"
REFUND_RIGHT_USED = "refund_right_used"
NOTHING_TO_REFUND = "nothing_to_refund"

HARD_REFUSALS = frozenset({ENTERED, NOTHING_TO_REFUND})
"""Reasons no exception can override: the request is refused outright (409)."""
NEEDS_APPROVAL = frozenset({PAST_DEADLINE, SHOW_STARTED, WHOLE_ORDER_ONLY, REFUND_RIGHT_USED})
"""Reasons outside the policy: the request goes to the promoter's queue."""

SCOPES = ("ticket", "order")


@dataclass(frozen=True)
class RefundPolicy:
    """One event's refund terms.

    ``tiers``: ``(hours_before_show, percent)``; sorted largest hours first on construction.
    ``scope``: ``ticket`` (any ticket alone) or ``order`` (whole order only).
    ``once_per_account``: one refund right per account per show.
    """

    tiers: tuple[tuple[float, int], ...] = ((72.0, 100),)
    grace_hours: float = 0.0
    cutoff_hours: float = 0.0
    fee_cents: int = 0
    scope: str = "ticket"
    once_per_account: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "tiers", tuple(sorted(self.tiers, key=lambda t: -t[0])))


DEFAULT_POLICY = RefundPolicy(tiers=((0.0, 100),))
"""An event without a policy of its own: full refund until the show starts (what the box office
did before policies existed; a promoter sets real tiers per event)."""


@dataclass(frozen=True)
class TicketLine:
    """One ticket of an order as the rule needs it."""

    ticket_id: str
    price_cents: int
    entered: bool = False
    refunded: bool = False


@dataclass(frozen=True)
class Quote:
    """What a refund would return now. ``reason`` is None when the policy allows it at once;
    ``approvable`` says whether the promoter may still grant it (reason in NEEDS_APPROVAL)."""

    amount_cents: int
    percent: int
    fee_cents: int
    ticket_ids: tuple[str, ...]
    reason: str | None
    basis: str  # grace | tier | force_majeure | exception | none

    @property
    def within_policy(self) -> bool:
        return self.reason is None

    @property
    def approvable(self) -> bool:
        return self.reason in NEEDS_APPROVAL


def parse_policy(data: Mapping[str, Any]) -> RefundPolicy:
    """A policy from its JSON form (the API body and the snapshot); RuleError ``bad_policy``."""
    try:
        raw_tiers = data.get("tiers", [{"hours_before": 72, "percent": 100}])
        tiers = tuple((float(t["hours_before"]), int(t["percent"])) for t in raw_tiers)
        policy = RefundPolicy(
            tiers=tiers,
            grace_hours=float(data.get("grace_hours", 0)),
            cutoff_hours=float(data.get("cutoff_hours", 0)),
            fee_cents=int(data.get("fee_cents", 0)),
            scope=str(data.get("scope", "ticket")),
            once_per_account=bool(data.get("once_per_account", False)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise RuleError("bad_policy", f"refund policy: {exc}") from None
    check_policy(policy)
    return policy


def check_policy(policy: RefundPolicy) -> None:
    """Refuse terms that make no sense (negative hours, percent outside 0..100, ...)."""
    if policy.scope not in SCOPES:
        raise RuleError("bad_policy", f"refund policy: scope must be one of {', '.join(SCOPES)}")
    if policy.grace_hours < 0 or policy.cutoff_hours < 0 or policy.fee_cents < 0:
        raise RuleError("bad_policy", "refund policy: hours and fee must not be negative")
    seen: set[float] = set()
    for hours, percent in policy.tiers:
        if hours < 0 or not 0 <= percent <= 100:
            raise RuleError("bad_policy", "refund policy: tiers need hours_before >= 0 and percent 0..100")
        if hours in seen:
            raise RuleError("bad_policy", f"refund policy: two tiers at {hours:g} h")
        seen.add(hours)
    percents = [percent for _, percent in policy.tiers]
    if percents != sorted(percents, reverse=True):
        # Asking for a refund earlier must never return less than asking later.
        raise RuleError("bad_policy", "refund policy: a tier closer to the show cannot refund more")


def policy_json(policy: RefundPolicy) -> dict[str, Any]:
    """The JSON form (what the order snapshots and the API shows)."""
    return {
        "tiers": [{"hours_before": h, "percent": p} for h, p in policy.tiers],
        "grace_hours": policy.grace_hours,
        "cutoff_hours": policy.cutoff_hours,
        "fee_cents": policy.fee_cents,
        "scope": policy.scope,
        "once_per_account": policy.once_per_account,
    }


def percent_at(policy: RefundPolicy, *, purchased_at: float, starts_at: float, now: float) -> tuple[int, str]:
    """The percentage the policy grants at ``now`` and why: (percent, basis); 0 with the
    refusal reason as basis when there is no right."""
    left = starts_at - now
    if left <= 0:
        return 0, SHOW_STARTED
    if left < policy.cutoff_hours * HOUR:
        return 0, PAST_DEADLINE
    if now - purchased_at < policy.grace_hours * HOUR:
        return 100, "grace"
    for hours, percent in policy.tiers:
        if left >= hours * HOUR:
            return (percent, "tier") if percent > 0 else (0, PAST_DEADLINE)
    return 0, PAST_DEADLINE


def ticket_amount(price_cents: int, percent: int, fee_cents: int) -> int:
    """One ticket's refund: price x percent, rounded down to the fen, less the flat fee, >= 0."""
    return max(0, price_cents * percent // 100 - fee_cents)


def quote(
    policy: RefundPolicy,
    lines: Sequence[TicketLine],
    wanted: Sequence[str] | None,
    *,
    purchased_at: float,
    starts_at: float,
    now: float,
    remaining_cents: int,
    right_used: bool = False,
    force_majeure: bool = False,
    exception_percent: int | None = None,
) -> Quote:
    """How much refunding ``wanted`` tickets (None: every ticket still refundable) returns now.

    ``remaining_cents`` is what was paid minus refunds done *and pending*: the amount is capped
    by it, so concurrent requests can never together return more than was paid.
    ``right_used``: this account already used its one refund right for this show.
    """
    open_lines = [line for line in lines if not line.refunded]
    if wanted is None:
        chosen = open_lines
    else:
        by_id = {line.ticket_id: line for line in open_lines}
        chosen = [by_id[t] for t in dict.fromkeys(wanted) if t in by_id]
        if len(chosen) != len(set(wanted)):
            return Quote(0, 0, 0, (), NOTHING_TO_REFUND, "none")
    ids = tuple(line.ticket_id for line in chosen)
    if not chosen or remaining_cents <= 0:
        return Quote(0, 0, 0, ids, NOTHING_TO_REFUND, "none")
    if any(line.entered for line in chosen):
        return Quote(0, 0, 0, ids, ENTERED, "none")

    def priced(percent: int, fee: int, reason: str | None, basis: str) -> Quote:
        gross = sum(ticket_amount(line.price_cents, percent, fee) for line in chosen)
        kept = sum(min(fee, line.price_cents * percent // 100) for line in chosen)
        return Quote(min(gross, remaining_cents), percent, kept, ids, reason, basis)

    if force_majeure:
        return priced(100, 0, None, "force_majeure")
    if exception_percent is not None:
        return priced(max(0, min(100, exception_percent)), 0, None, "exception")
    percent, basis = percent_at(policy, purchased_at=purchased_at, starts_at=starts_at, now=now)
    fee = 0 if basis == "grace" else policy.fee_cents
    if percent == 0:
        return Quote(0, 0, 0, ids, basis, "none")
    if policy.scope == "order" and len(chosen) != len(lines):
        # Whole-order-only: a partial request (or an order already partly refunded) is outside it.
        return priced(percent, fee, WHOLE_ORDER_ONLY, basis)
    if policy.once_per_account and right_used:
        return priced(percent, fee, REFUND_RIGHT_USED, basis)
    return priced(percent, fee, None, basis)
