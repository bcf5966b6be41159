"""Coupon redemption is atomic: 200 buyers racing for the last 50 uses redeem exactly 50; racing
for a budget, it is never exceeded; a coupon comes back when its order is cancelled or expires.
Over HTTP, against the box office on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from typing import Any

import httpx

from box_office.context import Context
from box_office.promotions.coupons import sweep_returns
from tests.box_office.conftest import Server
from tests.box_office.helpers import Concert, grid, hold, order, pay, wait_status
from tests.promotions.helpers import coupon

BUYERS = 200


async def _send(client: httpx.AsyncClient, method: str, url: str, **kw: Any) -> httpx.Response:
    """Honour the waiting room (429 + Retry-After) like a real app."""
    for _ in range(300):
        response = await client.request(method, url, **kw)
        if response.status_code != 429:
            return response
        kw["headers"] = kw.get("headers", {}) | {"X-Queue-Ticket": response.headers["X-Queue-Ticket"]}
        await asyncio.sleep(float(response.headers["Retry-After"]) * random.uniform(0.3, 1.0))
    raise AssertionError(f"{method} {url}: still queued")


async def _buyer_with_hold(client: httpx.AsyncClient, session_id: int) -> tuple[dict[str, str], int]:
    made = await _send(client, "POST", "/api/accounts", json={"email": f"{uuid.uuid4().hex[:10]}@race.test"})
    headers = {"Authorization": f"Bearer {made.json()['token']}"}
    held = await _send(
        client,
        "POST",
        f"/api/sessions/{session_id}/holds",
        json={"ga": [{"area": "FLOOR", "quantity": 1}]},
        headers=headers,
    )
    assert held.status_code == 201, held.text
    return headers, int(held.json()["id"])


async def _order(
    client: httpx.AsyncClient, headers: dict[str, str], hold_id: int, code: str
) -> httpx.Response:
    return await _send(
        client,
        "POST",
        "/api/orders",
        json={"hold_id": hold_id, "email": "r@race.test", "coupon": code},
        headers=headers | {"Idempotency-Key": uuid.uuid4().hex},
    )


async def _race(
    server: Server, session_id: int, first: list[str], second: str
) -> tuple[list[httpx.Response], list[httpx.Response]]:
    """Round one: each buyer its own single-use code of one coupon (so only the coupon's counters
    are shared); round two: the losers all type one shared code."""
    # 64 requests in flight at once; no keep-alive: a pooled connection the server closed while idle
    # (uvicorn drops them after 5 s) would fail the next request with a ReadError
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=server.url, timeout=120, limits=limits) as client:
        buyers = await asyncio.gather(*(_buyer_with_hold(client, session_id) for _ in range(BUYERS)))
        start = asyncio.Event()

        async def go(headers: dict[str, str], hold_id: int, code: str) -> httpx.Response:
            await start.wait()
            return await _order(client, headers, hold_id, code)

        tasks = [
            asyncio.create_task(go(h, hold_id, code))
            for (h, hold_id), code in zip(buyers, first, strict=True)
        ]
        start.set()
        round_one = await asyncio.gather(*tasks)
        losers = [b for b, r in zip(buyers, round_one, strict=True) if r.status_code != 201]
        start = asyncio.Event()
        tasks = [asyncio.create_task(go(h, hold_id, second)) for h, hold_id in losers]
        start.set()
        round_two = await asyncio.gather(*tasks)
    return round_one, round_two


def test_two_hundred_buyers_race_for_the_last_fifty_uses_and_a_budget(server: Server) -> None:
    concert = Concert(server, layout=grid(ga=BUYERS))
    uses = coupon(concert, kind="amount_off", value=1000, max_uses=50, per_buyer=1)
    codes = concert.org.post(f"/api/coupons/{uses['id']}/codes", json={"count": BUYERS}).json()["codes"]
    budget = coupon(concert, kind="percent_off", value=1000, budget_cents=40 * 1500 + 700, code="BUDGET")
    round_one, round_two = asyncio.run(_race(server, concert.session_id, codes, "BUDGET"))

    won = [r for r in round_one if r.status_code == 201]
    assert len(won) == 50, sorted({(r.status_code, r.text[:80]) for r in round_one if r.status_code != 201})
    assert all(r.json()["total_cents"] == 15000 - 1000 for r in won)
    assert {r.json()["code"] for r in round_one if r.status_code != 201} == {"coupon_used_up"}
    report = concert.org.get(f"/api/coupons/{uses['id']}").json()
    assert report["uses"] == 50 and report["spent_cents"] == 50 * 1000 and report["redemptions"]["held"] == 50

    # 10 % of 15000 = 1500 per order: the budget (40 x 1500 + 700) lets exactly 40 through
    won_two = [r for r in round_two if r.status_code == 201]
    assert len(won_two) == 40
    assert {r.json()["code"] for r in round_two if r.status_code != 201} == {"coupon_budget"}
    report = concert.org.get(f"/api/coupons/{budget['id']}").json()
    assert report["spent_cents"] == 40 * 1500 <= report["budget_cents"]


def test_coupon_comes_back_when_its_order_is_cancelled_or_expires(server: Server) -> None:
    concert = Concert(server, session={"hold_seconds": 2})
    single = coupon(concert, kind="fixed_price", value=100, max_uses=1, code="ONLYONE")

    def take(buyer: httpx.Client) -> httpx.Response:
        held = hold(buyer, concert.session_id, best_available={"zone": "A", "quantity": 1})
        assert held.status_code == 201, held.text
        return order(buyer, held.json()["id"], coupon="ONLYONE")

    first = concert.buyer()
    made = take(first)
    assert made.status_code == 201 and made.json()["total_cents"] == 100
    second = concert.buyer()
    assert take(second).json()["code"] == "coupon_used_up"
    cancelled = first.post(f"/api/orders/{made.json()['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    again = take(second)
    assert again.status_code == 201, again.text  # the cancelled order gave its use back
    # this one is never paid: once it expires, the use comes back to the next buyer
    deadline = time.monotonic() + 20
    third = concert.buyer()
    while True:
        attempt = take(third)
        if attempt.status_code == 201:
            break
        assert attempt.json()["code"] == "coupon_used_up"
        assert time.monotonic() < deadline, "the expired order never gave its coupon back"
        time.sleep(0.3)
    assert second.get(f"/api/orders/{again.json()['id']}").json()["status"] == "expired"
    report = concert.org.get(f"/api/coupons/{single['id']}").json()
    assert report["uses"] == 1 and report["redemptions"] == {"held": 1, "returned": 2}


def test_codes_claims_and_per_buyer_limits(server: Server) -> None:
    concert = Concert(server)
    personal = coupon(
        concert, kind="percent_off", value=2000, cap_cents=3000, valid_days=7, max_issued=3, per_buyer=1
    )
    buyer = concert.buyer()
    claimed = buyer.post(f"/api/coupons/claim/{personal['claim_token']}")
    assert claimed.status_code == 200 and claimed.json()["created"] is True
    code = claimed.json()["code"]
    assert len(code) == 12 and claimed.json()["expires_at"] > time.time() + 6 * 86400
    assert (
        buyer.post(f"/api/coupons/claim/{personal['claim_token']}").json()["code"] == code
    )  # once per buyer
    other = concert.buyer()
    held = hold(other, concert.session_id, best_available={"zone": "A", "quantity": 1})
    stolen = order(other, held.json()["id"], coupon=code)
    assert stolen.status_code == 403 and stolen.json()["code"] == "coupon_not_yours"
    held = hold(buyer, concert.session_id, best_available={"zone": "VIP", "quantity": 1})
    made = order(buyer, held.json()["id"], coupon=code)
    assert made.status_code == 201 and made.json()["total_cents"] == 50000 - 3000  # 20 % capped at 3000
    held = hold(buyer, concert.session_id, best_available={"zone": "A", "quantity": 1})
    again = order(buyer, held.json()["id"], coupon=code)
    assert again.status_code == 409 and again.json()["code"] == "coupon_limit_buyer"

    codes = concert.org.post(f"/api/coupons/{personal['id']}/codes", json={"count": 2})
    assert codes.status_code == 201 and len(set(codes.json()["codes"])) == 2
    over = concert.org.post(f"/api/coupons/{personal['id']}/codes", json={"count": 1})
    assert over.status_code == 409 and over.json()["code"] == "coupon_issued_out"
    bulk = codes.json()["codes"][0]
    user = concert.buyer()
    held = hold(user, concert.session_id, best_available={"zone": "A", "quantity": 1})
    assert order(user, held.json()["id"], coupon=bulk).status_code == 201
    late = concert.buyer()
    held = hold(late, concert.session_id, best_available={"zone": "A", "quantity": 1})
    reused = order(late, held.json()["id"], coupon=bulk)
    assert reused.status_code in (403, 409) and reused.json()["code"] in ("coupon_used", "coupon_not_yours")
    stranger = Concert(server)
    assert stranger.org.get(f"/api/coupons/{personal['id']}").status_code == 403
    report = concert.org.get(f"/api/coupons/{personal['id']}/redemptions.csv")
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/csv")
    lines = report.text.strip().splitlines()
    assert lines[0].startswith("redemption,order,buyer,discount_cents") and len(lines) == 1 + 2 + 2
    assert stranger.org.get(f"/api/coupons/{personal['id']}/redemptions.csv").status_code == 403


def test_a_refund_gives_the_coupon_back_only_when_the_campaign_says_so(server: Server) -> None:
    concert = Concert(server)
    back = coupon(
        concert,
        kind="amount_off",
        value=1000,
        max_uses=5,
        return_on_refund=True,
        code="BACK" + uuid.uuid4().hex[:6],
    )
    kept = coupon(concert, kind="amount_off", value=1000, max_uses=5, code="KEPT" + uuid.uuid4().hex[:6])
    for made in (back, kept):
        buyer = concert.buyer()
        held = hold(buyer, concert.session_id, best_available={"zone": "A", "quantity": 1})
        ordered = order(buyer, held.json()["id"], coupon=made["code"])
        assert ordered.status_code == 201 and ordered.json()["total_cents"] == 19000
        pay(buyer, ordered.json()["id"])
        assert wait_status(buyer, ordered.json()["id"], "ticketed")["status"] == "ticketed"
        refunded = buyer.post(f"/api/orders/{ordered.json()['id']}/cancel")
        assert refunded.status_code == 200 and refunded.json()["status"] == "refunded"
    ctx = Context.from_settings(server.settings)
    try:
        assert sweep_returns(ctx) >= 1
    finally:
        ctx.db.dispose()
    assert concert.org.get(f"/api/coupons/{back['id']}").json()["uses"] == 0
    assert concert.org.get(f"/api/coupons/{kept['id']}").json()["uses"] == 1
