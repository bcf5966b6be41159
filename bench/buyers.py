"""CPU per operation of the buyer accounts (issue #13), on SQLite, in one process, no HTTP.

- a sign-in by SMS code: record the code (with the throttle reads), check it, find or make the
  account, issue the token;
- a hold of two seats in a session with purchase limits (the hold now counts the buyer's live
  tickets and open holds under the subject locks) and, for comparison, one without limits.

Each operation is timed with ``time.process_time`` (this process's CPU: Python, SQLAlchemy and
SQLite), so other jobs on a shared machine change it little; wall time is printed beside it.

    python -m bench.buyers [--n 300]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from cryptography.fernet import Fernet
from fastapi.testclient import TestClient

from box_office.api.app import create_app
from box_office.buyers import accounts, otp
from box_office.config import Settings
from box_office.context import Context
from box_office.sales import holds
from box_office.store.migrate import upgrade


def layout() -> dict[str, object]:
    rows = [
        {
            "code": str(r + 1),
            "seats": [{"number": str(n + 1), "x": float(n), "y": float(r)} for n in range(40)],
        }
        for r in range(40)
    ]
    return {"name": "Bench Hall", "sections": [{"code": "A", "rows": rows}], "ga_areas": []}


def session(client: TestClient, limits: dict[str, int]) -> int:
    token = client.post("/api/organisers", json={"name": "Bench"}).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    venue = client.post("/api/venues", json=layout(), headers=auth).json()["id"]
    event = client.post(
        "/api/events",
        json={
            "name": "Bench",
            "venue_id": venue,
            "currency": "CNY",
            "zones": [{"code": "A", "name": "Stalls", "price_cents": 10000}],
            "ticket_types": [{"code": "adult", "name": "Adult"}],
        },
        headers=auth,
    ).json()["id"]
    now = time.time()
    spec = {"name": "Night", "starts_at": now + 86400, "ends_at": now + 90000, "sale_starts_at": now - 60}
    spec |= {"default_zone": "A", **limits}
    made = client.post(f"/api/events/{event}/sessions", json=spec, headers=auth)
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def timed(work: object, n: int) -> tuple[float, float]:
    cpu, wall = [], []
    for i in range(n):
        c0, w0 = time.process_time(), time.perf_counter()
        work(i)  # type: ignore[operator]
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    return statistics.median(cpu) * 1000, statistics.median(wall) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        upgrade(url)
        settings = Settings(url, Fernet.generate_key(), Path(tmp), extra={"otp_per_ip_hour": "1000000"})
        ctx = Context.from_settings(settings)
        with TestClient(create_app(settings, background=False)) as client:
            limited = session(client, {"limit_per_account": 6, "limit_per_device": 6})
            open_ = session(client, {})

        def sign_in(i: int) -> None:
            sent = otp.create(ctx, "sms", f"+8613{i:09d}", purpose="sign_in", ip="10.0.0.1", device=f"d{i}")
            checked = otp.check(ctx, sent.challenge, sent.code, "sign_in")
            account, _ = accounts.account_for_identity(ctx, checked.channel, checked.target)
            accounts.issue_token(ctx, account, "api", None)

        buyer, _ = accounts.account_for_identity(ctx, "sms", "+8613900000000")

        def hold_in(session_id: int) -> object:
            def work(i: int) -> None:
                seats = (f"A-{i // 20 + 1}-{2 * (i % 20) + 1}", f"A-{i // 20 + 1}-{2 * (i % 20) + 2}")
                made = holds.create_hold(ctx, buyer, "d1.bench", session_id, holds.HoldRequest(seats=seats))
                holds.release_hold(ctx, buyer, made["id"])

            return work

        rows = [
            ("sign-in by SMS code (create + check + account + token)", *timed(sign_in, args.n)),
            ("hold 2 seats + release, session with limits", *timed(hold_in(limited), min(args.n, 800))),
            ("hold 2 seats + release, session without limits", *timed(hold_in(open_), min(args.n, 800))),
        ]
        ctx.db.dispose()
    print("| operation | CPU ms (median) | wall ms (median) |\n|---|---|---|")
    for name, cpu, wall in rows:
        print(f"| {name} | {cpu:.2f} | {wall:.2f} |")


if __name__ == "__main__":
    main()
