"""Two requests with one Idempotency-Key at the same moment make one order, on both databases.

A buyer's app that times out and retries, or a double tap, sends the same order twice; when
both arrive together neither sees the other's row, so it is the unique constraint (account +
key) that must turn the loser into "here is the order you already made" (200), not a second
order and not a 500."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.box_office.conftest import Server
from tests.box_office.helpers import Concert, hold

ROUNDS = 6
"""Each round is one race; a few rounds make it likely that at least some truly overlap."""


def _race(server: Server, buyer: httpx.Client, hold_id: int, key: str) -> list[httpx.Response]:
    start = threading.Barrier(2)
    headers = dict(buyer.headers) | {"Idempotency-Key": key}
    body = {"hold_id": hold_id, "email": "buyer@example.test"}

    def send() -> httpx.Response:
        with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
            start.wait(timeout=30)
            return client.post("/api/orders", json=body)

    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(lambda _: send(), range(2)))


def test_same_key_at_once_makes_one_order(server: Server) -> None:
    concert = Concert(server)
    buyer = concert.buyer()
    made_ids = []
    for round_ in range(ROUNDS):
        held = hold(buyer, concert.session_id, seats=[f"A-3-{round_ + 1}"])
        assert held.status_code == 201, held.text
        answers = _race(server, buyer, held.json()["id"], f"double-tap-{uuid.uuid4().hex}")
        assert sorted(a.status_code for a in answers) == [200, 201], [a.text for a in answers]
        first, second = (a.json() for a in answers)
        assert first["id"] == second["id"]
        assert first["total_cents"] == second["total_cents"]
        made_ids.append(first["id"])
    listed = buyer.get("/api/orders")
    assert listed.status_code == 200, listed.text
    assert sorted(o["id"] for o in listed.json()) == sorted(made_ids)
    assert len(set(made_ids)) == ROUNDS
