"""Snapshot of N tickets (default 200,000): server build/stream time, agent transfer + apply, peak RSS.

    python bench/sync_snapshot.py [--tickets N] [--quick] [--write]

The server runs as its own ``sync-server serve`` process; the agent side runs in a child
process (the production ``SyncClient.download_snapshot`` into a real ``GateStore`` file with
``synchronous=FULL``) so that each peak RSS is that side's alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.results import machine_line, replace_section
from bench.sync_common import EVENT, ServerProcess, load_note, peak_rss_self_mib, prepare


def agent(url: str, credential: str, state: Path) -> None:
    """The agent side (child process): download and apply, print JSON figures."""
    from types import SimpleNamespace

    from gate_agent.store import GateStore
    from gate_agent.sync.client import SyncClient, SyncSettings

    async def main() -> dict[str, float]:
        with GateStore.open(state) as store:
            table = {"url": url, "credential": credential, "request_timeout": 60}
            client = SyncClient(store, SimpleNamespace(sync=table, source=None), settings=SyncSettings(table))
            started = time.perf_counter()
            count = await client.download_snapshot()
            elapsed = time.perf_counter() - started
            await client.close()
            return {"count": count, "seconds": elapsed, "rss_mib": peak_rss_self_mib()}

    print(json.dumps(asyncio.run(main())))


def server_stream_time(url: str, credential: str) -> tuple[float, int]:
    """Time for the server to build and stream the whole snapshot to a client that only reads."""
    request = urllib.request.Request(f"{url}/api/snapshot", headers={"Authorization": f"Bearer {credential}"})
    started = time.perf_counter()
    size = 0
    with urllib.request.urlopen(request, timeout=120) as response:
        while chunk := response.read(1 << 20):
            size += len(chunk)
    return time.perf_counter() - started, size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=200_000)
    parser.add_argument("--quick", action="store_true", help="20,000 tickets")
    parser.add_argument("--write", action="store_true", help="write the figures into bench/RESULTS.md")
    parser.add_argument("--agent", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.agent:
        agent(args.agent[0], args.agent[1], Path(args.agent[2]))
        return 0
    tickets = 20_000 if args.quick else args.tickets
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "sync.sqlite"
        t0 = time.perf_counter()
        store = prepare(db, tickets)
        print(f"server database with {tickets:,} tickets prepared in {time.perf_counter() - t0:.1f} s")
        creds = []
        for gate in ("stream", "agent"):
            code = store.create_enrol_code(EVENT, gate)
            creds.append(store.enrol(code).credential)
        store.close()
        server = ServerProcess(db)
        try:
            stream_s, size = server_stream_time(server.url, creds[0])
            out = subprocess.run(
                [sys.executable, __file__, "--agent", server.url, creds[1], str(Path(tmp) / "gate.sqlite")],
                capture_output=True,
                text=True,
                check=True,
            )
            figures = json.loads(out.stdout.strip().splitlines()[-1])
            server_rss = server.peak_rss_mib()
        finally:
            server.stop()
    assert figures["count"] == tickets, figures
    rows = [
        ("tickets", f"{tickets:,}"),
        ("snapshot size (uncompressed JSON Lines)", f"{size / 1e6:.1f} MB"),
        ("server: build + stream to a reading client", f"{stream_s:.2f} s"),
        (
            "agent: transfer + parse + apply (GateStore, synchronous=FULL) = end to end",
            f"{figures['seconds']:.2f} s",
        ),
        ("target end to end", "<= 5 s"),
        ("server peak RSS (whole process, VmHWM)", f"{server_rss:.0f} MiB"),
        ("agent peak RSS (whole process, ru_maxrss)", f"{figures['rss_mib']:.0f} MiB"),
    ]
    for name, value in rows:
        print(f"{name:80} {value}")
    if args.write:
        table = "\n".join(["| measure | value |", "|---|---|", *(f"| {n} | {v} |" for n, v in rows)])
        command = "python bench/sync_snapshot.py --write" + (" --quick" if args.quick else "")
        replace_section(
            "Sync: snapshot (issue 4)",
            f"{machine_line()}\nCommand: `{command}`. Server and agent are separate processes on loopback; "
            f"{load_note()} (the machine was shared with other engineers' work at the time).\n\n{table}",
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
