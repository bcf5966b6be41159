"""Live seat-status push latency: time from a hold's HTTP response to its SSE event.

Starts ``box-office serve --workers 2`` (holds and the SSE streams may land on different
worker processes, as in production), opens ``--subscribers`` streams on
``/api/sessions/{id}/live`` (as many buyers keeping the seat map open), then makes holds one
by one and measures how long each takes to appear on every stream (issue 5: within 1 s).

On PostgreSQL it also counts the database transactions per second while the streams are open
and nothing is sold (``pg_stat_database``; each poll is one read transaction), which is what
the number of subscribers must not multiply.

    python bench/onsale_live.py --db sqlite [--quick] [--subscribers 200]
    python bench/onsale_live.py --db postgres --subscribers 200
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from onsale import PG_ADMIN, database, percentile, set_up, start_server

QUIET_WINDOW = 5.0  # seconds of counting transactions with the streams open and no sales


class Subscribers:
    """``count`` SSE streams read by one asyncio loop in a thread (aiohttp: light enough that
    a few hundred streams do not steal the server's CPU); when each label was first seen held
    on each stream."""

    def __init__(self, url: str, count: int) -> None:
        self.url = url
        self.count = count
        self.snapshots = 0
        self.seen: list[dict[str, float]] = [{} for _ in range(count)]
        self.connected_in: float | None = None
        self.all_connected = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        self._thread.start()

    async def _run(self) -> None:
        connector = aiohttp.TCPConnector(limit=self.count + 10)
        timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
        started = time.perf_counter()
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            readers = [asyncio.create_task(self._read(session, i, started)) for i in range(self.count)]
            while not self._stop.is_set():
                await asyncio.sleep(0.1)
            for reader in readers:
                reader.cancel()
            await asyncio.gather(*readers, return_exceptions=True)

    async def _read(self, session: aiohttp.ClientSession, index: int, started: float) -> None:
        seen = self.seen[index]
        async with session.get(self.url) as response:
            event = ""
            async for raw in response.content:
                line = raw.decode().rstrip("\n")
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    if event == "snapshot":
                        self.snapshots += 1
                        if self.snapshots == self.count:
                            self.connected_in = time.perf_counter() - started
                            self.all_connected.set()
                    elif event == "seats":
                        now = time.perf_counter()
                        for label, status in json.loads(line[6:]).items():
                            if status == "held":
                                seen.setdefault(label, now)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def transactions(dbname: str) -> int:
    """Committed and rolled back transactions of one PostgreSQL database so far."""
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        row = conn.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s", (dbname,)
        ).fetchone()
    return int(row[0]) if row else 0


def quiet_rate(url: str) -> float | None:
    """Database transactions per second while nothing is sold (None on SQLite)."""
    if not url.startswith("postgresql"):
        return None
    dbname = url.rsplit("/", 1)[1]
    time.sleep(1.0)  # backends report their counts about once a second
    before = transactions(dbname)
    time.sleep(QUIET_WINDOW)
    return (transactions(dbname) - before) / QUIET_WINDOW


def main() -> int:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--db", default="sqlite", help="sqlite, postgres, or a database URL")
    parser.add_argument("--holds", type=int, default=200)
    parser.add_argument("--subscribers", type=int, default=1, help="SSE streams open on the session")
    parser.add_argument("--quick", action="store_true", help="50 holds")
    args = parser.parse_args()
    if args.subscribers < 1:
        parser.error("--subscribers must be at least 1")
    count = 50 if args.quick else args.holds
    with tempfile.TemporaryDirectory(prefix="onsale-live-") as tmp_name:
        tmp = Path(tmp_name)
        url = database(args.db, tmp)
        process, base = start_server(url, tmp, 2)
        subscribers: Subscribers | None = None
        try:
            session = set_up(base, 2, 10, 20, 100)
            idle_rate = quiet_rate(url)
            subscribers = Subscribers(f"{base}/api/sessions/{session}/live", args.subscribers)
            if not subscribers.all_connected.wait(60):
                raise SystemExit(f"only {subscribers.snapshots} of {args.subscribers} streams connected")
            open_rate = quiet_rate(url)
            client = httpx.Client(base_url=base, timeout=30)
            token = client.post("/api/accounts", json={"email": "live@bench.test"}).json()["token"]
            client.headers["Authorization"] = f"Bearer {token}"
            sent: dict[str, float] = {}
            for i in range(count):
                label = f"S{(i // 20) % 2:02d}-{(i // 40) + 1}-{i % 20 + 1}"
                response = client.post(f"/api/sessions/{session}/holds", json={"seats": [label]})
                sent[label] = time.perf_counter()
                if response.status_code != 201:
                    raise SystemExit(f"hold {label}: {response.status_code} {response.text}")
                time.sleep(0.05)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and any(len(seen) < count for seen in subscribers.seen):
                time.sleep(0.1)
        finally:
            if subscribers is not None:
                subscribers.close()  # open streams would hold the server's graceful shutdown
            process.terminate()
            process.wait(timeout=30)
    assert subscribers is not None
    delays = [seen[label] - at for seen in subscribers.seen for label, at in sent.items() if label in seen]
    expected = count * args.subscribers
    result: dict[str, Any] = {
        "db": args.db,
        "holds": count,
        "subscribers": args.subscribers,
        "all_snapshots_s": round(subscribers.connected_in or 0.0, 2),
        "pushed": f"{len(delays)} of {expected}",
        "p50_ms": round(percentile(delays, 0.5) * 1000, 1),
        "p99_ms": round(percentile(delays, 0.99) * 1000, 1),
        "max_ms": round(max(delays) * 1000, 1) if delays else None,
        "over_1s": sum(1 for d in delays if d > 1.0),
        "db_transactions_per_s_no_streams": idle_rate,
        "db_transactions_per_s_streams_open": open_rate,
    }
    print(json.dumps(result, indent=2))
    return 0 if len(delays) == expected and result["over_1s"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
