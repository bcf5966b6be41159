"""If tickets cannot be signed when the payment arrives (a key cannot be opened, say), the
payment is still recorded and the order stays ``paid``; the sweeper issues it later. Money is
never refused or lost because issuing went wrong."""

from __future__ import annotations

import httpx
import pytest

from box_office.context import Context
from box_office.sales import issuing
from box_office.store.db import Database
from box_office.vault import Vault
from tests.box_office.conftest import Server
from tests.box_office.helpers import Concert, hold, order, pay


def test_payment_recorded_when_signing_fails_and_sweeper_issues(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    concert = Concert(server)
    buyer = concert.buyer()
    made = order(buyer, hold(buyer, concert.session_id, seats=["A-2-7"]).json()["id"]).json()

    def broken_key(*_args: object) -> None:
        raise RuntimeError("the key vault is unreachable")

    monkeypatch.setattr(issuing, "active_signing_key", broken_key)
    pay(buyer, made["id"])
    paid = buyer.get(f"/api/orders/{made['id']}", params={"wait": 3}).json()
    assert paid["status"] == "paid" and paid["paid_at"] is not None
    assert [p["status"] for p in paid["payments"]] == ["succeeded"]
    assert all(t["status"] == "pending" and t["token"] is None for t in paid["tickets"])

    monkeypatch.undo()
    ctx = Context(
        settings=server.settings,
        db=Database(server.settings.database_url),
        vault=Vault(server.settings.secret_key),
    )
    try:
        assert issuing.issue_pending(ctx) >= 1
    finally:
        ctx.db.dispose()
    done = buyer.get(f"/api/orders/{made['id']}").json()
    assert done["status"] == "ticketed" and all(t["token"] for t in done["tickets"])
    assert httpx.get(f"{server.url}/healthz").status_code == 200
