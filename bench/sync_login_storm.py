"""Login storm: a gate's ``/api/deltas`` latency while someone guesses organiser passwords.

    python bench/sync_login_storm.py [--seconds 6] [--rate 27]

A real ``sync-server serve`` process (SQLite); in this process one client sends wrong passwords
for a real organiser at ``--rate`` tries a second (issue 19, finding 4: 27 tries/s), while a gate
asks ``/api/deltas`` back to back. Prints the gate's latency without and with the storm, and how
the server answered the guesses (401 wrong, 429 throttled).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.sync_common import BIN, EVENT, ServerProcess, load_note, prepare


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def gate_latencies(url: str, credential: str, seconds: float) -> list[float]:
    out: list[float] = []
    headers = {"Authorization": f"Bearer {credential}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            started = time.perf_counter()
            async with session.get(f"{url}/api/deltas", params={"after": "0", "limit": "10"}) as resp:
                await resp.read()
                assert resp.status == 200, resp.status
            out.append((time.perf_counter() - started) * 1000)
    return out


async def storm(url: str, rate: float, seconds: float) -> Counter[int]:
    answers: Counter[int] = Counter()

    async def one(session: aiohttp.ClientSession) -> None:
        async with session.post(f"{url}/login", json={"username": "ops", "password": "guess"}) as resp:
            answers[resp.status] += 1
            await resp.read()

    async with aiohttp.ClientSession() as session:
        tasks = []
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            tasks.append(asyncio.create_task(one(session)))
            await asyncio.sleep(1 / rate)
        await asyncio.gather(*tasks)
    return answers


async def measure(url: str, credential: str, seconds: float, rate: float) -> None:
    quiet = await gate_latencies(url, credential, seconds / 2)
    loud, answers = await asyncio.gather(gate_latencies(url, credential, seconds), storm(url, rate, seconds))
    for name, ms in (("without the storm", quiet), (f"during {rate:.0f} wrong logins/s", loud)):
        p50, p99 = statistics.median(ms), pct(ms, 0.99)
        print(f"gate /api/deltas {name:28} n={len(ms):5} p50={p50:7.1f} ms p99={p99:7.1f} ms")
    print("answers to the guesses:", dict(sorted(answers.items())))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--rate", type=float, default=27.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "sync.sqlite"
        store = prepare(db, 1000)
        credential = store.enrol(store.create_enrol_code(EVENT, "north")).credential
        store.close()
        subprocess.run(
            [str(BIN / "sync-server"), "--db", str(db), "organiser", "ops"],
            env={**os.environ, "SYNC_SERVER_PASSWORD": "correct horse"},
            check=True,
            capture_output=True,
        )
        server = ServerProcess(db)
        try:
            asyncio.run(measure(server.url, credential, args.seconds, args.rate))
        finally:
            server.stop()
    print(load_note())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
