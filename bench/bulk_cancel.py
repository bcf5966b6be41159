"""Bulk cancellation throughput: N paid orders written straight into a SQLite box office, then
``box-office sessions cancel`` as a subprocess refunds them through the sandbox bank (served by
an in-process box office on loopback). Prints wall time, orders/s and the CLI's CPU per order.

    python bench/bulk_cancel.py [N]      # default 1000
"""

from __future__ import annotations

import os
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from box_office.api.app import create_app  # noqa: E402
from box_office.notify.sms import CapturingSms  # noqa: E402
from box_office.store.migrate import upgrade  # noqa: E402
from tests.aftersales import test_bulk_cancel as seed  # noqa: E402
from tests.box_office.conftest import Server, settings_for, start_uvicorn  # noqa: E402
from tests.box_office.helpers import Concert, grid  # noqa: E402
from tests.local_services import free_port  # noqa: E402


def main(count: int) -> None:
    seed.ORDERS = count
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        url = f"sqlite:///{tmp / 'bo.sqlite3'}"
        upgrade(url)
        port, secret = free_port(), secrets.token_hex(16)
        settings = settings_for(url, tmp, port, sandbox_secret=secret)
        uv, thread = start_uvicorn(create_app(settings, sms=CapturingSms()), port)
        server = Server(f"http://127.0.0.1:{port}", "sqlite", CapturingSms(), None, settings)  # type: ignore[arg-type]
        concert = Concert(server, layout=grid(rows=1, seats=2, ga=count))
        concert.buyer()
        seed._insert_orders(url, concert, seed._scalar(url, "SELECT max(id) FROM accounts"))
        env = os.environ | {
            "BOX_OFFICE_DATABASE_URL": url,
            "BOX_OFFICE_STATE_DIR": str(tmp / "cli"),
            "BOX_OFFICE_SANDBOX": "on",
            "BOX_OFFICE_SANDBOX_SECRET": secret,
            "BOX_OFFICE_SANDBOX_URL": server.url,
        }
        argv = [
            str(Path(sys.executable).parent / "box-office"),
            "sessions",
            "cancel",
            str(concert.session_id),
        ]
        started = time.monotonic()
        subprocess.run([*argv, "--rate", "10000"], env=env, check=True, capture_output=True)
        wall = time.monotonic() - started
        cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
        used = cpu.ru_utime + cpu.ru_stime
        load = os.getloadavg()[0]
        print(
            f"{count} orders cancelled and refunded in {wall:.1f} s: {count / wall:.0f} orders/s, "
            f"CLI CPU {used * 1000 / count:.2f} ms per order (load average {load:.1f})"
        )
        uv.should_exit = True
        thread.join(timeout=10)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
