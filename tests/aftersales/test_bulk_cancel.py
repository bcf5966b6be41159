"""``box-office sessions cancel``: 5,000 orders refunded through the sandbox provider, the CLI
killed with SIGKILL half-way and run again: every order refunded exactly once, none skipped,
every ticket revoked through the feed, every buyer told by e-mail and SMS."""

from __future__ import annotations

import email
import email.policy
import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from box_office.api.app import create_app
from box_office.notify.sms import CapturingSms
from box_office.store.migrate import upgrade
from tests.box_office.conftest import Server, settings_for, start_uvicorn
from tests.box_office.helpers import Concert, grid
from tests.local_services import free_port

ORDERS = 5000
PRICE = 15000
BIN = Path(sys.executable).parent


def _insert_orders(url: str, concert: Concert, account_id: int, base: int = 1_000_000) -> None:
    """5,000 ticketed, paid orders written straight into the store (and the sandbox bank's books)."""
    engine = sa.create_engine(url)
    now = time.time()
    meta = sa.MetaData()
    meta.reflect(engine, only=["holds", "orders", "tickets", "payments", "sandbox_payments", "session_ga"])
    t = meta.tables
    with engine.begin() as conn:
        ga_id = conn.execute(
            sa.select(t["session_ga"].c.id).where(t["session_ga"].c.session_id == concert.session_id)
        ).scalar_one()
        ids = range(base, base + ORDERS)
        conn.execute(
            t["holds"].insert(),
            [
                {"id": i, "session_id": concert.session_id, "account_id": account_id, "status": "converted",
                 "expires_at": now, "extended": False, "seat_count": 1, "created_at": now}
                for i in ids
            ],
        )  # fmt: skip
        conn.execute(
            t["orders"].insert(),
            [
                {"id": i, "session_id": concert.session_id, "account_id": account_id, "hold_id": i,
                 "idempotency_key": f"bulk-{i}", "request_digest": "x", "status": "ticketed",
                 "total_cents": PRICE, "currency": "CNY", "email": f"fan{i}@example.test",
                 "phone": f"+86 139{i:08d}", "expires_at": now, "created_at": now, "paid_at": now,
                 "ticketed_at": now}
                for i in ids
            ],
        )  # fmt: skip
        conn.execute(
            t["tickets"].insert(),
            [
                {"id": str(uuid.UUID(int=i)), "order_id": i, "event_id": concert.event_id,
                 "session_id": concert.session_id, "ga_id": ga_id, "zone": "FLOOR", "ticket_type": "adult",
                 "price_cents": PRICE, "status": "valid", "version": 1, "inside": False}
                for i in ids
            ],
        )  # fmt: skip
        conn.execute(
            t["payments"].insert(),
            [
                {"order_id": i, "provider": "sandbox", "provider_ref": f"bulk-{i}",
                 "amount_cents": PRICE, "currency": "CNY", "status": "succeeded", "pay_url": "",
                 "created_at": now, "settled_at": now}
                for i in ids
            ],
        )  # fmt: skip
        conn.execute(
            t["sandbox_payments"].insert(),
            [
                {"ref": f"bulk-{i}", "merchant_order": f"order-{i}", "amount_cents": PRICE, "currency": "CNY",
                 "notify_url": "", "status": "paid", "refunded_cents": 0, "created_at": now, "paid_at": now}
                for i in ids
            ],
        )  # fmt: skip
        conn.execute(sa.update(t["session_ga"]).where(t["session_ga"].c.id == ga_id).values(sold=ORDERS))
    engine.dispose()


def _scalar(url: str, sql: str, **params: object) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text(sql), params).scalar_one() or 0)
    finally:
        engine.dispose()


@pytest.mark.timeout(400)
def test_cancel_5000_orders_killed_half_way_and_resumed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bo.sqlite3'}"
    upgrade(url)
    port = free_port()
    secret = secrets.token_hex(16)
    settings = settings_for(url, tmp_path, port, sandbox_secret=secret)
    app = create_app(settings, sms=CapturingSms())
    uv, thread = start_uvicorn(app, port)
    try:
        server = Server(f"http://127.0.0.1:{port}", "sqlite", CapturingSms(), None, settings)  # type: ignore[arg-type]
        concert = Concert(server, layout=grid(rows=1, seats=2, ga=ORDERS))
        buyer = concert.buyer()
        account_id = int(
            buyer.get("/api/orders").request.headers and _scalar(url, "SELECT max(id) FROM accounts")
        )
        _insert_orders(url, concert, account_id)
        state = tmp_path / "cli"
        env = os.environ | {
            "BOX_OFFICE_DATABASE_URL": url,
            "BOX_OFFICE_STATE_DIR": str(state),
            "BOX_OFFICE_SANDBOX": "on",
            "BOX_OFFICE_SANDBOX_SECRET": secret,
            "BOX_OFFICE_SANDBOX_URL": server.url,
        }
        env.pop("BOX_OFFICE_SMTP_HOST", None)
        argv = [str(BIN / "box-office"), "sessions", "cancel", str(concert.session_id), "--rate", "5000"]

        first = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 200
        refunded = 0
        while time.monotonic() < deadline and first.poll() is None:
            refunded = _scalar(url, "SELECT count(*) FROM refunds WHERE status = 'succeeded'")
            if refunded >= ORDERS // 3:
                break
            time.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        assert first.wait(30) == -signal.SIGKILL
        assert ORDERS // 3 <= refunded < ORDERS, "the kill did not land half-way"
        done_before = _scalar(url, "SELECT count(*) FROM bulk_job_orders WHERE state = 'done'")
        assert done_before < ORDERS

        second = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
        assert second.returncode == 0, second.stderr[-2000:]
        assert f"{ORDERS}/{ORDERS} orders refunded and told" in second.stderr

        # every order refunded exactly once, in full, at the bank too; none skipped
        assert _scalar(url, "SELECT count(*) FROM refunds") == ORDERS
        assert (
            _scalar(url, "SELECT count(DISTINCT order_id) FROM refunds WHERE status = 'succeeded'") == ORDERS
        )
        assert _scalar(url, "SELECT count(*) FROM refunds WHERE amount_cents <> :p", p=PRICE) == 0
        assert (
            _scalar(url, "SELECT count(*) FROM sandbox_payments WHERE refunded_cents = :p", p=PRICE) == ORDERS
        )
        assert _scalar(url, "SELECT count(*) FROM sandbox_payments WHERE refunded_cents <> :p", p=PRICE) == 0
        assert _scalar(url, "SELECT count(*) FROM orders WHERE status = 'refunded'") == ORDERS
        assert _scalar(url, "SELECT count(*) FROM payments WHERE status = 'refunded'") == ORDERS
        # revoked at the gates through the feed, stock back
        assert _scalar(url, "SELECT count(*) FROM tickets WHERE status <> 'revoked'") == 0
        revoked = (
            "SELECT count(DISTINCT ticket_id) FROM feed_entries WHERE kind = 'revoked' AND event_id = :e"
        )
        assert _scalar(url, revoked, e=concert.event_id) == ORDERS
        assert (
            _scalar(url, "SELECT sum(sold) FROM session_ga WHERE session_id = :s", s=concert.session_id) == 0
        )
        # every buyer told, in Chinese and English, by e-mail and SMS
        mails = list((state / "mail").glob("*.eml"))
        assert len(mails) == ORDERS
        sample = email.message_from_bytes(mails[0].read_bytes(), policy=email.policy.default)
        body = sample.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert "演出取消 / Show cancelled" in sample["Subject"]
        assert "已取消" in body and "has been cancelled" in body and "150.00 CNY" in body
        sms_lines = (state / "sms.log").read_text(encoding="utf-8").splitlines()
        told = {line for line in sms_lines if "已取消" in line and "cancelled" in line}
        assert len({line.split("订单")[1].split("已")[0] for line in told}) == ORDERS
        # the session sells nothing more
        assert concert.buyer().post(
            f"/api/sessions/{concert.session_id}/holds", json={"ga": [{"area": "FLOOR", "quantity": 1}]}
        ).status_code in (409, 422)
    finally:
        uv.should_exit = True
        thread.join(timeout=10)
