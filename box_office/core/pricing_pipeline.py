"""The pricing pipeline: every promotion that can change a ticket's price, in one explainable pass. No I/O.

Why one pipeline: early-bird phases, flash prices, group-buy prices, member prices, "3 for 2",
order-value thresholds and coupons all change the same number. Applied ad hoc they stack in
surprising ways (a coupon on top of a group price the promoter already sells at a loss) and
nobody can say afterwards why a buyer paid what they paid. Here they are layers, applied in a
fixed order, each to the result of the previous one:

1. **list price** — the zone's price for the ticket type, with the promoter's price changes
   (:func:`list_price`) as of the pricing instant (the hold's creation: the price seen is the
   price paid);
2. **replacement** — at most ONE of: an early-bird phase (until a date and/or the first N
   tickets), a flash price (own stock), a group-buy price. Several may apply: the highest
   ``priority`` wins (then the smallest id), the others are not applied at all;
3. **member** — a member price or discount for a tier the buyer holds;
4. **automatic rules** — N tickets for the price of M, order-value thresholds; in priority
   order, each line consumed by at most one rule;
5. **coupon** — one coupon per order; its threshold is judged on the eligible lines' subtotal
   after layer 4.

Which later layers may follow is configured per campaign (``stacks_with``): a line priced by
a group-buy campaign whose ``stacks_with`` lacks ``"coupon"`` never gets a coupon discount.
Every change is recorded as a :class:`Step` (layer, rule, before, after), so each line's
breakdown adds up from its list price to what the buyer pays.

Rounding (the one rule, everywhere): amounts are integer fen. A percentage discount is
``floor(price × basis_points / 10000)``: rounded down, in the buyer's price terms rounded
up, so no discount ever exceeds what the promoter configured. An order-level amount (a
threshold rule, a 满减 or percentage coupon) is split over its lines in proportion to their
prices, each share rounded down, and the fen left over go one by one to the lines from the
last one backwards that still have room. No price ever goes below zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

LIST = "list"
REPLACE = "replace"
MEMBER = "member"
AUTO = "auto"
COUPON = "coupon"
LAYERS = (LIST, REPLACE, MEMBER, AUTO, COUPON)
STACKABLE = frozenset({MEMBER, AUTO, COUPON})
"""The layers a campaign may allow after itself."""

SET = "set"
AMOUNT_OFF = "amount_off"
PERCENT_OFF = "percent_off"
FIXED_PRICE = "fixed_price"
BASIS = 10_000
"""Percentages are basis points: 1000 = 10 %, 10000 = 100 %."""


class PricingError(ValueError):
    """A campaign or coupon that cannot be priced (a configuration mistake or a refused coupon)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Scope:
    """Which lines a campaign touches; an empty set means "all"."""

    sessions: frozenset[int] = frozenset()
    zones: frozenset[str] = frozenset()
    ticket_types: frozenset[str] = frozenset()

    def matches(self, line: LineIn) -> bool:
        return (
            (not self.sessions or line.session_id in self.sessions)
            and (not self.zones or line.zone in self.zones)
            and (not self.ticket_types or line.ticket_type in self.ticket_types)
        )


ALL = Scope()


@dataclass(frozen=True, slots=True)
class LineIn:
    """One ticket to price: ``list_cents`` is its price before any promotion."""

    key: str
    session_id: int
    zone: str
    ticket_type: str
    list_cents: int


@dataclass(frozen=True, slots=True)
class Adjust:
    """How a campaign changes one price.

    ``set``: the price becomes ``value`` (or ``prices[zone]`` when the zone is listed);
    ``amount_off``: ``value`` fen off; ``percent_off``: ``value`` basis points off.
    """

    mode: str
    value: int = 0
    prices: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.mode not in (SET, AMOUNT_OFF, PERCENT_OFF):
            raise PricingError("bad_campaign", f"unknown price change {self.mode!r}")
        if self.value < 0 or any(p < 0 for p in self.prices.values()):
            raise PricingError("bad_campaign", "prices and discounts cannot be negative")
        if self.mode == PERCENT_OFF and self.value > BASIS:
            raise PricingError("bad_campaign", "a percentage discount is at most 100 % (10000)")

    def apply(self, price: int, zone: str) -> int:
        if self.mode == SET:
            return max(0, self.prices.get(zone, self.value))
        if self.mode == AMOUNT_OFF:
            return max(0, price - self.value)
        return max(0, price - percent_of(price, self.value))


@dataclass(frozen=True, slots=True)
class Replacement:
    """A layer-2 price: ``early_bird`` (a phase), ``flash`` (its own stock) or ``group`` (group-buy).

    It applies while ``starts_at <= at < ends_at`` (either may be None) to at most
    ``quantity_left`` lines (None: no limit; the adapter passes first-N minus already sold, or the
    flash stock left). A ``group`` price applies only to an order that joins or opens a group of
    this campaign (:attr:`PricingContext.group_campaign`).
    """

    id: str
    name: str
    kind: str
    adjust: Adjust
    priority: int = 0
    scope: Scope = ALL
    starts_at: float | None = None
    ends_at: float | None = None
    quantity_left: int | None = None
    stacks_with: frozenset[str] = frozenset()

    def live(self, ctx: PricingContext) -> bool:
        if self.kind == "group" and ctx.group_campaign != self.id:
            return False
        if self.starts_at is not None and ctx.at < self.starts_at:
            return False
        return self.ends_at is None or ctx.at < self.ends_at


@dataclass(frozen=True, slots=True)
class MemberPrice:
    """A member price (``set``) or discount for holders of ``tier``."""

    id: str
    name: str
    tier: str
    adjust: Adjust
    scope: Scope = ALL
    stacks_with: frozenset[str] = frozenset({AUTO, COUPON})


@dataclass(frozen=True, slots=True)
class NForM:
    """Every ``n`` matching tickets cost the price of ``m``: the cheapest ``n - m`` of each group are free."""

    id: str
    name: str
    n: int
    m: int
    scope: Scope = ALL
    priority: int = 0
    stacks_with: frozenset[str] = frozenset({COUPON})

    def __post_init__(self) -> None:
        if not 0 <= self.m < self.n:
            raise PricingError("bad_campaign", "N for M needs 0 <= M < N")


@dataclass(frozen=True, slots=True)
class Threshold:
    """An order-value rule: matching lines worth at least ``min_cents`` get ``adjust``
    (``amount_off`` or ``percent_off``) on their subtotal, split over them."""

    id: str
    name: str
    min_cents: int
    adjust: Adjust
    scope: Scope = ALL
    priority: int = 0
    stacks_with: frozenset[str] = frozenset({COUPON})

    def __post_init__(self) -> None:
        if self.adjust.mode == SET:
            raise PricingError("bad_campaign", "a threshold rule takes an amount or a percentage off")


AutoRule = NForM | Threshold


@dataclass(frozen=True, slots=True)
class CouponTerms:
    """What a coupon does: ``amount_off`` above ``threshold_cents`` (满减), ``percent_off`` (basis
    points) capped at ``cap_cents``, or ``fixed_price`` per ticket."""

    id: str
    name: str
    kind: str
    value: int
    threshold_cents: int = 0
    cap_cents: int | None = None
    scope: Scope = ALL

    def __post_init__(self) -> None:
        if self.kind not in (AMOUNT_OFF, PERCENT_OFF, FIXED_PRICE):
            raise PricingError("bad_coupon", f"unknown coupon kind {self.kind!r}")
        if self.value < 0 or self.threshold_cents < 0 or (self.cap_cents or 0) < 0:
            raise PricingError("bad_coupon", "coupon amounts cannot be negative")
        if self.kind == PERCENT_OFF and self.value > BASIS:
            raise PricingError("bad_coupon", "a percentage coupon is at most 100 % (10000)")


@dataclass(frozen=True, slots=True)
class Campaigns:
    """Everything active for a session; built by the adapter from the promoter's configuration."""

    replacements: tuple[Replacement, ...] = ()
    members: tuple[MemberPrice, ...] = ()
    rules: tuple[AutoRule, ...] = ()


NO_CAMPAIGNS = Campaigns()


@dataclass(frozen=True, slots=True)
class PricingContext:
    """Who buys and when: ``at`` is the pricing instant (the hold's creation)."""

    at: float
    member_tiers: frozenset[str] = frozenset()
    group_campaign: str | None = None
    coupon: CouponTerms | None = None


@dataclass(frozen=True, slots=True)
class Step:
    """One change to one line's price: which layer and rule, from what to what."""

    layer: str
    rule: str
    name: str
    before: int
    after: int

    @property
    def delta(self) -> int:
        return self.after - self.before

    def as_dict(self) -> dict[str, object]:
        return {
            "layer": self.layer,
            "rule": self.rule,
            "name": self.name,
            "before": self.before,
            "after": self.after,
            "delta": self.delta,
        }


@dataclass(frozen=True, slots=True)
class PricedLine:
    key: str
    list_cents: int
    price_cents: int
    steps: tuple[Step, ...]

    def breakdown(self) -> list[dict[str, object]]:
        return [s.as_dict() for s in self.steps]


@dataclass(frozen=True, slots=True)
class PricedOrder:
    lines: tuple[PricedLine, ...]
    total_cents: int
    coupon_cents: int
    """What the coupon took off in all (what its budget is charged)."""
    used: Mapping[str, int]
    """Lines priced by each quantity-limited replacement (the adapter takes that stock)."""


def percent_of(amount: int, basis_points: int) -> int:
    """``basis_points`` of ``amount``, rounded down to the fen (the module's rounding rule)."""
    return amount * basis_points // BASIS


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split ``total`` fen over lines in proportion to ``weights`` (their prices), no share above
    its weight: shares rounded down, the fen left over to the last lines with room first."""
    room = sum(weights)
    total = min(total, room)
    if total <= 0 or room <= 0:
        return [0] * len(weights)
    shares = [total * w // room for w in weights]
    left = total - sum(shares)
    index = len(weights) - 1
    while left > 0:
        if shares[index] < weights[index]:
            shares[index] += 1
            left -= 1
        index = index - 1 if index > 0 else len(weights) - 1
    return shares


def list_price(
    default_cents: int,
    changes: Iterable[PriceChange],
    *,
    session_id: int,
    zone: str,
    ticket_type: str,
    at: float,
) -> int:
    """The list price at ``at``: the promoter's most specific change in force then, else the default.

    A change counts only if it was made at or before ``at`` (so a hold keeps the prices it was
    made under) and ``at`` is inside its period. More specific beats less (a ticket type named
    beats "all types", a session named beats "all sessions"); then the latest made wins.
    """
    best: tuple[int, int, float, int] | None = None
    price = default_cents
    for change in changes:
        if change.zone != zone or change.made_at > at:
            continue
        if change.ticket_type is not None and change.ticket_type != ticket_type:
            continue
        if change.session_id is not None and change.session_id != session_id:
            continue
        if change.valid_from is not None and at < change.valid_from:
            continue
        if change.valid_until is not None and at >= change.valid_until:
            continue
        rank = (
            change.ticket_type is not None,
            change.session_id is not None,
            change.made_at,
            change.id,
        )
        key = (int(rank[0]), int(rank[1]), rank[2], rank[3])
        if best is None or key > best:
            best, price = key, change.price_cents
    return price


@dataclass(frozen=True, slots=True)
class PriceChange:
    """A promoter's price for a zone (optionally one ticket type, one session, one period)."""

    id: int
    zone: str
    price_cents: int
    made_at: float
    ticket_type: str | None = None
    session_id: int | None = None
    valid_from: float | None = None
    valid_until: float | None = None


class _Line:
    """A line being priced: its current price, its steps, the layers still allowed."""

    __slots__ = ("allowed", "auto_done", "line", "price", "steps")

    def __init__(self, line: LineIn) -> None:
        if line.list_cents < 0:
            raise PricingError("bad_price", f"{line.key}: a list price cannot be negative")
        self.line = line
        self.price = line.list_cents
        self.steps: list[Step] = []
        self.allowed: frozenset[str] = STACKABLE
        self.auto_done = False

    def change(self, layer: str, rule: str, name: str, new_price: int, *, always: bool = False) -> None:
        """Record a step when the price changes (a replacement always: it decides what may follow)."""
        new_price = max(0, new_price)
        if always or new_price != self.price:
            self.steps.append(Step(layer, rule, name, self.price, new_price))
            self.price = new_price


def price_order(lines: Sequence[LineIn], campaigns: Campaigns, ctx: PricingContext) -> PricedOrder:
    """Price every line of one order through the layers; see the module's docstring."""
    work = [_Line(line) for line in lines]
    used = _replace(work, campaigns.replacements, ctx)
    _member(work, campaigns.members, ctx)
    for rule in sorted(campaigns.rules, key=lambda r: (-r.priority, r.id)):
        if isinstance(rule, NForM):
            _n_for_m(work, rule)
        else:
            _threshold(work, rule)
    coupon_cents = _coupon(work, ctx.coupon) if ctx.coupon is not None else 0
    priced = tuple(PricedLine(w.line.key, w.line.list_cents, w.price, tuple(w.steps)) for w in work)
    return PricedOrder(priced, sum(p.price_cents for p in priced), coupon_cents, used)


def _replace(work: list[_Line], replacements: Sequence[Replacement], ctx: PricingContext) -> dict[str, int]:
    ranked = sorted((r for r in replacements if r.live(ctx)), key=lambda r: (-r.priority, r.id))
    used: dict[str, int] = {}
    for item in work:
        for campaign in ranked:
            if not campaign.scope.matches(item.line):
                continue
            taken = used.get(campaign.id, 0)
            if campaign.quantity_left is not None and taken >= campaign.quantity_left:
                continue
            used[campaign.id] = taken + 1
            item.change(
                REPLACE,
                campaign.id,
                campaign.name,
                campaign.adjust.apply(item.price, item.line.zone),
                always=True,
            )
            item.allowed = campaign.stacks_with & STACKABLE
            break  # exclusive: one replacement per line
    limited = {r.id for r in ranked if r.quantity_left is not None}
    return {k: v for k, v in used.items() if k in limited}


def _member(work: list[_Line], members: Sequence[MemberPrice], ctx: PricingContext) -> None:
    offers = [m for m in members if m.tier in ctx.member_tiers]
    if not offers:
        return
    for item in work:
        if MEMBER not in item.allowed:
            continue
        best: tuple[int, MemberPrice] | None = None
        for offer in offers:
            if offer.scope.matches(item.line):
                # a member price never raises a price: it is a benefit
                candidate = min(item.price, offer.adjust.apply(item.price, item.line.zone))
                if best is None or candidate < best[0]:
                    best = (candidate, offer)
        if best is not None:
            item.change(MEMBER, best[1].id, best[1].name, best[0])
            item.allowed = item.allowed & best[1].stacks_with


def _eligible_for_auto(work: list[_Line], scope: Scope) -> list[_Line]:
    return [w for w in work if AUTO in w.allowed and not w.auto_done and scope.matches(w.line)]


def _n_for_m(work: list[_Line], rule: NForM) -> None:
    matching = sorted(_eligible_for_auto(work, rule.scope), key=lambda w: (-w.price, w.line.key))
    for start in range(0, len(matching) - rule.n + 1, rule.n):
        group = matching[start : start + rule.n]
        for item in group[rule.m :]:
            item.change(AUTO, rule.id, rule.name, 0)
        for item in group:
            item.auto_done = True
            item.allowed = item.allowed & rule.stacks_with


def _threshold(work: list[_Line], rule: Threshold) -> None:
    matching = _eligible_for_auto(work, rule.scope)
    subtotal = sum(w.price for w in matching)
    if not matching or subtotal < rule.min_cents:
        return
    off = rule.adjust.value if rule.adjust.mode == AMOUNT_OFF else percent_of(subtotal, rule.adjust.value)
    for item, share in zip(matching, allocate(off, [w.price for w in matching]), strict=True):
        item.change(AUTO, rule.id, rule.name, item.price - share)
        item.auto_done = True
        item.allowed = item.allowed & rule.stacks_with


def _coupon(work: list[_Line], coupon: CouponTerms) -> int:
    """Apply the coupon; returns the fen it took off. PricingError when it cannot apply."""
    eligible = [w for w in work if COUPON in w.allowed and coupon.scope.matches(w.line)]
    if not eligible:
        raise PricingError("coupon_not_applicable", f"coupon {coupon.name} does not apply to these tickets")
    subtotal = sum(w.price for w in eligible)
    if subtotal < coupon.threshold_cents:
        raise PricingError(
            "coupon_threshold",
            f"coupon {coupon.name} needs {coupon.threshold_cents} fen of eligible tickets, "
            f"these are {subtotal}",
        )
    before = sum(w.price for w in eligible)
    if coupon.kind == FIXED_PRICE:
        for item in eligible:
            item.change(COUPON, coupon.id, coupon.name, min(item.price, coupon.value))
    else:
        off = coupon.value if coupon.kind == AMOUNT_OFF else percent_of(subtotal, coupon.value)
        if coupon.cap_cents is not None:
            off = min(off, coupon.cap_cents)
        for item, share in zip(eligible, allocate(off, [w.price for w in eligible]), strict=True):
            item.change(COUPON, coupon.id, coupon.name, item.price - share)
    return before - sum(w.price for w in eligible)
