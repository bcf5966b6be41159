"""Server CPU per request, step by step, for one buyer's purchase (issue 5 profiling aid).

Runs ``box-office serve --workers 1`` on a fresh database, sets up a small session, then
makes N purchases one after another and charges the server process's CPU time (from
``/proc``) to each kind of request: hold, order with its payment, bank confirm, and the wait for
the tickets. The bank's callback and the issuing it triggers run in the background of the
confirm; their CPU lands in the "ticketed" step. Sequential on purpose: no queueing, no
contention, just what each step costs.

    python bench/onsale_steps.py --db postgres --n 200
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from onsale import database, set_up, start_server

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int, background: bool = False) -> float:
    """User + system CPU of ``pid`` and its children still running: the HTTP workers, or
    (``background=True``) only the ``box-office background`` process (sweeps, delivery)."""
    total = 0.0
    for candidate in [pid, *_children(pid)]:
        try:
            fields = Path(f"/proc/{candidate}/stat").read_text().rsplit(")", 1)[1].split()
            command = Path(f"/proc/{candidate}/cmdline").read_bytes()
        except OSError:
            continue
        if (b"background" in command) == background:
            total += (int(fields[11]) + int(fields[12])) / TICK
    return total


def postgres_cpu_seconds() -> float:
    """CPU of every PostgreSQL process on this machine (the bench's database is the busy one)."""
    total = 0.0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if (proc / "comm").read_text().strip() != "postgres":
                continue
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / TICK
    return total


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        found += [int(c) for c in children]
    return found + [g for c in found for g in _children(c)]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", default="sqlite")
    parser.add_argument("--n", type=int, default=200)
    args = parser.parse_args()
    cpu: dict[str, float] = defaultdict(float)
    pg: dict[str, float] = defaultdict(float)
    wall: dict[str, float] = defaultdict(float)
    with tempfile.TemporaryDirectory(prefix="onsale-steps-") as tmp_name:
        tmp = Path(tmp_name)
        url = database(args.db, tmp)
        process, base = start_server(url, tmp, 1)
        try:
            session = set_up(base, 5, 20, 45, 500)
            client = httpx.Client(base_url=base, timeout=60)
            background_before = cpu_seconds(process.pid, background=True)
            for i in range(args.n):
                token = client.post("/api/accounts", json={"email": f"s{i}@bench.test"}).json()["token"]
                headers = {"Authorization": f"Bearer {token}", "X-Device-Id": uuid.uuid4().hex}
                section, row, seat = i % 5, (i // 5) % 20, (i // 100) * 4
                seats = [f"S{section:02d}-{row + 1}-{seat + k + 1}" for k in range(2)]

                def step(kind: str, method: str, url: str, **kw: object) -> httpx.Response:
                    before_cpu, before = cpu_seconds(process.pid), time.perf_counter()
                    before_pg = postgres_cpu_seconds() if args.db == "postgres" else 0.0
                    response = client.request(method, url, **kw)  # type: ignore[arg-type]
                    wall[kind] += time.perf_counter() - before
                    cpu[kind] += cpu_seconds(process.pid) - before_cpu
                    if args.db == "postgres":
                        pg[kind] += postgres_cpu_seconds() - before_pg
                    if response.status_code >= 400:
                        raise SystemExit(f"{kind}: {response.status_code} {response.text[:300]}")
                    return response

                hold = step(
                    "hold", "POST", f"/api/sessions/{session}/holds", json={"seats": seats}, headers=headers
                )
                order = step(
                    "order_and_payment",
                    "POST",
                    "/api/orders",
                    json={"hold_id": hold.json()["id"], "email": "fan@bench.test", "pay_with": "sandbox"},
                    headers=headers | {"Idempotency-Key": uuid.uuid4().hex},
                )
                order_id = order.json()["id"]
                step("bank_confirm", "POST", order.json()["payment"]["pay_url"])
                while True:
                    current = step("wait_ticketed", "GET", f"/api/orders/{order_id}?wait=10", headers=headers)
                    if current.json()["status"] == "ticketed":
                        break
            time.sleep(3)  # let delivery catch up, then charge it separately
            background = cpu_seconds(process.pid, background=True) - background_before
            before = cpu_seconds(process.pid)
            time.sleep(2)
            idle = cpu_seconds(process.pid) - before
        finally:
            process.terminate()
            process.wait(timeout=30)
    result = {
        kind: {
            "cpu_ms": round(cpu[kind] / args.n * 1000, 2),
            "postgres_cpu_ms": round(pg[kind] / args.n * 1000, 2),
            "wall_ms": round(wall[kind] / args.n * 1000, 2),
        }
        for kind in cpu
    }
    result["total"] = {
        "cpu_ms": round(sum(cpu.values()) / args.n * 1000, 2),
        "postgres_cpu_ms": round(sum(pg.values()) / args.n * 1000, 2),
        "wall_ms": round(sum(wall.values()) / args.n * 1000, 2),
    }
    result["background_delivery_and_sweeps"] = {
        "cpu_ms": round(background / args.n * 1000, 2),
        "wall_ms": 0.0,
    }
    result["idle_cpu_per_s_ms"] = {"cpu_ms": round(idle / 2 * 1000, 1), "wall_ms": 1000.0}
    print(json.dumps({"db": args.db, "n": args.n, "per_purchase": result}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
