"""Fixtures: a real box office on loopback (SQLite, and PostgreSQL for the rule tests), concerts made
through its HTTP API, and headless Chromium (the system's) through Playwright.

The box office runs with the no-orphan-seat rule on (as ``box-office serve`` does by default) and
its sweeper every second, like production (a hold runs out on the server, not in the browser).
Screenshots go to ``artifacts/seatmap/``.
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from cryptography.fernet import Fernet

from box_office.api.app import create_app
from box_office.config import Settings
from box_office.store.migrate import upgrade
from tests.local_services import free_port, fresh_postgres

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "seatmap"


@dataclass
class BoxOffice:
    url: str
    backend: str
    state_dir: Path

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30.0)


def run_box_office(
    database_url: str, state_dir: Path, backend: str, sweep_interval: float = 1.0
) -> Iterator[BoxOffice]:
    upgrade(database_url)
    port = free_port()
    settings = Settings(
        database_url=database_url,
        secret_key=Fernet.generate_key(),
        state_dir=state_dir,
        public_url=f"http://127.0.0.1:{port}",
        sweep_interval=sweep_interval,
        delivery_interval=0.5,
        extra={"no_orphan_seats": "on"},
        sandbox=True,
        sandbox_secret=secrets.token_hex(16),
    )
    app = create_app(settings)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the box office did not start")
        time.sleep(0.05)
    yield BoxOffice(f"http://127.0.0.1:{port}", backend, state_dir)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def box_office(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BoxOffice]:
    """The SQLite box office the browser tests use."""
    tmp = tmp_path_factory.mktemp("seatmap_sqlite")
    yield from run_box_office(f"sqlite:///{tmp / 'box_office.sqlite3'}", tmp, "sqlite")


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_box_office(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, box_office: BoxOffice
) -> Iterator[BoxOffice]:
    """The rule tests run on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield box_office
        return
    tmp = tmp_path_factory.mktemp("seatmap_postgres")
    yield from run_box_office(fresh_postgres("seatmap_test"), tmp, "postgres")


def hall(rows: int = 6, seats: int = 12, ga: int = 50) -> dict[str, Any]:
    """Section A (rows x seats, row 1 nearest the stage, two accessible seats in the last row),
    a four-seat box B1, and a standing floor."""
    return {
        "name": "Riverside Hall",
        "stage": {"x": (seats - 1) / 2, "y": -3.0},
        "sections": [
            {
                "code": "A",
                "rows": [
                    {
                        "code": str(r + 1),
                        "rank": r,
                        "seats": [
                            {
                                "number": str(n + 1),
                                "x": float(n),
                                "y": float(r),
                                "accessible": r == rows - 1 and n < 2,
                            }
                            for n in range(seats)
                        ],
                    }
                    for r in range(rows)
                ],
            },
            {
                "code": "BOX",
                "rows": [
                    {
                        "code": "1",
                        "seats": [
                            {"number": str(n + 1), "x": seats + 2.0, "y": float(n), "box": "B1"}
                            for n in range(4)
                        ],
                    }
                ],
            },
        ],
        "ga_areas": [{"code": "FLOOR", "name": "Standing floor", "capacity": ga}] if ga else [],
    }


@dataclass
class Concert:
    box_office: BoxOffice
    organiser_token: str
    event_id: int
    session_id: int

    @property
    def page_url(self) -> str:
        return f"{self.box_office.url}/seatmap/{self.session_id}"

    def organiser(self) -> httpx.Client:
        return self.box_office.client(self.organiser_token)

    def buyer(self) -> httpx.Client:
        made = self.box_office.client().post(
            "/api/accounts", json={"email": f"{uuid.uuid4().hex[:8]}@example.test"}
        )
        assert made.status_code == 201, made.text
        client = self.box_office.client(made.json()["token"])
        client.headers["X-Device-Id"] = uuid.uuid4().hex
        return client

    def statuses(self) -> dict[str, str]:
        seats = self.box_office.client().get(f"/api/sessions/{self.session_id}").json()["seats"]
        return {s["label"]: s["status"] for s in seats}


def make_concert(box_office: BoxOffice, layout: dict[str, Any] | None = None, **session: Any) -> Concert:
    """An organiser, venue, event (CNY; zones VIP, A, BOX, FLOOR) and one session on sale now."""
    anon = box_office.client()
    made = anon.post("/api/organisers", json={"name": "Promoter"})
    assert made.status_code == 201, made.text
    org = box_office.client(made.json()["token"])
    layout = layout or hall()
    venue = org.post("/api/venues", json=layout)
    assert venue.status_code == 201, venue.text
    event = org.post(
        "/api/events",
        json={
            "name": "Spring Concert",
            "venue_id": venue.json()["id"],
            "currency": "CNY",
            "zones": [
                {"code": "VIP", "name": "VIP", "price_cents": 88000},
                {"code": "A", "name": "Stalls", "price_cents": 48000},
                {"code": "BOX", "name": "Box", "price_cents": 120000},
                {"code": "FLOOR", "name": "Standing", "price_cents": 38000},
            ],
            "ticket_types": [
                {"code": "adult", "name": "Adult"},
                {"code": "child", "name": "Child", "prices": {"A": 24000}},
                {"code": "box", "name": "Box seat", "kind": "box"},
            ],
        },
    )
    assert event.status_code == 201, event.text
    now = time.time()
    spec: dict[str, Any] = {
        "name": "Night 1",
        "starts_at": now + 86400,
        "ends_at": now + 86400 + 3 * 3600,
        "sale_starts_at": now - 60,
        "default_zone": "A",
        "seat_zones": [
            {"zone": "VIP", "sections": ["A"], "rows": ["1"]},
            {"zone": "BOX", "sections": ["BOX"]},
        ],
        "ga": [{"area": "FLOOR", "zone": "FLOOR"}] if layout.get("ga_areas") else [],
    }
    spec.update(session)
    made_session = org.post(f"/api/events/{event.json()['id']}/sessions", json=spec)
    assert made_session.status_code == 201, made_session.text
    return Concert(box_office, made.json()["token"], event.json()["id"], made_session.json()["id"])
