"""Helpers for the promotions tests: a concert, campaigns and coupons made through the real API."""

from __future__ import annotations

from typing import Any

import httpx

from tests.box_office.helpers import Concert, hold, order


def make(client: httpx.Client, path: str, body: dict[str, Any], status: int = 201) -> dict[str, Any]:
    response = client.post(path, json=body)
    assert response.status_code == status, response.text
    result: dict[str, Any] = response.json()
    return result


def coupon(concert: Concert, **spec: Any) -> dict[str, Any]:
    spec.setdefault("name", "Coupon")
    return make(concert.org, f"/api/events/{concert.event_id}/coupons", spec)


def held_order(concert: Concert, buyer: httpx.Client, **order_body: Any) -> httpx.Response:
    """Hold one seat of zone A (best available), then order it with ``order_body``."""
    held = hold(buyer, concert.session_id, best_available={"zone": "A", "quantity": 1})
    assert held.status_code == 201, held.text
    return order(buyer, held.json()["id"], **order_body)
