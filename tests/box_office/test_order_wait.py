"""``GET /api/orders/{id}?wait=S``: the buyer's request is held until the order settles.

Over real HTTP on SQLite and PostgreSQL, plus the watcher on its own: an order settled by
another process (seen only through the shared look-up) wakes its waiters too.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from box_office.sales.order_watch import OrderWatch
from tests.box_office.conftest import Server
from tests.box_office.helpers import Concert, hold, order, pay


def test_wait_returns_when_the_tickets_are_issued(server: Server) -> None:
    concert = Concert(server)
    buyer = concert.buyer()
    made = order(buyer, hold(buyer, concert.session_id, seats=["A-1-4"]).json()["id"]).json()
    answer: dict[str, Any] = {}
    watcher = concert.server.client(buyer.headers["Authorization"].removeprefix("Bearer "))
    sent = threading.Event()
    watcher.event_hooks["request"].append(lambda _request: sent.set())

    def waiter() -> None:
        response = watcher.get(f"/api/orders/{made['id']}", params={"wait": 20}, timeout=60)
        answer.update(status=response.status_code, body=response.json(), answered_at=time.monotonic())

    thread = threading.Thread(target=waiter)
    thread.start()
    assert sent.wait(30), "the waiting request was never sent"
    paying_from = time.monotonic()
    assert thread.is_alive(), "the request came back before the order was paid"
    pay(buyer, made["id"])
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert answer["status"] == 200 and answer["body"]["status"] == "ticketed"
    assert answer["answered_at"] > paying_from  # held until the payment, not answered pending
    assert all(t["token"] for t in answer["body"]["tickets"])
    # Settled already: answered at once with the tickets, not held for the 20 s asked.
    again = buyer.get(f"/api/orders/{made['id']}", params={"wait": 20})
    assert again.json()["status"] == "ticketed"


def test_wait_times_out_with_the_current_order(server: Server) -> None:
    concert = Concert(server)
    buyer = concert.buyer()
    made = order(buyer, hold(buyer, concert.session_id, seats=["A-1-6"]).json()["id"]).json()
    started = time.monotonic()
    response = buyer.get(f"/api/orders/{made['id']}", params={"wait": 0.6})
    assert response.status_code == 200 and response.json()["status"] == "pending_payment"
    assert time.monotonic() - started >= 0.6  # held for the wait asked (a timer never fires early)


@pytest.mark.parametrize("wait", ["31", "-1", "soon"])
def test_bad_wait_is_refused(server: Server, wait: str) -> None:
    concert = Concert(server)
    buyer = concert.buyer()
    made = order(buyer, hold(buyer, concert.session_id, seats=["A-1-8"]).json()["id"]).json()
    response = buyer.get(f"/api/orders/{made['id']}", params={"wait": wait})
    assert response.status_code == 422 and "wait" in response.json()["detail"]


def test_another_buyers_order_is_refused_without_waiting(server: Server) -> None:
    concert = Concert(server)
    owner, other = concert.buyer(), concert.buyer()
    made = order(owner, hold(owner, concert.session_id, seats=["A-1-9"]).json()["id"]).json()
    response = other.get(f"/api/orders/{made['id']}", params={"wait": 30})
    assert response.status_code == 403  # at once: the client's 30 s timeout would fail it otherwise


async def test_watch_sees_orders_settled_elsewhere_with_one_lookup_per_tick() -> None:
    statuses = {1: "pending_payment", 2: "pending_payment", 3: "paid"}
    lookups: list[list[int]] = []

    def lookup(ids: list[int]) -> dict[int, str]:
        lookups.append(sorted(ids))
        return {i: statuses[i] for i in ids}

    watch = OrderWatch(lookup, interval=0.02)
    waiters = [asyncio.create_task(watch.wait(i, 5)) for i in (1, 2, 3)]
    async with asyncio.timeout(5):  # two looks have happened (no fixed sleep: wait for them)
        while len(lookups) < 2:
            await asyncio.sleep(0.005)
    assert not any(w.done() for w in waiters)
    assert all(ids == [1, 2, 3] for ids in lookups)  # one look for all waiters
    statuses[2] = "ticketed"  # another process issued order 2
    await asyncio.wait_for(waiters[1], 1)
    assert not waiters[0].done() and not waiters[2].done()
    watch.settled([1])  # this process settled order 1: woken without a look
    await asyncio.wait_for(waiters[0], 1)
    statuses[3] = "expired"
    await asyncio.wait_for(waiters[2], 1)
    loop_task = watch._task
    assert loop_task is not None
    await asyncio.wait_for(loop_task, 1)  # with nobody waiting the look-up loop ends by itself
    count = len(lookups)
    assert loop_task.done() and watch._task is loop_task and len(lookups) == count
