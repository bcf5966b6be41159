"""On-sale spike benchmark for the box office (issue 5, section 6).

A stadium session (reserved seats plus a GA floor); N concurrent simulated buyers over HTTP
each hold 1-4 seats (a block they picked on the seat map, best available when it is gone,
or GA places), create the order with its sandbox payment (one request, ``pay_with``),
confirm on the bank's page, and wait for their tickets (``GET /api/orders/{id}?wait=20``: the
server answers when the bank's signed callback has been processed and the tickets issued).
A buyer turned away by the box office's waiting room (429) waits its ``Retry-After`` (with
jitter) and tries again, as an app would.

The server is ``box-office serve --workers 2`` in its own processes (plus its low-priority
background process for delivery and sweeps); the buyers run in this process with asyncio +
aiohttp (on a 2-core machine they compete with the server and the database for CPU, which
the report says). Reports holds/s, paid orders/s, p50/p99 latency of served requests (429
answers and long-poll waits apart), every buyer's time from the opening to its tickets, 5xx
count, how long e-mail delivery needed to catch up, and oversold seats, checked in the
database after the run.

    python bench/onsale.py --db sqlite            # 50,000 places, 2,000 buyers
    python bench/onsale.py --db postgres
    python bench/onsale.py --db postgres --clients 20   # pretix's way: 20 clients buying in turn
    python bench/onsale.py --db sqlite --quick    # 5,000 places, 300 buyers: a smoke run
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import psycopg
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from box_office.store.db import Database

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def database(kind: str, tmp: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp / 'bench.sqlite3'}"
    if kind == "postgres":
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute('DROP DATABASE IF EXISTS "box_office_bench" WITH (FORCE)')
            conn.execute('CREATE DATABASE "box_office_bench"')
        return "postgresql://postgres@127.0.0.1:5432/box_office_bench"
    return kind


def start_server(url: str, tmp: Path, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = os.environ | {
        "BOX_OFFICE_STATE_DIR": str(tmp / "state"),
        "BOX_OFFICE_PUBLIC_URL": f"http://127.0.0.1:{port}",
        # The buyers pay through the sandbox bank: a development tool, on only when asked for.
        "BOX_OFFICE_SANDBOX": "on",
        "BOX_OFFICE_SANDBOX_SECRET": secrets.token_hex(16),
    }
    log = (tmp / "server.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "box_office.cli",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--database-url",
            url,
        ],
        env=env,
        stdout=log,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                return process, base
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the box office did not start; see {tmp / 'server.log'}")
        time.sleep(0.3)


def stadium(sections: int, rows: int, seats: int, floor: int) -> dict[str, Any]:
    return {
        "name": "Bench Stadium",
        "sections": [
            {
                "code": f"S{s:02d}",
                "rows": [
                    {"code": str(r + 1), "rank": r, "seats": [{"number": str(n + 1)} for n in range(seats)]}
                    for r in range(rows)
                ],
            }
            for s in range(sections)
        ],
        "ga_areas": [{"code": "FLOOR", "name": "Floor", "capacity": floor}],
    }


def set_up(base: str, sections: int, rows: int, seats: int, floor: int) -> int:
    client = httpx.Client(base_url=base, timeout=600)
    token = client.post("/api/organisers", json={"name": "Bench"}).json()["token"]
    client.headers["Authorization"] = f"Bearer {token}"
    venue = client.post("/api/venues", json=stadium(sections, rows, seats, floor))
    venue.raise_for_status()
    zones = [
        {"code": "P1", "name": "Price 1", "price_cents": 128000},
        {"code": "P2", "name": "Price 2", "price_cents": 68000},
        {"code": "GA", "name": "Floor", "price_cents": 48000},
    ]
    event = client.post(
        "/api/events", json={"name": "Stadium night", "venue_id": venue.json()["id"], "zones": zones}
    )
    event.raise_for_status()
    now = time.time()
    front = [str(r + 1) for r in range(rows // 3)]
    session = client.post(
        f"/api/events/{event.json()['id']}/sessions",
        json={
            "name": "On-sale",
            "starts_at": now + 30 * 86400,
            "ends_at": now + 30 * 86400 + 4 * 3600,
            "default_zone": "P2",
            "seat_zones": [{"zone": "P1", "rows": front}],
            "ga": [{"area": "FLOOR", "zone": "GA"}],
            "hold_seconds": 600,
        },
    )
    session.raise_for_status()
    return int(session.json()["id"])


class Response:
    """The little of an HTTP response the buyers look at."""

    __slots__ = ("body", "headers", "status_code")

    def __init__(self, status_code: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.status_code = status_code
        self.body = body
        self.headers = headers or {}

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class LoadClient:
    """The buyers' HTTP client. aiohttp rather than httpx: on this 2-core machine the load
    generator shares the CPU with the server, and httpx's async client spent about four times
    the CPU per request (measured: the generator alone sat at 100% of a core while the two
    server workers idled at about 40%), so it, not the box office, set the pace."""

    def __init__(self, base: str, connections: int) -> None:
        self.base = base
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=connections),
            timeout=aiohttp.ClientTimeout(total=300),
        )

    async def request(self, method: str, url: str, **kw: Any) -> Response:
        full = url if url.startswith("http") else self.base + url
        async with self.session.request(method, full, **kw) as response:
            body = await response.read()
            headers = (
                {"retry-after": response.headers["Retry-After"]} if "Retry-After" in response.headers else {}
            )
        return Response(response.status, body, headers)

    async def post(self, url: str, **kw: Any) -> Response:
        return await self.request("POST", url, **kw)

    async def close(self) -> None:
        await self.session.close()


class Stats:
    def __init__(self) -> None:
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.status: dict[int, int] = defaultdict(int)
        self.errors: list[str] = []
        self.holds = 0
        self.paid = 0
        self.first_hold: float | None = None
        self.last_hold = 0.0
        self.last_paid = 0.0

    async def call(self, client: LoadClient, kind: str, method: str, url: str, **kw: Any) -> Response:
        """One request; a 429 (the box office's admission control) is retried after its
        Retry-After, with jitter, as a browser or app would. 429s are counted, and their quick
        answers kept apart from the latency of requests that were served."""
        while True:
            start = time.perf_counter()
            response = await client.request(method, url, **kw)
            elapsed = time.perf_counter() - start
            self.status[response.status_code] += 1
            if response.status_code != 429:
                break
            self.latency["busy_429"].append(elapsed)
            if "x-queue-ticket" in response.headers:  # keeps our place in line on the next try
                kw["headers"] = kw.get("headers", {}) | {"X-Queue-Ticket": response.headers["x-queue-ticket"]}
            retry_after = float(response.headers.get("retry-after", "1"))
            await asyncio.sleep(retry_after * random.uniform(0.5, 1.5))
        self.latency[kind].append(elapsed)
        if response.status_code >= 500:
            self.errors.append(f"{kind}: {response.status_code} {response.text[:200]}")
        return response


async def buyer(
    client: LoadClient,
    stats: Stats,
    session: int,
    token: str,
    layout: tuple[int, int, int],
    start: asyncio.Event,
) -> None:
    sections, rows, seats = layout
    headers = {"Authorization": f"Bearer {token}", "X-Device-Id": uuid.uuid4().hex}
    quantity = random.randint(1, 4)
    roll = random.random()
    attempts: list[dict[str, Any]]
    if roll < 0.1:
        attempts = [{"ga": [{"area": "FLOOR", "quantity": quantity}]}]
    else:
        s, r = random.randrange(sections), random.randrange(rows)
        n = random.randrange(seats - quantity + 1)
        block = [f"S{s:02d}-{r + 1}-{n + k + 1}" for k in range(quantity)]
        zone = "P1" if r < rows // 3 else "P2"
        attempts = [{"seats": block}] + [{"best_available": {"zone": zone, "quantity": quantity}}] * 3
    await start.wait()
    opened = time.perf_counter()
    held = None
    for body in attempts:
        response = await stats.call(
            client, "hold", "POST", f"/api/sessions/{session}/holds", json=body, headers=headers
        )
        if response.status_code == 201:
            held = response.json()
            break
    if held is None:
        return
    now = time.perf_counter()
    stats.holds += 1
    stats.first_hold = stats.first_hold or now
    stats.last_hold = now
    order = await stats.call(
        client,
        "order",
        "POST",
        "/api/orders",
        json={"hold_id": held["id"], "email": "fan@bench.test", "pay_with": "sandbox"},
        headers=headers | {"Idempotency-Key": uuid.uuid4().hex},
    )
    if order.status_code != 201:
        return
    order_id = order.json()["id"]
    payment = order.json()["payment"]  # the order and its sandbox payment in one request
    confirm = await stats.call(client, "bank_confirm", "POST", payment["pay_url"])
    if confirm.status_code != 200:
        return
    paid_from = time.perf_counter()
    for _ in range(30):  # the server holds each request until the order settles (long poll)
        current = await stats.call(
            client, "order_wait", "GET", f"/api/orders/{order_id}?wait=20", headers=headers
        )
        if current.status_code == 200 and current.json()["status"] == "ticketed":
            stats.latency["pay_to_ticketed"].append(time.perf_counter() - paid_from)
            stats.latency["buyer_total"].append(time.perf_counter() - opened)
            stats.paid += 1
            stats.last_paid = time.perf_counter()
            return


async def run_buyers(
    base: str, session: int, count: int, layout: tuple[int, int, int], clients: int = 0
) -> tuple[Stats, float]:
    """Every buyer at once, or (``clients`` > 0) at most that many buying at a time, like
    a fixed pool of clients each buying again as soon as it is done (pretix's measurement)."""
    stats = Stats()
    client = LoadClient(base, count + 50)
    try:
        tokens = []
        for start in range(0, count, 100):  # accounts exist before the on-sale opens
            made = await asyncio.gather(
                *[
                    client.post("/api/accounts", json={"email": f"b{start + i}@bench.test"})
                    for i in range(min(100, count - start))
                ]
            )
            tokens += [m.json()["token"] for m in made]
        gate = asyncio.Event()
        pool = asyncio.Semaphore(clients or len(tokens))

        async def one(token: str) -> None:
            async with pool:
                await buyer(client, stats, session, token, layout, gate)

        tasks = [asyncio.create_task(one(t)) for t in tokens]
        await asyncio.sleep(0.5)
        began = time.perf_counter()
        stats.first_hold = None
        gate.set()  # the on-sale opens: every buyer at once
        await asyncio.gather(*tasks)
        return stats, began
    finally:
        await client.close()


def wait_for_delivery(url: str, limit: float = 300.0) -> float | None:
    """Seconds until every ticket e-mail queued during the run has been sent (None: not within ``limit``).

    Delivery runs in the box office's background process at a lower priority, so during the
    spike it falls behind on purpose; this is how long it takes to catch up afterwards."""
    db = Database(url)
    started = time.perf_counter()
    try:
        while time.perf_counter() - started < limit:
            with db.read() as s:
                pending = s.execute(text("SELECT count(*) FROM outbox WHERE status = 'pending'")).scalar_one()
            if not pending:
                return time.perf_counter() - started
            time.sleep(0.5)
        return None
    finally:
        db.dispose()


def check_oversell(url: str, session: int) -> dict[str, int]:
    db = Database(url)
    try:
        with db.read() as s:
            dupes = s.execute(
                text(
                    "SELECT count(*) FROM (SELECT seat_label FROM tickets"
                    " WHERE session_id=:s AND status='valid' AND seat_label IS NOT NULL"
                    " GROUP BY seat_label HAVING count(*) > 1) d"
                ),
                {"s": session},
            ).scalar_one()
            seat_tickets = s.execute(
                text(
                    "SELECT count(*) FROM tickets"
                    " WHERE session_id=:s AND status='valid' AND seat_label IS NOT NULL"
                ),
                {"s": session},
            ).scalar_one()
            sold_rows = s.execute(
                text("SELECT count(*) FROM session_seats WHERE session_id=:s AND status='sold'"),
                {"s": session},
            ).scalar_one()
            ga = s.execute(
                text("SELECT capacity, sold FROM session_ga WHERE session_id=:s"), {"s": session}
            ).one()
            ga_tickets = s.execute(
                text(
                    "SELECT count(*) FROM tickets"
                    " WHERE session_id=:s AND status='valid' AND ga_id IS NOT NULL"
                ),
                {"s": session},
            ).scalar_one()
    finally:
        db.dispose()
    return {
        "seats_in_two_orders": int(dupes),
        "seat_tickets": int(seat_tickets),
        "seats_sold": int(sold_rows),
        "ga_capacity": int(ga[0]),
        "ga_sold": int(ga[1]),
        "ga_tickets": int(ga_tickets),
        "oversold": int(dupes) + max(0, int(ga[1]) - int(ga[0])) + abs(int(seat_tickets) - int(sold_rows)),
    }


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", default="sqlite", help="sqlite, postgres, or a database URL")
    parser.add_argument("--buyers", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="5,000 places and 300 buyers")
    parser.add_argument(
        "--clients", type=int, default=0, help="buy through this many clients at a time (0: all at once)"
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    sections, rows, seats, floor = (30, 50, 30, 5000) if not args.quick else (5, 20, 45, 500)
    buyers = 300 if args.quick else args.buyers
    with tempfile.TemporaryDirectory(prefix="onsale-") as tmp_name:
        tmp = Path(tmp_name)
        url = database(args.db, tmp)
        process, base = start_server(url, tmp, args.workers)
        try:
            t0 = time.perf_counter()
            session = set_up(base, sections, rows, seats, floor)
            setup_seconds = time.perf_counter() - t0
            stats, began = asyncio.run(
                run_buyers(base, session, buyers, (sections, rows, seats), args.clients)
            )
            ended = time.perf_counter()
            drained = wait_for_delivery(url)
            oversell = check_oversell(url, session)
        finally:
            process.terminate()
            process.wait(timeout=30)
    places = sections * rows * seats + floor
    hold_window = max(1e-9, stats.last_hold - began)
    paid_window = max(1e-9, stats.last_paid - began)
    # A long poll's latency is its wait by design: it is reported as pay_to_ticketed instead.
    waits = ("pay_to_ticketed", "order_wait", "busy_429", "buyer_total")
    all_requests = [v for kind, values in stats.latency.items() if kind not in waits for v in values]
    result = {
        "db": args.db,
        "workers": args.workers,
        "places": places,
        "buyers": buyers,
        "clients": args.clients or buyers,
        "setup_seconds": round(setup_seconds, 1),
        "holds": stats.holds,
        "holds_per_s": round(stats.holds / hold_window, 1),
        "paid_orders": stats.paid,
        "paid_orders_per_s": round(stats.paid / paid_window, 1),
        "wall_seconds": round(ended - began, 1),
        "busy_429": stats.status.get(429, 0),
        "delivery_caught_up_s_after_last_buyer": None if drained is None else round(drained, 1),
        "p50_ms": round(percentile(all_requests, 0.5) * 1000, 1),
        "p99_ms": round(percentile(all_requests, 0.99) * 1000, 1),
        "per_kind_ms": {
            kind: {
                "n": len(v),
                "p50": round(percentile(v, 0.5) * 1000, 1),
                "p99": round(percentile(v, 0.99) * 1000, 1),
            }
            for kind, v in sorted(stats.latency.items())
        },
        "status_counts": dict(sorted(stats.status.items())),
        "server_errors_5xx": sum(n for code, n in stats.status.items() if code >= 500),
        "oversell": oversell,
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0 if oversell["oversold"] == 0 and result["server_errors_5xx"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
