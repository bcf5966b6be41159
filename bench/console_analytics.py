"""CPU and wall time of one analytics report (the console's live view, the API, the exports)
on a demo arena, in process on SQLite: `python -m bench.console_analytics [seats_per_row]`.

The arena has 20 sections x 25 rows x N seats plus a 2,000-place floor; a share of the seats
(a third) is marked sold in session_seats: the report reads every seat row, so its cost grows
with the venue, not with the orders.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy import update

from box_office.analytics import export, queries
from box_office.api.app import create_app
from box_office.catalog import principals
from box_office.config import Settings
from box_office.store.migrate import upgrade
from box_office.store.models import SessionSeat


def main() -> None:
    per_row = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        upgrade(url)
        settings = Settings(
            database_url=url, secret_key=Fernet.generate_key(), state_dir=Path(tmp), sandbox=True
        )
        app = create_app(settings, background=False)
        with TestClient(app) as client:
            token = client.post("/api/organisers", json={"name": "bench"}).json()["token"]
            headers = {"Authorization": f"Bearer {token}"}
            demo = client.post(
                "/api/demo",
                json={"sections": 20, "rows": 25, "seats_per_row": per_row, "ga_capacity": 2000},
                headers=headers,
            ).json()
            ctx = app.state.box_office.ctx
            ctx.db.write(
                lambda db: db.execute(
                    update(SessionSeat)
                    .where(SessionSeat.session_id == demo["session_id"], SessionSeat.id % 3 == 0)
                    .values(status="sold")
                )
            )
            organiser = principals.organiser_for(ctx, token)
            cpu, wall = [], []
            for _ in range(20):
                c0, w0 = time.process_time(), time.perf_counter()
                report = queries.event_report(ctx, organiser, demo["event_id"])
                cpu.append(time.process_time() - c0)
                wall.append(time.perf_counter() - w0)
            c0 = time.process_time()
            xlsx = export.to_xlsx(report)
            xlsx_cpu = time.process_time() - c0
    seats = 20 * 25 * per_row
    print(f"seats {seats}, sold {report['totals']['sold']}, capacity {report['totals']['capacity']}")
    cpu_ms, wall_ms = statistics.median(cpu) * 1000, statistics.median(wall) * 1000
    print(f"report: CPU median {cpu_ms:.1f} ms, wall median {wall_ms:.1f} ms")
    print(f"xlsx export: CPU {xlsx_cpu * 1000:.1f} ms, {len(xlsx)} bytes")


if __name__ == "__main__":
    main()
