"""Zero oversell: 200 concurrent buyers over HTTP race for the last 50 seats and the last 50 GA
places, against ``box-office serve --workers 2`` on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from box_office.store.db import Database
from tests.box_office.conftest import database_url, drop_postgres, free_port

BUYERS = 200


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A real two-process box office; yields (base URL, database URL)."""
    url = database_url(request.param, tmp_path, "box_office_race")
    port = free_port()
    env = os.environ | {
        "BOX_OFFICE_STATE_DIR": str(tmp_path / "state"),
        "BOX_OFFICE_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "box_office.cli",
            "serve",
            "--port",
            str(port),
            "--workers",
            "2",
            "--database-url",
            url,
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "server.log").open("wb"),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"box office did not start: {process.stderr.read().decode() if process.stderr else ''}"
                )
            time.sleep(0.2)
        yield base, url
    finally:
        process.terminate()
        process.wait(timeout=20)
        if request.param == "postgres":
            drop_postgres(url)


def setup_concert(base: str) -> tuple[int, list[str], str]:
    """100 seats of which 50 are already blocked: the last 50 seats; a GA floor of 50."""
    client = httpx.Client(base_url=base, timeout=30)
    token = client.post("/api/organisers", json={"name": "Race"}).json()["token"]
    org = httpx.Client(base_url=base, timeout=30, headers={"Authorization": f"Bearer {token}"})
    layout = {
        "name": "Race Hall",
        "sections": [
            {
                "code": "A",
                "rows": [
                    {"code": str(r), "seats": [{"number": str(n)} for n in range(1, 11)]}
                    for r in range(1, 11)
                ],
            }
        ],
        "ga_areas": [{"code": "FLOOR", "capacity": 50}],
    }
    venue = org.post("/api/venues", json=layout).json()["id"]
    zones = [
        {"code": "A", "name": "A", "price_cents": 10000},
        {"code": "F", "name": "Floor", "price_cents": 5000},
    ]
    event = org.post("/api/events", json={"name": "Race", "venue_id": venue, "zones": zones}).json()["id"]
    now = time.time()
    session = org.post(
        f"/api/events/{event}/sessions",
        json={
            "name": "Race night",
            "starts_at": now + 86400,
            "ends_at": now + 90000,
            "default_zone": "A",
            "ga": [{"area": "FLOOR", "zone": "F"}],
        },
    ).json()["id"]
    blocked = [f"A-{r}-{n}" for r in range(1, 6) for n in range(1, 11)]
    assert (
        org.post(
            f"/api/sessions/{session}/seats/status", json={"seats": blocked, "status": "blocked"}
        ).status_code
        == 200
    )
    last = [f"A-{r}-{n}" for r in range(6, 11) for n in range(1, 11)]
    return session, last, token


async def one_buyer(raw: httpx.AsyncClient, session: int, last: list[str], ga: bool) -> tuple[str, list[int]]:
    """Create an account, hold (a random seat, then best available; or a GA place), order, pay.

    Like a real app, the buyer waits and tries again when the box office's waiting room
    answers 429 with Retry-After (those answers are recorded too)."""
    statuses: list[int] = []
    client = _Patient(raw, statuses)
    made = await client.post("/api/accounts", json={"email": f"{uuid.uuid4().hex[:10]}@race.test"})
    headers = {"Authorization": f"Bearer {made.json()['token']}"}
    bodies = (
        [{"ga": [{"area": "FLOOR", "quantity": 1}]}]
        if ga
        else [{"seats": [random.choice(last)]}, {"best_available": {"zone": "A", "quantity": 1}}]
    )
    held = None
    for body in bodies:
        response = await client.post(f"/api/sessions/{session}/holds", json=body, headers=headers)
        statuses.append(response.status_code)
        if response.status_code == 201:
            held = response.json()
            break
    if held is None:
        return "no seat", statuses
    response = await client.post(
        "/api/orders",
        json={"hold_id": held["id"], "email": "r@race.test"},
        headers=headers | {"Idempotency-Key": uuid.uuid4().hex},
    )
    statuses.append(response.status_code)
    order = response.json()
    response = await client.post(f"/api/orders/{order['id']}/payments", json={}, headers=headers)
    statuses.append(response.status_code)
    response = await client.post(response.json()["pay_url"])
    statuses.append(response.status_code)
    for _ in range(200):
        current = (await client.get(f"/api/orders/{order['id']}", headers=headers)).json()
        if current["status"] == "ticketed":
            return "bought", statuses
        await asyncio.sleep(0.1)
    return "stuck", statuses


class _Patient:
    """An httpx client that honours 429 + Retry-After (with jitter), recording every 429."""

    def __init__(self, client: httpx.AsyncClient, statuses: list[int]) -> None:
        self._client = client
        self._statuses = statuses

    async def post(self, url: str, **kw: Any) -> httpx.Response:
        return await self._send("POST", url, **kw)

    async def get(self, url: str, **kw: Any) -> httpx.Response:
        return await self._send("GET", url, **kw)

    async def _send(self, method: str, url: str, **kw: Any) -> httpx.Response:
        for _ in range(MAX_QUEUE_RETRIES):
            response = await self._client.request(method, url, **kw)
            if response.status_code != 429:
                return response
            self._statuses.append(429)
            kw["headers"] = kw.get("headers", {}) | {"X-Queue-Ticket": response.headers["X-Queue-Ticket"]}
            await asyncio.sleep(float(response.headers["Retry-After"]) * random.uniform(0.3, 1.0))
        raise AssertionError(f"{method} {url}: still queued after {MAX_QUEUE_RETRIES} tries (429)")


MAX_QUEUE_RETRIES = 300
"""A buyer honours 429 + Retry-After, but not forever: a waiting room that never lets a buyer
in fails the test instead of hanging it (300 tries is minutes of waiting at 1 s a try)."""


async def race(base: str, session: int, last: list[str]) -> list[tuple[str, list[int]]]:
    limits = httpx.Limits(max_connections=BUYERS * 2)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as client:
        tasks = [one_buyer(client, session, last, ga=(i % 2 == 1)) for i in range(BUYERS * 2)]
        return await asyncio.gather(*tasks)


@pytest.mark.slow
def test_no_oversell_under_a_200_buyer_race(served: tuple[str, str]) -> None:
    base, url = served
    session, last, _ = setup_concert(base)
    results = asyncio.run(race(base, session, last))
    statuses = [code for _, codes in results for code in codes]
    assert not [code for code in statuses if code >= 500], "no request may fail with a 5xx"
    assert not [code for code in statuses if code not in (200, 201, 409, 429)]
    outcomes = [outcome for outcome, _ in results]
    assert outcomes.count("stuck") == 0
    assert outcomes.count("bought") == 100
    db = Database(url)
    try:
        with db.read() as s:
            seat_tickets = (
                s.execute(
                    text(
                        "SELECT seat_label FROM tickets"
                        " WHERE session_id = :s AND status = 'valid' AND seat_label IS NOT NULL"
                    ),
                    {"s": session},
                )
                .scalars()
                .all()
            )
            ga_tickets = s.execute(
                text(
                    "SELECT count(*) FROM tickets"
                    " WHERE session_id = :s AND status = 'valid' AND ga_id IS NOT NULL"
                ),
                {"s": session},
            ).scalar_one()
            sold_seats = s.execute(
                text("SELECT count(*) FROM session_seats WHERE session_id = :s AND status = 'sold'"),
                {"s": session},
            ).scalar_one()
            ga_sold = s.execute(
                text("SELECT sold FROM session_ga WHERE session_id = :s"), {"s": session}
            ).scalar_one()
    finally:
        db.dispose()
    assert len(seat_tickets) == 50 and len(set(seat_tickets)) == 50, "no seat is in two orders"
    assert set(seat_tickets) == set(last)
    assert ga_tickets == 50 and ga_sold == 50 and sold_seats == 50
