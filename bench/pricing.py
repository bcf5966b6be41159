"""µs of CPU per priced order line through the pricing pipeline with 20 active campaigns.

Usage: ``python bench/pricing.py`` (pure CPU, no database: the pipeline of
``box_office.core.pricing_pipeline``). An order of 4 lines across 3 zones is priced with 20
campaigns active (6 early-bird/flash/group replacements, 4 member prices, 6 N-for-M and
threshold rules, 4 promoter price changes) plus a coupon, and, for the floor, with none.
Reports CPU time (``time.process_time``) per line, best of 5 runs: the machine is shared.
"""

from __future__ import annotations

import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from box_office.core import pricing_pipeline as pp

LINES = [
    pp.LineIn("1", 1, "A", "adult", 20000),
    pp.LineIn("2", 1, "A", "child", 10000),
    pp.LineIn("3", 1, "VIP", "adult", 50000),
    pp.LineIn("4", 1, "FLOOR", "adult", 15000),
]
ALL = frozenset({pp.MEMBER, pp.AUTO, pp.COUPON})


def twenty() -> tuple[pp.Campaigns, list[pp.PriceChange]]:
    replacements = tuple(
        pp.Replacement(
            f"r{i}",
            f"phase {i}",
            ("early_bird", "flash", "group")[i % 3],
            pp.Adjust(pp.PERCENT_OFF, 500 + 100 * i),
            priority=i,
            scope=pp.Scope(zones=frozenset({("A", "VIP", "FLOOR")[i % 3]})),
            ends_at=10_000.0,
            quantity_left=100 if i % 2 else None,
            stacks_with=ALL,
        )
        for i in range(6)
    )
    members = tuple(
        pp.MemberPrice(
            f"m{i}", f"member {i}", ("gold", "silver")[i % 2], pp.Adjust(pp.AMOUNT_OFF, 500 * (i + 1))
        )
        for i in range(4)
    )
    rules: tuple[pp.AutoRule, ...] = tuple(
        pp.NForM(f"n{i}", "3 for 2", 3, 2, scope=pp.Scope(zones=frozenset({"X"})), priority=i)
        for i in range(3)
    ) + tuple(
        pp.Threshold(f"t{i}", "threshold", 30000 * (i + 1), pp.Adjust(pp.AMOUNT_OFF, 1000)) for i in range(3)
    )
    changes = [
        pp.PriceChange(i, ("A", "VIP", "FLOOR", "A")[i], 19000 + i, made_at=float(i)) for i in range(4)
    ]
    return pp.Campaigns(replacements, members, rules), changes


def price(campaigns: pp.Campaigns, changes: list[pp.PriceChange], ctx: pp.PricingContext) -> int:
    lines = [
        pp.LineIn(
            line.key,
            line.session_id,
            line.zone,
            line.ticket_type,
            pp.list_price(
                line.list_cents,
                changes,
                session_id=1,
                zone=line.zone,
                ticket_type=line.ticket_type,
                at=ctx.at,
            ),
        )
        for line in LINES
    ]
    return pp.price_order(lines, campaigns, ctx).total_cents


def per_line_us(
    campaigns: pp.Campaigns, changes: list[pp.PriceChange], ctx: pp.PricingContext, n: int
) -> float:
    best = float("inf")
    for _ in range(5):
        start = time.process_time()
        for _ in range(n):
            price(campaigns, changes, ctx)
        best = min(best, time.process_time() - start)
    return best / (n * len(LINES)) * 1e6


def main() -> None:
    campaigns, changes = twenty()
    coupon = pp.CouponTerms("c", "10% max 50", pp.PERCENT_OFF, 1000, cap_cents=5000)
    ctx = pp.PricingContext(at=100.0, member_tiers=frozenset({"gold"}), coupon=coupon)
    count = len(campaigns.replacements) + len(campaigns.members) + len(campaigns.rules) + len(changes)
    loaded = per_line_us(campaigns, changes, ctx, 4000)
    floor = per_line_us(pp.NO_CAMPAIGNS, [], pp.PricingContext(at=100.0), 4000)
    print(f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print(f"campaigns active: {count} + a coupon")
    print(f"µs CPU per priced order line, 20 campaigns + coupon: {loaded:.1f}")
    print(f"µs CPU per priced order line, no campaigns: {floor:.1f}")


if __name__ == "__main__":
    main()
