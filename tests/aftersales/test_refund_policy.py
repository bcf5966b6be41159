"""The refund policy arithmetic (core/refund_policy.py): every tier edge, and properties."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from box_office.core.errors import RuleError
from box_office.core.refund_policy import (
    ENTERED,
    HOUR,
    NOTHING_TO_REFUND,
    PAST_DEADLINE,
    REFUND_RIGHT_USED,
    SHOW_STARTED,
    WHOLE_ORDER_ONLY,
    RefundPolicy,
    TicketLine,
    check_policy,
    parse_policy,
    percent_at,
    policy_json,
    quote,
)

# 100 % for 48 h after purchase, then 80 / 70 / 60 %, nothing in the last 72 h.
CHINA = RefundPolicy(
    tiers=((720.0, 80), (168.0, 70), (72.0, 60)),
    grace_hours=48,
    cutoff_hours=72,
    fee_cents=500,
)
SHOW = 1_000_000_000.0
BOUGHT = SHOW - 2000 * HOUR


def at(hours_before: float, policy: RefundPolicy = CHINA, bought: float = BOUGHT) -> tuple[int, str]:
    return percent_at(policy, purchased_at=bought, starts_at=SHOW, now=SHOW - hours_before * HOUR)


@pytest.mark.parametrize(
    ("hours_before", "percent", "basis"),
    [
        (2000, 100, "grace"),  # right after buying
        (2000 - 48 + 1e-6, 100, "grace"),  # last instant of the grace period
        (2000 - 48, 80, "tier"),  # grace over exactly at 48 h
        (720, 80, "tier"),  # exactly at the tier edge: the higher tier
        (720 - 1e-6, 70, "tier"),
        (168, 70, "tier"),
        (168 - 1e-6, 60, "tier"),
        (72, 60, "tier"),  # the cutoff begins after exactly 72 h
        (72 - 1e-6, 0, PAST_DEADLINE),
        (1, 0, PAST_DEADLINE),
        (0, 0, SHOW_STARTED),
        (-5, 0, SHOW_STARTED),
    ],
)
def test_each_tier_edge(hours_before: float, percent: int, basis: str) -> None:
    assert at(hours_before) == (percent, basis)


def test_grace_never_overrides_the_cutoff() -> None:
    # bought 10 h before the show: in the grace period, but inside the last 72 h
    assert at(5, bought=SHOW - 10 * HOUR) == (0, PAST_DEADLINE)


def test_amounts_round_down_per_ticket_and_keep_the_fee() -> None:
    lines = [TicketLine("a", 33333), TicketLine("b", 10001)]
    q = quote(
        CHINA, lines, None, purchased_at=BOUGHT, starts_at=SHOW, now=SHOW - 200 * HOUR, remaining_cents=43334
    )
    # 70 %: 23333.1 -> 23333 - 500 ; 7000.7 -> 7000 - 500
    assert (q.amount_cents, q.percent, q.fee_cents, q.reason) == (22833 + 6500, 70, 1000, None)
    assert q.ticket_ids == ("a", "b")


def test_fee_never_makes_an_amount_negative() -> None:
    q = quote(
        CHINA,
        [TicketLine("a", 300)],
        None,
        purchased_at=BOUGHT,
        starts_at=SHOW,
        now=SHOW - 100 * HOUR,
        remaining_cents=300,
    )
    assert q.amount_cents == 0 and q.fee_cents == 180


def test_grace_has_no_fee() -> None:
    q = quote(
        CHINA,
        [TicketLine("a", 10000)],
        None,
        purchased_at=BOUGHT,
        starts_at=SHOW,
        now=BOUGHT + 60,
        remaining_cents=10000,
    )
    assert (q.amount_cents, q.basis) == (10000, "grace")


def test_remaining_caps_the_amount() -> None:
    q = quote(
        CHINA,
        [TicketLine("a", 10000)],
        None,
        purchased_at=BOUGHT,
        starts_at=SHOW,
        now=BOUGHT + 60,
        remaining_cents=2500,
    )
    assert q.amount_cents == 2500
    none_left = quote(
        CHINA,
        [TicketLine("a", 10000)],
        None,
        purchased_at=BOUGHT,
        starts_at=SHOW,
        now=BOUGHT + 60,
        remaining_cents=0,
    )
    assert none_left.reason == NOTHING_TO_REFUND and none_left.amount_cents == 0


def test_entered_is_refused_even_under_force_majeure() -> None:
    q = quote(
        CHINA,
        [TicketLine("a", 10000, entered=True)],
        None,
        purchased_at=BOUGHT,
        starts_at=SHOW,
        now=BOUGHT + 60,
        remaining_cents=10000,
        force_majeure=True,
    )
    assert q.reason == ENTERED and not q.approvable and q.amount_cents == 0


def test_force_majeure_and_exceptions_override_deadline_and_fee() -> None:
    common = dict(purchased_at=BOUGHT, starts_at=SHOW, now=SHOW - 1 * HOUR, remaining_cents=10000)
    assert quote(CHINA, [TicketLine("a", 10000)], None, **common).reason == PAST_DEADLINE  # type: ignore[arg-type]
    fm = quote(CHINA, [TicketLine("a", 10000)], None, force_majeure=True, **common)  # type: ignore[arg-type]
    assert (fm.amount_cents, fm.reason, fm.basis) == (10000, None, "force_majeure")
    ex = quote(CHINA, [TicketLine("a", 10000)], None, exception_percent=50, **common)  # type: ignore[arg-type]
    assert (ex.amount_cents, ex.reason) == (5000, None)


def test_whole_order_only_and_one_right_per_account() -> None:
    whole = RefundPolicy(tiers=((0.0, 90),), scope="order", once_per_account=True)
    lines = [TicketLine("a", 1000), TicketLine("b", 1000)]
    common = dict(purchased_at=BOUGHT, starts_at=SHOW, now=SHOW - 10 * HOUR, remaining_cents=2000)
    part = quote(whole, lines, ["a"], **common)  # type: ignore[arg-type]
    assert part.reason == WHOLE_ORDER_ONLY and part.approvable and part.amount_cents == 900
    assert quote(whole, lines, None, **common).reason is None  # type: ignore[arg-type]
    used = quote(whole, lines, None, right_used=True, **common)  # type: ignore[arg-type]
    assert used.reason == REFUND_RIGHT_USED and used.approvable


def test_unknown_or_already_refunded_ticket_is_nothing_to_refund() -> None:
    lines = [TicketLine("a", 1000, refunded=True), TicketLine("b", 1000)]
    common = dict(purchased_at=BOUGHT, starts_at=SHOW, now=SHOW - 100 * HOUR, remaining_cents=1000)
    assert quote(CHINA, lines, ["a"], **common).reason == NOTHING_TO_REFUND  # type: ignore[arg-type]
    assert quote(CHINA, lines, ["zzz"], **common).reason == NOTHING_TO_REFUND  # type: ignore[arg-type]
    assert quote(CHINA, lines, None, **common).ticket_ids == ("b",)  # type: ignore[arg-type]


def test_policy_json_round_trip_and_bad_policies() -> None:
    assert parse_policy(policy_json(CHINA)) == CHINA
    for bad in (
        {"scope": "seat"},
        {"tiers": [{"hours_before": 1, "percent": 101}]},
        {"tiers": [{"hours_before": -1, "percent": 10}]},
        {"tiers": [{"hours_before": 1, "percent": 10}, {"hours_before": 1, "percent": 20}]},
        {"fee_cents": -1},
        {"tiers": [{"hours_before": 100, "percent": 50}, {"hours_before": 10, "percent": 80}]},
        {"tiers": [{"percent": 10}]},
    ):
        with pytest.raises(RuleError) as caught:
            parse_policy(bad)
        assert caught.value.code == "bad_policy"


def _monotone(pairs: list[tuple[float, int]]) -> list[tuple[float, int]]:
    """Valid tiers: the earlier (more hours before the show), the larger the percentage."""
    hours = sorted((h for h, _ in pairs), reverse=True)
    percents = sorted((p for _, p in pairs), reverse=True)
    return list(zip(hours, percents, strict=True))


tiers = st.lists(
    st.tuples(st.integers(0, 2000).map(float), st.integers(0, 100)),
    min_size=0,
    max_size=5,
    unique_by=lambda t: t[0],
).map(_monotone)


@given(
    tiers=tiers,
    grace=st.integers(0, 100),
    cutoff=st.integers(0, 200),
    fee=st.integers(0, 5000),
    prices=st.lists(st.integers(0, 200_000), min_size=1, max_size=6),
    bought_before=st.floats(0, 3000),
    elapsed=st.floats(0, 3000),
    paid_extra=st.integers(-50_000, 0),
    force=st.booleans(),
)
def test_never_more_than_paid_and_more_time_never_pays_less(
    tiers: list[tuple[float, int]],
    grace: int,
    cutoff: int,
    fee: int,
    prices: list[int],
    bought_before: float,
    elapsed: float,
    paid_extra: int,
    force: bool,
) -> None:
    policy = RefundPolicy(tiers=tuple(tiers), grace_hours=grace, cutoff_hours=cutoff, fee_cents=fee)
    try:
        check_policy(policy)
    except RuleError:
        assume(False)
    lines = [TicketLine(str(i), p) for i, p in enumerate(prices)]
    bought = SHOW - bought_before * HOUR
    now = bought + elapsed * HOUR
    remaining = max(0, sum(prices) + paid_extra)
    q = quote(
        policy,
        lines,
        None,
        purchased_at=bought,
        starts_at=SHOW,
        now=now,
        remaining_cents=remaining,
        force_majeure=force,
    )
    assert 0 <= q.amount_cents <= remaining
    assert q.amount_cents <= sum(prices)
    if q.reason is not None:
        assert q.percent == 0 or q.reason in {WHOLE_ORDER_ONLY, REFUND_RIGHT_USED}
    # After the grace period, asking earlier (more time before the show) never returns less.
    later = now + HOUR
    if now - bought >= grace * HOUR and not force:
        a = percent_at(policy, purchased_at=bought, starts_at=SHOW, now=now)[0]
        b = percent_at(policy, purchased_at=bought, starts_at=SHOW, now=later)[0]
        assert a >= b


def test_token_bucket_keeps_to_the_rate() -> None:
    from box_office.aftersales.bulk import Buckets, TokenBucket

    clock = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    bucket = TokenBucket(10.0, burst=2.0, clock=lambda: clock[0], sleep=sleep)
    for _ in range(12):
        bucket.take()
    # two at once (the burst), then one every 0.1 s: 12 calls take 1.0 s
    assert abs(clock[0] - 1.0) < 1e-9 and len(slept) == 10
    buckets = Buckets(5.0)
    assert buckets.for_provider("wechatpay") is buckets.for_provider("wechatpay")
    assert buckets.for_provider("wechatpay") is not buckets.for_provider("alipay")
