"""Test helpers: set up a concert through the real API, buy and pay through the sandbox."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx

from box_office.buyers import devices
from tests.box_office.conftest import Server


def grid(sections: int = 1, rows: int = 3, seats: int = 10, ga: int = 0, box: bool = False) -> dict[str, Any]:
    """A JSON layout: ``sections`` x ``rows`` x ``seats``; row 1 nearest the stage; optional GA floor."""
    layout: dict[str, Any] = {"name": "Test Hall", "sections": [], "ga_areas": []}
    for s in range(sections):
        code = chr(ord("A") + s)
        layout["sections"].append(
            {
                "code": code,
                "rows": [
                    {
                        "code": str(r + 1),
                        "rank": r,
                        "seats": [{"number": str(n + 1), "x": float(n), "y": float(r)} for n in range(seats)],
                    }
                    for r in range(rows)
                ],
            }
        )
    if box:
        layout["sections"].append(
            {
                "code": "BOX",
                "rows": [{"code": "1", "seats": [{"number": str(n + 1), "box": "B1"} for n in range(4)]}],
            }
        )
    if ga:
        layout["ga_areas"].append({"code": "FLOOR", "name": "Floor", "capacity": ga})
    return layout


class Concert:
    """An organiser, a venue, an event and one session, made through the API."""

    def __init__(
        self,
        server: Server,
        *,
        layout: dict[str, Any] | None = None,
        session: dict[str, Any] | None = None,
        ticket_types: list[dict[str, Any]] | None = None,
    ) -> None:
        self.server = server
        anon = server.client()
        made = anon.post("/api/organisers", json={"name": "Promoter " + uuid.uuid4().hex[:6]})
        assert made.status_code == 201, made.text
        self.organiser_token = made.json()["token"]
        self.org = server.client(self.organiser_token)
        venue = self.org.post("/api/venues", json=layout or grid(ga=20))
        assert venue.status_code == 201, venue.text
        self.venue_id = venue.json()["id"]
        zones = [
            {"code": "VIP", "name": "VIP", "price_cents": 50000},
            {"code": "A", "name": "Stalls", "price_cents": 20000},
            {"code": "FLOOR", "name": "Floor", "price_cents": 15000},
            {"code": "BOX", "name": "Box", "price_cents": 100000},
        ]
        event = self.org.post(
            "/api/events",
            json={
                "name": "Test Concert",
                "venue_id": self.venue_id,
                "currency": "CNY",
                "zones": zones,
                "ticket_types": ticket_types
                or [
                    {"code": "adult", "name": "Adult"},
                    {"code": "child", "name": "Child", "prices": {"A": 10000}},
                    {"code": "box", "name": "Box seat", "kind": "box"},
                ],
            },
        )
        assert event.status_code == 201, event.text
        self.event_id = event.json()["id"]
        now = time.time()
        spec = {
            "name": "Night 1",
            "starts_at": now + 86400,
            "ends_at": now + 86400 + 3 * 3600,
            "sale_starts_at": now - 60,
            "default_zone": "A",
            "seat_zones": [{"zone": "VIP", "rows": ["1"]}, {"zone": "BOX", "sections": ["BOX"]}],
            "ga": [{"area": "FLOOR", "zone": "FLOOR"}] if (layout or grid(ga=20)).get("ga_areas") else [],
        }
        spec.update(session or {})
        made_session = self.org.post(f"/api/events/{self.event_id}/sessions", json=spec)
        assert made_session.status_code == 201, made_session.text
        self.session_id = made_session.json()["id"]

    def buyer(self, email: str | None = None, phone: str | None = None) -> httpx.Client:
        body: dict[str, Any] = {"email": email or f"{uuid.uuid4().hex[:8]}@example.test"}
        if phone:
            body["phone"] = phone
        made = self.server.client().post("/api/accounts", json=body)
        assert made.status_code == 201, made.text
        client = self.server.client(made.json()["token"])
        client.headers["X-Device-Id"] = devices.issue(self.server.settings)  # as sign-in gives
        return client

    def feed_client(self) -> httpx.Client:
        made = self.org.post(f"/api/events/{self.event_id}/feed-clients", json={"name": "sync"})
        assert made.status_code == 201, made.text
        return self.server.client(made.json()["token"])


def hold(buyer: httpx.Client, session_id: int, **body: Any) -> httpx.Response:
    return buyer.post(f"/api/sessions/{session_id}/holds", json=body)


def order(buyer: httpx.Client, hold_id: int, key: str | None = None, **body: Any) -> httpx.Response:
    body.setdefault("email", "buyer@example.test")
    return buyer.post(
        "/api/orders", json={"hold_id": hold_id, **body}, headers={"Idempotency-Key": key or uuid.uuid4().hex}
    )


def pay(buyer: httpx.Client, order_id: int) -> dict[str, Any]:
    """Start a sandbox payment and confirm it on the bank's page, as the buyer would."""
    payment = buyer.post(f"/api/orders/{order_id}/payments", json={"provider": "sandbox"})
    assert payment.status_code == 201, payment.text
    confirmed = httpx.post(payment.json()["pay_url"], timeout=30)
    assert confirmed.status_code == 200, confirmed.text
    return payment.json()


def wait_status(buyer: httpx.Client, order_id: int, wanted: str, timeout: float = 15.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        current = buyer.get(f"/api/orders/{order_id}").json()
        if current["status"] == wanted or time.monotonic() > deadline:
            return current
        time.sleep(0.05)


def buy(concert: Concert, buyer: httpx.Client, **hold_body: Any) -> dict[str, Any]:
    """Hold, order, pay, wait for the tickets; returns the ticketed order."""
    held = hold(buyer, concert.session_id, **hold_body)
    assert held.status_code == 201, held.text
    made = order(buyer, held.json()["id"])
    assert made.status_code == 201, made.text
    pay(buyer, made.json()["id"])
    done = wait_status(buyer, made.json()["id"], "ticketed")
    assert done["status"] == "ticketed", done
    return done
