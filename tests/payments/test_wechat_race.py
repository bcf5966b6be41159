"""Fifty buyers at once for twenty standing places, each paying through the WeChat Pay emulator
(real SDK, real notifications): every place sold once, never more; every payment either
ticketed or refunded."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from tests.box_office.helpers import Concert, grid
from tests.payments.conftest import WeChatWorld, wait_for
from tests.payments.wechat_helpers import buyer_pays, count, order_now, start

BUYERS = 50
PLACES = 20


def _one_buyer(wx: WeChatWorld, concert: Concert) -> dict[str, Any] | None:
    buyer = concert.buyer()
    held = buyer.post(
        f"/api/sessions/{concert.session_id}/holds", json={"ga": [{"area": "FLOOR", "quantity": 1}]}
    )
    if held.status_code != 201:
        assert held.status_code in (409, 429), held.text
        return None
    made = buyer.post(
        "/api/orders",
        json={"hold_id": held.json()["id"], "email": "racer@example.test"},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert made.status_code == 201, made.text
    for _ in range(20):  # the admission control may ask to come back (429)
        answer = start(buyer, made.json()["id"])
        if answer.status_code != 429:
            break
    assert answer.status_code == 201, answer.text
    assert buyer_pays(wx, answer.json()["pay_url"]).status_code == 302
    return {"buyer": buyer, "order_id": made.json()["id"]}


def test_fifty_buyers_twenty_places_no_oversell(wx: WeChatWorld) -> None:
    concert = Concert(wx.server, layout=grid(rows=1, seats=2, ga=PLACES))
    with ThreadPoolExecutor(max_workers=12) as pool:
        outcomes = list(pool.map(lambda _: _one_buyer(wx, concert), range(BUYERS)))
    paying = [o for o in outcomes if o is not None]
    assert len(paying) == PLACES  # a place held is a place paid for

    def settled() -> list[str] | None:
        statuses = [order_now(o["buyer"], o["order_id"])["status"] for o in paying]
        return statuses if all(s in ("ticketed", "expired") for s in statuses) else None

    statuses = wait_for(settled, timeout=60, what="every payment settled")
    assert statuses.count("ticketed") == PLACES
    valid = count(
        wx,
        "SELECT count(*) FROM tickets t JOIN orders o ON o.id = t.order_id "
        "WHERE o.session_id = :s AND t.status = 'valid'",
        s=concert.session_id,
    )
    assert valid == PLACES
    floor = httpx.get(f"{wx.server.url}/api/sessions/{concert.session_id}", timeout=30).json()
    area = next(a for a in floor["ga"] if a["code"] == "FLOOR")
    assert (area["sold"], area["held"], area["available"]) == (PLACES, 0, 0)
