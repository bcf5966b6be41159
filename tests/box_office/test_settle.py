"""The settle step sells only what the provider vouches for: a capture (``paid``) of the payment's
exact amount and currency. Checked with a provider of our own through the registry, so the
check is the box office's, whatever a provider's own verification does."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient

from box_office.api.app import create_app
from box_office.payments.provider import Capture, CreatedPayment, PaymentState, ProviderRegistry
from box_office.store.migrate import upgrade
from tests.box_office.conftest import settings_for
from tests.box_office.helpers import Concert, hold, order


class TrustingProvider:
    """A provider whose notifications are whatever the test posts (its verification is not
    under test here: the settle step's checks are)."""

    name = "trusting"

    def __init__(self) -> None:
        self.created: dict[str, tuple[int, str]] = {}

    def create(
        self, merchant_order: str, amount_cents: int, currency: str, notify_url: str
    ) -> CreatedPayment:
        ref = f"t{len(self.created) + 1}"
        self.created[ref] = (amount_cents, currency)
        return CreatedPayment(ref, f"https://pay.invalid/{ref}", f"https://pay.invalid/{ref}")

    def verify_notification(self, headers: dict[str, str], body: bytes) -> Capture:
        return Capture(**json.loads(body))

    def query(self, ref: str) -> PaymentState:
        amount, currency = self.created[ref]
        return PaymentState(ref, "created", amount, 0, currency)

    close = refund_status = query

    def refund(self, ref: str, amount_cents: int) -> PaymentState:
        return self.query(ref)


class InProcess:
    """Enough of ``conftest.Server`` for the helpers: clients of an app served in this process."""

    def __init__(self, app: Any, settings: Any) -> None:
        self.app = app
        self.settings = settings  # the helpers sign device ids with its key, as sign-in does
        self.url = "http://testserver"

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return TestClient(self.app, headers=headers)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[InProcess]:
    url = f"sqlite:///{tmp_path / 'settle.sqlite3'}"
    upgrade(url)
    settings = settings_for(
        url, tmp_path, 8000, sandbox=False, open_accounts=True, secret_key=Fernet.generate_key()
    )
    app = create_app(settings, providers=ProviderRegistry([TrustingProvider()]), background=False)
    with TestClient(app):
        yield InProcess(app, settings)


def test_only_a_capture_of_the_exact_amount_and_currency_sells(served: InProcess) -> None:
    concert = Concert(served)  # type: ignore[arg-type]
    buyer = concert.buyer()
    made = order(buyer, hold(buyer, concert.session_id, seats=["A-2-5"]).json()["id"]).json()
    payment = buyer.post(f"/api/orders/{made['id']}/payments", json={"provider": "trusting"}).json()
    ref, total = payment["pay_url"].rsplit("/", 1)[1], made["total_cents"]
    notify = served.client()

    def tell(event_id: str, **fact: Any) -> httpx.Response:
        body = {"event_id": event_id, "ref": ref, "status": "paid", "amount_cents": total, "currency": "CNY"}
        return notify.post("/api/payments/trusting/notify", content=json.dumps(body | fact))

    short = tell("e1", amount_cents=total - 1)
    assert short.status_code == 422 and short.json()["code"] == "amount_mismatch"
    other_money = tell("e2", currency="USD")
    assert other_money.status_code == 422 and other_money.json()["code"] == "amount_mismatch"
    unpaid = tell("e3", status="created")
    assert unpaid.status_code == 200 and unpaid.json()["outcome"] == "ignored"
    assert buyer.get(f"/api/orders/{made['id']}").json()["status"] == "pending_payment"
    assert tell("e4").json()["outcome"] == "paid"
    assert buyer.get(f"/api/orders/{made['id']}").json()["status"] == "ticketed"
    assert tell("e4").status_code == 409  # the same fact twice: a replay
