"""The pricing pipeline: worked examples for each layer, and Hypothesis properties over random
campaigns (total = sum of lines, each breakdown adds up, never negative, exclusivity honoured)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from box_office.core.pricing_pipeline import (
    AMOUNT_OFF,
    AUTO,
    COUPON,
    FIXED_PRICE,
    MEMBER,
    NO_CAMPAIGNS,
    PERCENT_OFF,
    REPLACE,
    SET,
    Adjust,
    Campaigns,
    CouponTerms,
    LineIn,
    MemberPrice,
    NForM,
    PriceChange,
    PricingContext,
    PricingError,
    Replacement,
    Scope,
    Threshold,
    allocate,
    list_price,
    price_order,
)


def lines(*prices: int, zone: str = "A") -> list[LineIn]:
    return [LineIn(f"l{i}", 1, zone, "adult", p) for i, p in enumerate(prices)]


def test_no_campaigns_is_the_list_price() -> None:
    priced = price_order(lines(20000, 15000), NO_CAMPAIGNS, PricingContext(at=0))
    assert [p.price_cents for p in priced.lines] == [20000, 15000]
    assert priced.total_cents == 35000 and all(p.steps == () for p in priced.lines)


def test_highest_priority_replacement_wins_and_only_one_applies() -> None:
    early = Replacement("early", "Early bird", "early_bird", Adjust(SET, 12000), priority=1, ends_at=100)
    flash = Replacement("flash", "Flash", "flash", Adjust(SET, 9900), priority=5, quantity_left=1)
    priced = price_order(lines(20000, 20000), Campaigns(replacements=(early, flash)), PricingContext(at=50))
    assert [p.price_cents for p in priced.lines] == [9900, 12000]
    assert [[s.rule for s in p.steps] for p in priced.lines] == [["flash"], ["early"]]
    assert priced.used == {"flash": 1}
    late = price_order(lines(20000), Campaigns(replacements=(early,)), PricingContext(at=100))
    assert late.total_cents == 20000  # the early-bird period is over


def test_group_price_only_for_a_group_order() -> None:
    group = Replacement("g", "Group", "group", Adjust(PERCENT_OFF, 3000))
    campaigns = Campaigns(replacements=(group,))
    assert price_order(lines(10000), campaigns, PricingContext(at=0)).total_cents == 10000
    assert price_order(lines(10000), campaigns, PricingContext(at=0, group_campaign="g")).total_cents == 7000


def test_member_then_rule_then_coupon_with_breakdown() -> None:
    campaigns = Campaigns(
        replacements=(
            Replacement(
                "eb",
                "Early",
                "early_bird",
                Adjust(AMOUNT_OFF, 1000),
                stacks_with=frozenset({MEMBER, AUTO, COUPON}),
            ),
        ),
        members=(MemberPrice("gold", "Gold price", "gold", Adjust(PERCENT_OFF, 1000)),),
        rules=(Threshold("t", "300 off 5000", 50000, Adjust(AMOUNT_OFF, 3000)),),
    )
    coupon = CouponTerms("c", "10% max 20", PERCENT_OFF, 1000, cap_cents=2000)
    ctx = PricingContext(at=0, member_tiers=frozenset({"gold"}), coupon=coupon)
    priced = price_order(lines(20000, 20000, 20000), campaigns, ctx)
    # 20000 -1000 = 19000, member 10% -> 17100 each (51300), threshold 3000 split -> 48300,
    # coupon 10% of 48300 = 4830, capped to 2000
    assert priced.total_cents == 48300 - 2000
    assert priced.coupon_cents == 2000
    first = priced.lines[0]
    assert [s.layer for s in first.steps] == [REPLACE, MEMBER, AUTO, COUPON]
    assert first.list_cents + sum(s.delta for s in first.steps) == first.price_cents


def test_replacement_can_forbid_coupon() -> None:
    flash = Replacement("f", "Flash", "flash", Adjust(SET, 5000), stacks_with=frozenset())
    coupon = CouponTerms("c", "Ten off", AMOUNT_OFF, 1000)
    with pytest.raises(PricingError) as refused:
        price_order(lines(20000), Campaigns(replacements=(flash,)), PricingContext(at=0, coupon=coupon))
    assert refused.value.code == "coupon_not_applicable"


def test_three_for_two_frees_the_cheapest_of_each_three() -> None:
    rule = NForM("3for2", "3 for 2", 3, 2)
    priced = price_order(lines(300, 100, 200, 500), Campaigns(rules=(rule,)), PricingContext(at=0))
    assert [p.price_cents for p in priced.lines] == [300, 100, 0, 500]


def test_coupon_threshold_and_fixed_price() -> None:
    manjian = CouponTerms("mj", "满300减50", AMOUNT_OFF, 5000, threshold_cents=30000)
    with pytest.raises(PricingError) as refused:
        price_order(lines(20000), NO_CAMPAIGNS, PricingContext(at=0, coupon=manjian))
    assert refused.value.code == "coupon_threshold"
    priced = price_order(lines(20000, 10001), NO_CAMPAIGNS, PricingContext(at=0, coupon=manjian))
    assert priced.total_cents == 30001 - 5000 and priced.coupon_cents == 5000
    fixed = CouponTerms("fx", "All at 99", FIXED_PRICE, 9900, scope=Scope(zones=frozenset({"A"})))
    mixed = [*lines(20000), LineIn("vip", 1, "VIP", "adult", 50000), LineIn("cheap", 1, "A", "adult", 5000)]
    priced = price_order(mixed, NO_CAMPAIGNS, PricingContext(at=0, coupon=fixed))
    assert [p.price_cents for p in priced.lines] == [9900, 50000, 5000]  # never raises a price


def test_percent_rounding_is_down_on_the_discount() -> None:
    coupon = CouponTerms("c", "33.33%", PERCENT_OFF, 3333)
    priced = price_order(lines(999), NO_CAMPAIGNS, PricingContext(at=0, coupon=coupon))
    assert priced.coupon_cents == 999 * 3333 // 10000 == 332
    assert priced.total_cents == 667


def test_allocate_is_exact_and_bounded() -> None:
    assert allocate(10, [1, 1, 1]) == [1, 1, 1]
    assert allocate(100, [1, 2, 3]) == [1, 2, 3]
    assert sum(allocate(7, [5, 5, 5])) == 7


def test_list_price_changes_by_zone_type_session_period_and_time_made() -> None:
    changes = [
        PriceChange(1, "A", 18000, made_at=10),
        PriceChange(2, "A", 16000, made_at=20, ticket_type="adult"),
        PriceChange(3, "A", 15000, made_at=30, valid_from=100, valid_until=200),
        PriceChange(4, "A", 99, made_at=40, session_id=2),
    ]

    def at(t: float, ticket_type: str = "adult", session_id: int = 1) -> int:
        return list_price(20000, changes, session_id=session_id, zone="A", ticket_type=ticket_type, at=t)

    assert at(5) == 20000  # nothing made yet: the hold keeps the old price
    assert at(15) == 18000
    assert at(25) == 16000 and at(25, "child") == 18000
    assert at(150, "child") == 15000  # the period's change is newer than the general one
    assert at(150) == 16000  # a change for the ticket type is more specific
    assert at(250, "child") == 18000  # after the period
    assert at(50, "child", session_id=2) == 99 and at(50, "child") == 18000


# --- properties -------------------------------------------------------------------------

layers_subset = st.frozensets(st.sampled_from([MEMBER, AUTO, COUPON]))
zones = st.sampled_from(["A", "B", "VIP"])
scopes = st.builds(
    Scope,
    zones=st.frozensets(zones, max_size=2),
    ticket_types=st.frozensets(st.sampled_from(["adult", "child"]), max_size=1),
)
adjusts = st.one_of(
    st.builds(Adjust, st.just(SET), st.integers(0, 100_000)),
    st.builds(Adjust, st.just(AMOUNT_OFF), st.integers(0, 100_000)),
    st.builds(Adjust, st.just(PERCENT_OFF), st.integers(0, 10_000)),
)
replacements = st.builds(
    Replacement,
    id=st.sampled_from(["r1", "r2", "r3", "r4"]),
    name=st.just("phase"),
    kind=st.sampled_from(["early_bird", "flash", "group"]),
    adjust=adjusts,
    priority=st.integers(0, 3),
    scope=scopes,
    starts_at=st.one_of(st.none(), st.integers(0, 100).map(float)),
    ends_at=st.one_of(st.none(), st.integers(0, 100).map(float)),
    quantity_left=st.one_of(st.none(), st.integers(0, 5)),
    stacks_with=layers_subset,
)
members = st.builds(
    MemberPrice,
    id=st.sampled_from(["m1", "m2"]),
    name=st.just("member"),
    tier=st.sampled_from(["gold", "silver"]),
    adjust=adjusts,
    scope=scopes,
    stacks_with=layers_subset,
)
rules = st.one_of(
    st.integers(1, 4).flatmap(
        lambda n: st.builds(
            NForM,
            id=st.just(f"n{n}"),
            name=st.just("nform"),
            n=st.just(n + 1),
            m=st.integers(0, n),
            scope=scopes,
            priority=st.integers(0, 3),
            stacks_with=layers_subset,
        )
    ),
    st.builds(
        Threshold,
        id=st.sampled_from(["t1", "t2"]),
        name=st.just("threshold"),
        min_cents=st.integers(0, 200_000),
        adjust=st.one_of(
            st.builds(Adjust, st.just(AMOUNT_OFF), st.integers(0, 100_000)),
            st.builds(Adjust, st.just(PERCENT_OFF), st.integers(0, 10_000)),
        ),
        scope=scopes,
        priority=st.integers(0, 3),
        stacks_with=layers_subset,
    ),
)
coupons = st.builds(
    CouponTerms,
    id=st.just("c"),
    name=st.just("coupon"),
    kind=st.sampled_from([AMOUNT_OFF, PERCENT_OFF, FIXED_PRICE]),
    value=st.integers(0, 10_000),
    threshold_cents=st.integers(0, 100_000),
    cap_cents=st.one_of(st.none(), st.integers(0, 50_000)),
    scope=scopes,
)
order_lines = st.lists(
    st.builds(
        LineIn,
        key=st.uuids().map(str),
        session_id=st.just(1),
        zone=zones,
        ticket_type=st.sampled_from(["adult", "child"]),
        list_cents=st.integers(0, 200_000),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=400, deadline=None)
@given(
    order_lines,
    st.lists(replacements, max_size=4, unique_by=lambda r: r.id),
    st.lists(members, max_size=2, unique_by=lambda m: m.id),
    st.lists(rules, max_size=3, unique_by=lambda r: r.id),
    st.one_of(st.none(), coupons),
    st.integers(0, 100).map(float),
    st.frozensets(st.sampled_from(["gold", "silver"])),
    st.one_of(st.none(), st.sampled_from(["r1", "r2"])),
)
def test_pipeline_properties(
    items: list[LineIn],
    repl: list[Replacement],
    mems: list[MemberPrice],
    auto: list[NForM | Threshold],
    coupon: CouponTerms | None,
    at: float,
    tiers: frozenset[str],
    group: str | None,
) -> None:
    campaigns = Campaigns(tuple(repl), tuple(mems), tuple(auto))
    ctx = PricingContext(at=at, member_tiers=tiers, group_campaign=group, coupon=coupon)
    try:
        priced = price_order(items, campaigns, ctx)
    except PricingError as refused:
        assert coupon is not None and refused.code in ("coupon_threshold", "coupon_not_applicable")
        return
    # total = sum of lines
    assert priced.total_cents == sum(p.price_cents for p in priced.lines)
    by_id = {r.id: r for r in repl}
    coupon_total = 0
    for line, item in zip(priced.lines, items, strict=True):
        # never negative; each breakdown adds up from the list price, step by step
        assert line.price_cents >= 0
        running = item.list_cents
        for step in line.steps:
            assert step.before == running and step.after >= 0
            running = step.after
        assert running == line.price_cents == item.list_cents + sum(s.delta for s in line.steps)
        # layers in order, at most one replacement, at most one auto rule, at most one coupon
        order = [s.layer for s in line.steps]
        assert order == sorted(order, key=[REPLACE, MEMBER, AUTO, COUPON].index)
        assert order.count(REPLACE) <= 1 and order.count(AUTO) <= 1 and order.count(COUPON) <= 1
        replaced = [s.rule for s in line.steps if s.layer == REPLACE]
        # the winner by priority: no unlimited live campaign for this line ranks above it
        unlimited = [r for r in repl if r.quantity_left is None and r.live(ctx) and r.scope.matches(item)]
        assert replaced or not unlimited
        if replaced:
            winner = by_id[replaced[0]]
            assert all((-r.priority, r.id) >= (-winner.priority, winner.id) for r in unlimited)
        if replaced:
            # exclusivity: a replacement that forbids a later layer keeps it out
            chosen = [r for r in repl if r.id == replaced[0]]
            allowed = set.union(*(set(r.stacks_with) for r in chosen))
            for layer in (MEMBER, AUTO, COUPON):
                if layer in order and all(layer not in r.stacks_with for r in chosen):
                    raise AssertionError(f"{layer} applied after a replacement forbidding it ({allowed})")
            assert by_id[replaced[0]].live(ctx)
        coupon_total += -sum(s.delta for s in line.steps if s.layer == COUPON)
    assert priced.coupon_cents == coupon_total >= 0
    if coupon is not None and coupon.kind != FIXED_PRICE and coupon.cap_cents is not None:
        assert priced.coupon_cents <= coupon.cap_cents
    for campaign_id, count in priced.used.items():
        limit = by_id[campaign_id].quantity_left
        assert limit is not None and count <= limit
    assert sum(p.price_cents for p in priced.lines) <= sum(max(i.list_cents, 0) for i in items) or any(
        a.mode == SET for a in [r.adjust for r in repl]
    )


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 10**9), st.lists(st.integers(0, 10**7), min_size=1, max_size=20))
def test_allocate_properties(total: int, weights: list[int]) -> None:
    shares = allocate(total, weights)
    assert sum(shares) == min(total, sum(weights))
    assert all(0 <= s <= w for s, w in zip(shares, weights, strict=True))
