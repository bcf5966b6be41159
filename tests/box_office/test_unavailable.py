"""A database that cannot be reached (restarting, out of connections) is answered 503 with
Retry-After and a message: a temporary condition, never a 500 with a traceback."""

from __future__ import annotations

from pathlib import Path

import httpx

from box_office.api.app import create_app
from tests.box_office.conftest import settings_for, start_uvicorn
from tests.local_services import free_port


def test_unreachable_database_gets_503_with_retry_after(tmp_path: Path) -> None:
    nobody = free_port()  # nothing listens there
    port = free_port()
    settings = settings_for(
        f"postgresql://postgres@127.0.0.1:{nobody}/box_office", tmp_path, port, delivery_interval=3600.0
    )
    server, thread = start_uvicorn(create_app(settings, background=False), port)
    try:
        answer = httpx.post(f"http://127.0.0.1:{port}/api/accounts", json={"email": "a@b.test"}, timeout=30)
        assert answer.status_code == 503, answer.text
        assert answer.headers["Retry-After"] == "2"
        assert answer.json()["code"] == "unavailable" and "database" in answer.json()["detail"]
    finally:
        server.should_exit = True
        thread.join(timeout=10)
