"""Ingest: scans per second accepted from N concurrent agents uploading batches (default 20 x 500).

    python bench/sync_ingest.py [--agents 20] [--batch 500] [--scans-per-agent 5000] [--quick] [--write]

The server is a real ``sync-server serve`` process (SQLite, WAL, synchronous=FULL); the agents
are concurrent aiohttp clients in this process, each with its own enrolled credential,
posting the journal format (``wire.sync_api.ScanBatch``) of distinct admitted tickets. A scan
counts as accepted when its batch is acknowledged. Every stored scan is counted at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.results import machine_line, replace_section
from bench.sync_common import EVENT, ServerProcess, load_note, prepare
from sync_server.store import ServerStore


def batches(agent: int, device_id: str, per_agent: int, size: int, base: float) -> list[dict[str, object]]:
    """The agent's uploads, each scan as its own gate and device id (the server checks both)."""
    out = []
    gate = f"gate-{agent}"
    for start in range(0, per_agent, size):
        scans = []
        for i in range(start, min(start + size, per_agent)):
            ticket = str(uuid.UUID(int=agent * per_agent + i + 1))
            scans.append(
                {
                    "scan_id": str(uuid.uuid4()),
                    "at": base + i * 0.01,
                    "verdict": "ok",
                    "admit": True,
                    "gate": gate,
                    "device": device_id,
                    "direction": "in",
                    "ticket_id": ticket,
                }
            )
        out.append({"scans": scans, "backlog": 0})
    return out


async def run_agents(url: str, credentials: list[str], work: list[list[dict[str, object]]]) -> float:
    async def agent(credential: str, uploads: list[dict[str, object]]) -> None:
        headers = {"Authorization": f"Bearer {credential}"}
        async with aiohttp.ClientSession(headers=headers) as session:
            for body in uploads:
                async with session.post(f"{url}/api/scans", json=body) as resp:
                    if resp.status != 200:
                        raise RuntimeError(f"upload refused: {resp.status} {await resp.text()}")
                    await resp.read()

    started = time.perf_counter()
    await asyncio.gather(*(agent(c, w) for c, w in zip(credentials, work, strict=True)))
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--scans-per-agent", type=int, default=5000)
    parser.add_argument("--quick", action="store_true", help="1,000 scans per agent")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    per_agent = 1000 if args.quick else args.scans_per_agent
    total = per_agent * args.agents
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "sync.sqlite"
        store = prepare(db, total)
        enrolments = [store.enrol(store.create_enrol_code(EVENT, f"gate-{n}")) for n in range(args.agents)]
        credentials = [e.credential for e in enrolments]
        store.close()
        base = time.time() - 3600
        work = [batches(n, e.device_id, per_agent, args.batch, base) for n, e in enumerate(enrolments)]
        server = ServerProcess(db)
        try:
            cpu_before = server.cpu_seconds()
            seconds = asyncio.run(run_agents(server.url, credentials, work))
            cpu = server.cpu_seconds() - cpu_before
        finally:
            server.stop()
        check = ServerStore.open(f"sqlite:///{db}")
        stored = check.scan_count(EVENT)
        entries = check.stats(EVENT)["entries"]
        check.close()
    assert stored == total and entries == total, (stored, entries, total)
    rate = total / seconds
    rows = [
        ("agents x batch size", f"{args.agents} x {args.batch}"),
        ("scans uploaded (all stored, all entries)", f"{total:,}"),
        ("wall time", f"{seconds:.2f} s"),
        ("scans accepted per second", f"{rate:,.0f}"),
        ("server CPU per 1,000 scans", f"{cpu / total * 1000 * 1000:.1f} ms"),
        ("target", ">= 5,000 scans/s"),
    ]
    for name, value in rows:
        print(f"{name:45} {value}")
    if args.write:
        table = "\n".join(["| measure | value |", "|---|---|", *(f"| {n} | {v} |" for n, v in rows)])
        command = "python bench/sync_ingest.py --write" + (" --quick" if args.quick else "")
        replace_section(
            "Sync: scan ingest (issue 4)",
            f"{machine_line()}\nCommand: `{command}`. One `sync-server serve` process (SQLite WAL, "
            f"synchronous=FULL, reconciliation of every batch); the {args.agents} agents are aiohttp "
            f"clients in the benchmark process on the same 2 cores; {load_note()} (machine shared with "
            f"other engineers' work).\n\n{table}\n\n"
            "Peer: pretix's check-in API takes about 50 redemptions/s on this kind of machine.",
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
