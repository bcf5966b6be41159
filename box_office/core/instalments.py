"""Huabei (花呗分期) instalment arithmetic: pure, integer fen, no I/O.

Alipay lets a buyer split a payment into 3, 6 or 12 monthly periods (``hb_fq_num``); the
instalment fee is paid either entirely by the buyer (``hb_fq_seller_percent = 0``) or entirely by
the seller (``= 100``) — no other split is accepted by the gateway. The promoter chooses who pays
(a per-event setting); the checkout shows the buyer what each period costs before paying.

Fee rates (the whole-term fee as a share of the order amount): the table Alipay publishes on
its 花呗分期 product page (opendocs.alipay.com/open/277/105952, section 费率). That page could not
be fetched from this offline workplace, so the figures below are the widely quoted ones and MUST
be checked against the promoter's own Alipay contract (they are a parameter, ``rates=``). The
parameter rules themselves (only 3/6/12; 0 or 100; "每期支付费用 = (金额 + 手续费) / 期数") are
confirmed by Alipay's integration notes as quoted at blog.csdn.net/bloodyer/article/details/78560514
and developer.aliyun.com/article/710927:

=======  ==================  ===================
periods  buyer pays the fee  seller pays the fee
=======  ==================  ===================
3        2.30 %              1.80 %
6        4.50 %              4.50 %
12       7.50 %              7.50 %
=======  ==================  ===================

Rates are contractual and Alipay may change them: they are given here in basis points and a
promoter's contract can override them (``rates=``). The gateway's cashier is the authority on what
is finally charged; these figures are what we show before the buyer leaves for it.

Rounding (documented so that the shown periods always add up to the exact total):

* total fee = amount × rate, rounded half up to the fen (``(amount * bps + 5000) // 10000``);
* the principal and the fee are each split evenly per period, rounded down to the fen, and the
  remainder (fewer fen than there are periods) goes on the FIRST period — so period 1 may be a
  few fen more than the others, and the periods sum exactly to amount (+ fee when the buyer pays).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

PERIODS: tuple[int, ...] = (3, 6, 12)
SELLER_PERCENTS: tuple[int, ...] = (0, 100)
#: Whole-term fee in basis points (1/100 of a percent), by who pays: buyer (0) or seller (100).
DEFAULT_RATES_BPS: Mapping[int, Mapping[int, int]] = {
    0: {3: 230, 6: 450, 12: 750},
    100: {3: 180, 6: 450, 12: 750},
}
#: Alipay suggests Huabei instalments only from 100 CNY up (smaller orders may be refused).
MIN_AMOUNT_CENTS = 100_00
MAX_AMOUNT_CENTS = 100_000_000_00  # Alipay's total_amount ceiling (100,000,000 yuan)


class InstalmentError(ValueError):
    """A plan Alipay would not accept (periods, seller percent, amount)."""


@dataclass(frozen=True)
class InstalmentPlan:
    """What a Huabei plan costs: per period and in total, all integer fen."""

    periods: int
    seller_percent: int
    amount_cents: int  # the order amount (what the merchant asks Alipay to collect)
    fee_cents: int  # the whole instalment fee
    buyer_fee_cents: int  # the part the buyer pays (fee or 0)
    seller_fee_cents: int  # the part the promoter pays (0 or fee)
    period_cents: tuple[int, ...]  # what the buyer pays each period (principal + buyer's fee)
    period_fee_cents: tuple[int, ...]  # the buyer's fee inside each period

    @property
    def buyer_total_cents(self) -> int:
        return self.amount_cents + self.buyer_fee_cents

    @property
    def seller_receives_cents(self) -> int:
        """What the promoter is left with before Alipay's ordinary processing charge."""
        return self.amount_cents - self.seller_fee_cents


def _split(total: int, periods: int) -> tuple[int, ...]:
    """``total`` in ``periods`` parts: even, rounded down, remainder on the first part."""
    base, remainder = divmod(total, periods)
    return (base + remainder,) + (base,) * (periods - 1)


def check(periods: int, seller_percent: int) -> None:
    if periods not in PERIODS:
        raise InstalmentError(f"hb_fq_num must be one of {PERIODS}, not {periods}")
    if seller_percent not in SELLER_PERCENTS:
        raise InstalmentError(f"hb_fq_seller_percent must be 0 or 100, not {seller_percent}")


def fee_cents(amount_cents: int, rate_bps: int) -> int:
    """amount × rate rounded half up to the fen, without floating point."""
    return (amount_cents * rate_bps + 5_000) // 10_000


def plan(
    amount_cents: int,
    periods: int,
    seller_percent: int,
    rates: Mapping[int, Mapping[int, int]] = DEFAULT_RATES_BPS,
    min_amount_cents: int = MIN_AMOUNT_CENTS,
) -> InstalmentPlan:
    """The plan for paying ``amount_cents`` in ``periods`` with the fee paid by the buyer (0)
    or the seller (100). InstalmentError for a plan Alipay would refuse."""
    check(periods, seller_percent)
    if not isinstance(amount_cents, int) or isinstance(amount_cents, bool):
        raise InstalmentError("amount must be integer fen")
    if amount_cents < min_amount_cents or amount_cents > MAX_AMOUNT_CENTS:
        raise InstalmentError(
            f"Huabei instalments need an amount between {min_amount_cents} and {MAX_AMOUNT_CENTS} fen"
        )
    fee = fee_cents(amount_cents, rates[seller_percent][periods])
    buyer_fee = fee if seller_percent == 0 else 0
    principal = _split(amount_cents, periods)
    fees = _split(buyer_fee, periods)
    return InstalmentPlan(
        periods=periods,
        seller_percent=seller_percent,
        amount_cents=amount_cents,
        fee_cents=fee,
        buyer_fee_cents=buyer_fee,
        seller_fee_cents=fee - buyer_fee,
        period_cents=tuple(p + f for p, f in zip(principal, fees, strict=True)),
        period_fee_cents=fees,
    )


def offers(
    amount_cents: int,
    seller_percent: int,
    allowed_periods: tuple[int, ...] = PERIODS,
    rates: Mapping[int, Mapping[int, int]] = DEFAULT_RATES_BPS,
    min_amount_cents: int = MIN_AMOUNT_CENTS,
) -> list[dict[str, int]]:
    """What the checkout shows for an order: one entry per period count the promoter allows
    (none when the amount is outside Huabei's range). Each entry gives the first period (which
    carries any rounding remainder), the other periods, the buyer's fee per period and in total."""
    if amount_cents < min_amount_cents or amount_cents > MAX_AMOUNT_CENTS:
        return []
    shown = []
    for periods in allowed_periods:
        p = plan(amount_cents, periods, seller_percent, rates, min_amount_cents)
        shown.append(
            {
                "periods": periods,
                "seller_percent": seller_percent,
                "first_period_cents": p.period_cents[0],
                "period_cents": p.period_cents[-1],
                "period_fee_cents": p.period_fee_cents[-1],
                "buyer_fee_cents": p.buyer_fee_cents,
                "buyer_total_cents": p.buyer_total_cents,
            }
        )
    return shown
