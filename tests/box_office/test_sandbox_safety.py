"""The sandbox payment provider is a development tool: off unless enabled, refused with its public
secret in production, and even when on, its bank pays only with the buyer's own token and the box
office sells only what the bank's books show as paid."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient

from box_office.api.app import create_app
from box_office.config import DEFAULT_SANDBOX_SECRET, ConfigError, Settings, load_settings
from box_office.payments.sandbox.client import signed_headers
from box_office.store.migrate import upgrade
from tests.box_office.conftest import Server
from tests.box_office.helpers import Concert, hold, order, wait_status


def test_the_sandbox_is_off_unless_enabled(tmp_path: Path) -> None:
    settings = load_settings({"BOX_OFFICE_STATE_DIR": str(tmp_path)})
    assert settings.sandbox is False
    assert load_settings({"BOX_OFFICE_STATE_DIR": str(tmp_path), "BOX_OFFICE_SANDBOX": "on"}).sandbox is True
    with pytest.raises(ConfigError, match="BOX_OFFICE_SANDBOX must be on or off"):
        load_settings({"BOX_OFFICE_STATE_DIR": str(tmp_path), "BOX_OFFICE_SANDBOX": "yes please"})


@pytest.mark.parametrize(
    "production",
    [
        {"BOX_OFFICE_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/nowhere"},
        {"BOX_OFFICE_ENV": "production"},
    ],
)
def test_a_production_start_refuses_the_sandbox_with_the_public_secret(
    tmp_path: Path, production: dict[str, str]
) -> None:
    env = {"BOX_OFFICE_STATE_DIR": str(tmp_path), "BOX_OFFICE_SANDBOX": "on"} | production
    with pytest.raises(ConfigError, match="BOX_OFFICE_SANDBOX_SECRET"):
        load_settings(env)
    assert load_settings(env | {"BOX_OFFICE_SANDBOX_SECRET": "a secret of our own"}).sandbox
    assert not load_settings(env | {"BOX_OFFICE_SANDBOX": "off"}).sandbox
    with pytest.raises(ConfigError, match="BOX_OFFICE_SANDBOX_SECRET"):  # built directly, too
        create_app(
            Settings("sqlite://", Fernet.generate_key(), tmp_path, environment="production", sandbox=True)
        )


def test_the_command_names_the_setting_to_change(tmp_path: Path) -> None:
    env = os.environ | {
        "BOX_OFFICE_STATE_DIR": str(tmp_path),
        "BOX_OFFICE_ENV": "production",
        "BOX_OFFICE_SANDBOX": "on",
        "BOX_OFFICE_SANDBOX_SECRET": "",
    }
    done = subprocess.run(
        [sys.executable, "-m", "box_office.cli", "serve"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and "BOX_OFFICE_SANDBOX_SECRET" in done.stderr, done.stderr


@pytest.fixture
def production_app(tmp_path: Path) -> Iterator[TestClient]:
    """A production start with no sandbox setting (a SQLite file stands in for its database)."""
    url = f"sqlite:///{tmp_path / 'production.sqlite3'}"
    upgrade(url)
    env = {
        "BOX_OFFICE_STATE_DIR": str(tmp_path),
        "BOX_OFFICE_DATABASE_URL": url,
        "BOX_OFFICE_ENV": "production",
    }
    with TestClient(create_app(load_settings(env), background=False)) as client:
        yield client


def test_a_production_start_exposes_no_sandbox(production_app: TestClient) -> None:
    paths = production_app.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if "sandbox" in p]
    assert production_app.get("/sandbox/pay/sbx_1").status_code == 404
    assert production_app.post("/sandbox/api/payments", content=b"{}").status_code == 404
    # A callback signed with the public default secret finds no sandbox provider to trust it.
    body = json.dumps(
        {"notify_id": "n1", "ref": "sbx_1", "merchant_order": "order-1", "status": "paid", "amount_cents": 1}
        | {"currency": "CNY"}
    ).encode()
    forged = production_app.post(
        "/api/payments/sandbox/notify", content=body, headers=signed_headers(DEFAULT_SANDBOX_SECRET, body)
    )
    assert forged.status_code == 404 and forged.json()["code"] == "unknown_provider"


def test_a_callback_signed_with_the_public_secret_is_refused_where_the_sandbox_has_its_own(
    server: Server,
) -> None:
    concert = Concert(server)
    buyer = concert.buyer()
    made = order(buyer, hold(buyer, concert.session_id, seats=["A-3-2"]).json()["id"]).json()
    payment = buyer.post(f"/api/orders/{made['id']}/payments", json={}).json()
    ref = payment["pay_url"].rsplit("/", 1)[1].split("?", 1)[0]
    body = json.dumps(
        {"notify_id": "public-1", "ref": ref, "merchant_order": f"order-{made['id']}", "status": "paid"}
        | {"amount_cents": made["total_cents"], "currency": "CNY"}
    ).encode()
    forged = httpx.post(
        f"{server.url}/api/payments/sandbox/notify",
        content=body,
        headers=signed_headers(DEFAULT_SANDBOX_SECRET, body),
    )
    assert forged.status_code == 401
    assert buyer.get(f"/api/orders/{made['id']}").json()["status"] == "pending_payment"


def test_the_bank_pays_only_with_the_buyers_token(server: Server) -> None:
    concert = Concert(server)
    buyer = concert.buyer()
    made = order(buyer, hold(buyer, concert.session_id, seats=["A-3-3"]).json()["id"]).json()
    pay_url = buyer.post(f"/api/orders/{made['id']}/payments", json={}).json()["pay_url"]
    bare, token = pay_url.split("?token=", 1)
    assert token
    assert httpx.get(bare).status_code == 404  # the reference alone shows nothing
    assert httpx.post(bare).status_code == 404  # ... and pays nothing
    assert httpx.post(f"{bare}?token={token[:-2]}xx").status_code == 404
    assert buyer.get(f"/api/orders/{made['id']}").json()["status"] == "pending_payment"
    page = httpx.get(pay_url)
    assert page.status_code == 200 and "Pay" in page.text
    assert httpx.post(pay_url).status_code == 200
    assert wait_status(buyer, made["id"], "ticketed")["status"] == "ticketed"


def test_cancelling_closes_the_open_payment(server: Server) -> None:
    concert = Concert(server)
    buyer = concert.buyer()
    made = order(buyer, hold(buyer, concert.session_id, seats=["A-3-7"]).json()["id"]).json()
    pay_url = buyer.post(f"/api/orders/{made['id']}/payments", json={}).json()["pay_url"]
    cancelled = buyer.post(f"/api/orders/{made['id']}/cancel").json()
    assert cancelled["status"] == "cancelled" and cancelled["payments"][0]["status"] == "closed"
    assert httpx.post(pay_url).status_code == 409  # the buyer can no longer pay a cancelled order
