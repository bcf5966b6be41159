"""Buying through the box office's API and paying at the WeChat Pay emulator, as a buyer would."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
from sqlalchemy import text

from box_office.store.db import Database
from tests.box_office.helpers import Concert, hold, order
from tests.payments.conftest import WeChatWorld, wait_for

DESKTOP = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120 Safari/537.36"
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
WECHAT = IPHONE + " MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN"


def open_order(concert: Concert, buyer: httpx.Client, seat: str) -> dict[str, Any]:
    held = hold(buyer, concert.session_id, seats=[seat])
    assert held.status_code == 201, held.text
    made = order(buyer, held.json()["id"])
    assert made.status_code == 201, made.text
    result: dict[str, Any] = made.json()
    return result


def start(buyer: httpx.Client, order_id: int, agent: str = DESKTOP, **body: Any) -> httpx.Response:
    return buyer.post(
        f"/api/orders/{order_id}/payments", json={"provider": "wechat", **body}, headers={"User-Agent": agent}
    )


def token_of(pay_url: str) -> str:
    found = re.search(r"/pay/([^/?]+)", pay_url)
    assert found, pay_url
    return found.group(1)


def buyer_pays(world: WeChatWorld, pay_url: str, what: str = "pay") -> httpx.Response:
    """The buyer presses a button on the emulator's payment page."""
    return httpx.post(
        f"{world.emu.url}/pay/{token_of(pay_url)}/do", data={"what": what}, follow_redirects=False, timeout=30
    )


def order_now(buyer: httpx.Client, order_id: int) -> dict[str, Any]:
    result: dict[str, Any] = buyer.get(f"/api/orders/{order_id}").json()
    return result


def wait_order(buyer: httpx.Client, order_id: int, status: str) -> dict[str, Any]:
    found: dict[str, Any] = wait_for(
        lambda: (o := order_now(buyer, order_id))["status"] == status and o, what=f"order {status}"
    )
    return found


def lapse_hold(world: WeChatWorld, order_id: int) -> None:
    """The order's hold (and so the order) runs out of time while the buyer is still paying."""
    db = Database(world.server.settings.database_url)
    try:
        with db.engine.begin() as conn:
            hold_id = conn.execute(
                text("SELECT hold_id FROM orders WHERE id = :o"), {"o": order_id}
            ).scalar_one()
            past = {"past": time.time() - 60, "id": hold_id}
            conn.execute(text("UPDATE holds SET expires_at = :past WHERE id = :id"), past)
            conn.execute(text("UPDATE session_seats SET hold_expires_at = :past WHERE hold_id = :id"), past)
            conn.execute(text("UPDATE orders SET expires_at = :past WHERE hold_id = :id"), past)
    finally:
        db.dispose()


def count(world: WeChatWorld, sql: str, **params: Any) -> int:
    db = Database(world.server.settings.database_url)
    try:
        with db.engine.connect() as conn:
            return int(conn.execute(text(sql), params).scalar_one())
    finally:
        db.dispose()
