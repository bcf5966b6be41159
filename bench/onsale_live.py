"""Live seat-status push latency: time from a hold's HTTP response to its SSE event.

Starts ``box-office serve --workers 2`` (holds and the SSE stream may land on different
worker processes, as in production), opens ``/api/sessions/{id}/live``, then makes holds one
by one and measures how long each takes to appear on the stream (issue 5: within 1 s).

    python bench/onsale_live.py --db sqlite [--quick]
    python bench/onsale_live.py --db postgres
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from onsale import database, percentile, set_up, start_server


def main() -> int:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--db", default="sqlite", help="sqlite, postgres, or a database URL")
    parser.add_argument("--holds", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="50 holds")
    args = parser.parse_args()
    count = 50 if args.quick else args.holds
    seen: dict[str, float] = {}
    ready = threading.Event()
    with tempfile.TemporaryDirectory(prefix="onsale-live-") as tmp_name:
        tmp = Path(tmp_name)
        url = database(args.db, tmp)
        process, base = start_server(url, tmp, 2)
        try:
            session = set_up(base, 2, 10, 20, 100)

            def listen() -> None:
                with httpx.stream("GET", f"{base}/api/sessions/{session}/live", timeout=None) as response:
                    event = ""
                    for line in response.iter_lines():
                        if line.startswith("event: "):
                            event = line[7:]
                        elif line.startswith("data: "):
                            if event == "snapshot":
                                ready.set()
                            elif event == "seats":
                                now = time.perf_counter()
                                for label, status in json.loads(line[6:]).items():
                                    if status == "held":
                                        seen.setdefault(label, now)
                        if len(seen) >= count:
                            return

            thread = threading.Thread(target=listen, daemon=True)
            thread.start()
            ready.wait(30)
            client = httpx.Client(base_url=base, timeout=30)
            token = client.post("/api/accounts", json={"email": "live@bench.test"}).json()["token"]
            client.headers["Authorization"] = f"Bearer {token}"
            sent: dict[str, float] = {}
            for i in range(count):
                label = f"S{(i // 20) % 2:02d}-{(i // 40) + 1}-{i % 20 + 1}"
                response = client.post(f"/api/sessions/{session}/holds", json={"seats": [label]})
                sent[label] = time.perf_counter()
                response.raise_for_status()
                time.sleep(0.05)
            thread.join(timeout=10)
        finally:
            process.terminate()
            process.wait(timeout=30)
    delays = [seen[label] - at for label, at in sent.items() if label in seen]
    result = {
        "db": args.db,
        "holds": count,
        "pushed": len(delays),
        "p50_ms": round(percentile(delays, 0.5) * 1000, 1),
        "p99_ms": round(percentile(delays, 0.99) * 1000, 1),
        "max_ms": round(max(delays) * 1000, 1) if delays else None,
        "over_1s": sum(1 for d in delays if d > 1.0),
    }
    print(json.dumps(result, indent=2))
    return 0 if len(delays) == count and result["over_1s"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
