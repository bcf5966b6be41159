"""Several workers share one cancellation job (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; on
SQLite they take turns): 150 orders, three workers at once, every order refunded exactly once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from box_office.aftersales import bulk
from box_office.context import Context
from box_office.notify.sms import CapturingSms
from box_office.wiring import default_providers
from tests.aftersales import test_bulk_cancel as seed
from tests.box_office.conftest import Server
from tests.box_office.helpers import Concert, grid

ORDERS = 150


class CountingMailer:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, message: object) -> None:
        self.sent.append(str(message["To"]))  # type: ignore[index]


def test_three_workers_share_a_job_and_refund_each_order_once(server: Server, monkeypatch: object) -> None:
    concert = Concert(server, layout=grid(rows=1, seats=2, ga=ORDERS))
    concert.buyer()
    url = server.settings.database_url
    monkeypatch.setattr(seed, "ORDERS", ORDERS)  # type: ignore[attr-defined]
    account = seed._scalar(url, "SELECT max(id) FROM accounts")
    seed._insert_orders(url, concert, account, base=2_000_000 + concert.session_id * 1000)
    ctx = Context.from_settings(server.settings)
    providers = default_providers(server.settings)
    job_id = bulk.start_cancel(ctx, concert.session_id)
    mailer, sms = CountingMailer(), CapturingSms()

    def worker(_: int) -> dict[str, int]:
        return bulk.run_job(ctx, providers, mailer, sms, job_id, rate=2000, batch=25, threads=4, poll=0.05)  # type: ignore[arg-type]

    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(worker, range(3)))
    assert all(r["done"] == ORDERS for r in results)
    session = concert.session_id
    orders = f"SELECT id FROM orders WHERE session_id = {session} AND total_cents > 0"
    assert seed._scalar(url, f"SELECT count(*) FROM refunds WHERE order_id IN ({orders})") == ORDERS
    assert (
        seed._scalar(url, f"SELECT count(DISTINCT order_id) FROM refunds WHERE order_id IN ({orders})")
        == ORDERS
    )
    paid = f"SELECT provider_ref FROM payments WHERE order_id IN ({orders})"
    assert (
        seed._scalar(
            url, f"SELECT count(*) FROM sandbox_payments WHERE ref IN ({paid}) AND refunded_cents = 15000"
        )
        == ORDERS
    )
    assert len(mailer.sent) >= ORDERS and len(set(mailer.sent)) == ORDERS
    ctx.db.dispose()
