"""Huabei instalment arithmetic (box_office.core.instalments): properties over every amount, and
worked examples that pin the rounding rule."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from box_office.core import instalments
from box_office.core.instalments import InstalmentError, fee_cents, offers, plan

amounts = st.integers(min_value=instalments.MIN_AMOUNT_CENTS, max_value=instalments.MAX_AMOUNT_CENTS)
periods = st.sampled_from(instalments.PERIODS)
who = st.sampled_from(instalments.SELLER_PERCENTS)


@given(amounts, periods, who)
def test_periods_add_up_exactly_and_differ_by_the_remainder_only(amount: int, n: int, seller: int) -> None:
    p = plan(amount, n, seller)
    assert len(p.period_cents) == n == len(p.period_fee_cents)
    assert sum(p.period_cents) == p.buyer_total_cents == amount + p.buyer_fee_cents
    assert sum(p.period_fee_cents) == p.buyer_fee_cents
    assert all(c == p.period_cents[-1] for c in p.period_cents[1:])  # all but the first are equal
    assert 0 <= p.period_cents[0] - p.period_cents[-1] < 2 * n  # remainders of principal and fee
    assert all(isinstance(c, int) for c in p.period_cents)


@given(amounts, periods, who)
def test_who_pays_the_fee(amount: int, n: int, seller: int) -> None:
    p = plan(amount, n, seller)
    rate = instalments.DEFAULT_RATES_BPS[seller][n]
    assert p.fee_cents == fee_cents(amount, rate)
    if seller == 100:
        assert (p.buyer_fee_cents, p.seller_fee_cents) == (0, p.fee_cents)
        assert p.buyer_total_cents == amount and p.seller_receives_cents == amount - p.fee_cents
    else:
        assert (p.buyer_fee_cents, p.seller_fee_cents) == (p.fee_cents, 0)
        assert p.seller_receives_cents == amount


@given(amounts, st.integers(min_value=0, max_value=10_000))
def test_fee_is_rate_rounded_half_up_to_the_fen(amount: int, bps: int) -> None:
    fee = fee_cents(amount, bps)
    exact_times_10000 = amount * bps
    assert abs(fee * 10_000 - exact_times_10000) <= 5_000
    if exact_times_10000 % 10_000 == 5_000:
        assert fee * 10_000 > exact_times_10000  # halves go up


@given(amounts, who)
def test_longer_plans_never_cost_the_buyer_less(amount: int, seller: int) -> None:
    totals = [plan(amount, n, seller).buyer_total_cents for n in instalments.PERIODS]
    assert totals == sorted(totals)


def test_worked_examples() -> None:
    # 1000.00 CNY in 3, buyer pays 2.3 %: fee 23.00; principal 333.34 + 333.33 x2, fee 7.68 + 7.66 x2
    p = plan(100000, 3, 0)
    assert (p.fee_cents, p.period_fee_cents) == (2300, (768, 766, 766))
    assert p.period_cents == (34102, 34099, 34099)
    # 680.00 CNY in 12, buyer pays 7.5 %: fee 51.00; principal 56.66 x12 + 8 fen, fee 4.25 x12
    p = plan(68000, 12, 0)
    assert p.fee_cents == 5100
    assert p.period_cents[0] == 5666 + 8 + 425 and p.period_cents[1:] == (5666 + 425,) * 11
    # 199.99 in 6, promoter pays 4.5 %: 8.99955 → 9.00 to the promoter; buyer pays 33.33 + 34 fen first
    p = plan(19999, 6, 100)
    assert (p.fee_cents, p.buyer_fee_cents, p.seller_fee_cents) == (900, 0, 900)
    assert p.period_cents == (3334,) + (3333,) * 5


@pytest.mark.parametrize(
    ("amount", "n", "seller", "message"),
    [
        (100000, 4, 0, "hb_fq_num"),
        (100000, 3, 50, "seller_percent"),
        (9999, 3, 0, "amount"),
        (instalments.MAX_AMOUNT_CENTS + 1, 3, 0, "amount"),
    ],
)
def test_plans_alipay_would_refuse(amount: int, n: int, seller: int, message: str) -> None:
    with pytest.raises(InstalmentError, match=message):
        plan(amount, n, seller)


def test_offers_for_the_checkout() -> None:
    shown = offers(68000, 0, (3, 12))
    assert [o["periods"] for o in shown] == [3, 12]
    twelve = shown[1]
    assert twelve["buyer_fee_cents"] == 5100 and twelve["buyer_total_cents"] == 73100
    assert twelve["first_period_cents"] == 6099 and twelve["period_cents"] == 6091
    assert twelve["period_fee_cents"] == 425
    assert offers(5000, 0) == []  # below Huabei's 100 CNY
    assert all(o["buyer_fee_cents"] == 0 for o in offers(68000, 100))
