"""CPU per settle for Alipay and cards, beside the sandbox: ``python -m bench.settle_alipay_card [N]``.

A real box office (uvicorn on loopback, SQLite) with the sandbox, Alipay (python-alipay-sdk,
keys of its own, the emulator's public key) and cards (stripe, pointed at the card emulator) in
its registry. For each provider, N orders are made and their payments started through the API;
then each payment's genuine notification (sandbox: HMAC-signed JSON checked against the bank's
books; Alipay: RSA2-signed form from the emulator's key; cards: a Stripe-Signature webhook) is
handed to ``settle.handle_notification`` in this thread, timed with ``time.thread_time``: the
notification verified, the order settled, its tickets signed and queued — CPU only, so the
figure holds on a loaded machine (wall time is printed too).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet
from sqlalchemy import select, update

from box_office.api.app import create_app
from box_office.config import Settings
from box_office.payments.alipay import settings as alipay_settings
from box_office.payments.alipay.provider import AlipayProvider
from box_office.payments.card import settings as card_settings
from box_office.payments.card.provider import CardProvider
from box_office.payments.provider import PaymentProvider, ProviderRegistry
from box_office.payments.sandbox import bank
from box_office.payments.sandbox.client import SandboxProvider, signed_headers
from box_office.payments.sandbox.table import SandboxPayment
from box_office.sales import settle
from box_office.store.migrate import upgrade
from box_office.store.models import Payment
from payment_emulators.alipay.server import AlipayEmulator, Trade
from payment_emulators.card.server import CardEmulator
from tests.box_office.conftest import start_uvicorn
from tests.box_office.helpers import Concert, grid, hold, order
from tests.local_services import free_port
from tests.payments_alipay_card.conftest import APP_ID, SELLER_ID, Running, rsa_pem


class Office:
    def __init__(self, url: str) -> None:
        self.url = url

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30.0)


def main(n: int = 40) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench_settle_"))
    url = f"sqlite:///{tmp / 'bench.sqlite3'}"
    upgrade(url)
    port = free_port()
    secret = Fernet.generate_key()
    settings = Settings(
        database_url=url,
        secret_key=secret,
        state_dir=tmp,
        public_url=f"http://127.0.0.1:{port}",
        sandbox=True,
        sandbox_secret="bench-" + os.urandom(8).hex(),
        sweep_interval=3600.0,
    )

    private, public = rsa_pem()
    (tmp / "app.pem").write_text(private)
    alipay_emulator = AlipayEmulator("http://127.0.0.1:1")
    alipay_emulator.register_app(APP_ID, public, SELLER_ID)
    (tmp / "alipay.pem").write_text(alipay_emulator.public_key_pem)
    alipay_loaded = alipay_settings.load(
        {
            "BOX_OFFICE_ALIPAY_APP_ID": APP_ID,
            "BOX_OFFICE_ALIPAY_SELLER_ID": SELLER_ID,
            "BOX_OFFICE_ALIPAY_APP_PRIVATE_KEY_FILE": str(tmp / "app.pem"),
            "BOX_OFFICE_ALIPAY_PUBLIC_KEY_FILE": str(tmp / "alipay.pem"),
            "BOX_OFFICE_ALIPAY_GATEWAY": "http://127.0.0.1:1/gateway.do",
        }
    )
    card_port = free_port()
    card_emulator = CardEmulator(
        "sk_test_bench0000000", "whsec_bench00000000", f"http://127.0.0.1:{card_port}"
    )
    card_running = Running(card_emulator.app(), card_port)
    card_loaded = card_settings.load(
        {
            "BOX_OFFICE_CARD_SECRET_KEY": "sk_test_bench0000000",
            "BOX_OFFICE_CARD_WEBHOOK_SECRET": "whsec_bench00000000",
            "BOX_OFFICE_CARD_API_BASE": card_running.url,
        }
    )
    assert alipay_loaded is not None and card_loaded is not None
    app = create_app(settings, providers=ProviderRegistry([]), background=False)
    ctx = app.state.box_office.ctx
    from functools import partial

    sandbox = SandboxProvider(settings.sandbox_base, settings.sandbox_secret, books=partial(bank.books, ctx))
    providers: list[PaymentProvider] = [sandbox, AlipayProvider(alipay_loaded), CardProvider(card_loaded)]
    app.state.box_office.providers = ProviderRegistry(providers)
    server, thread = start_uvicorn(app, port)
    office = Office(f"http://127.0.0.1:{port}")
    concert = Concert(office, layout=grid(rows=20, seats=20))  # type: ignore[arg-type]
    seats = iter(f"A-{r}-{s}" for r in range(1, 21) for s in range(1, 21))
    results: dict[str, dict[str, float]] = {}
    try:
        for provider in providers:
            notices: list[tuple[dict[str, str], bytes]] = []
            for _ in range(n):
                buyer = concert.buyer()
                made = order(buyer, hold(buyer, concert.session_id, seats=[next(seats)]).json()["id"]).json()
                started = buyer.post(f"/api/orders/{made['id']}/payments", json={"provider": provider.name})
                assert started.status_code == 201, started.text
                with ctx.db.read() as db:
                    ref = db.scalar(select(Payment.provider_ref).where(Payment.order_id == made["id"]))
                notices.append(
                    notice(
                        provider.name,
                        str(ref),
                        made["total_cents"],
                        ctx,
                        sandbox,
                        alipay_emulator,
                        card_running,
                        card_emulator,
                    )
                )
            cpu, wall, verify = [], [], []
            for headers, body in notices:
                v0 = time.thread_time()
                provider.verify_notification(headers, body)  # the check alone (it runs again in the settle)
                verify.append((time.thread_time() - v0) * 1000)
                c0, w0 = time.thread_time(), time.perf_counter()
                outcome = settle.handle_notification(ctx, provider, headers, body)
                cpu.append((time.thread_time() - c0) * 1000)
                wall.append((time.perf_counter() - w0) * 1000)
                assert outcome["outcome"] == "paid", outcome
            results[provider.name] = {
                "cpu_median": statistics.median(cpu),
                "cpu_mean": statistics.fmean(cpu),
                "wall_median": statistics.median(wall),
                "verify_median": statistics.median(verify),
            }
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        card_running.stop()
    load = os.getloadavg()
    print(f"N={n} per provider; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print("| provider | CPU ms per settle (median) | CPU ms (mean) | verification alone | wall ms (median) |")
    print("|---|---|---|---|---|")
    for name, r in results.items():
        cells = [r["cpu_median"], r["cpu_mean"], r["verify_median"], r["wall_median"]]
        print(f"| {name} | " + " | ".join(f"{c:.2f}" for c in cells) + " |")


def notice(
    name: str,
    ref: str,
    total: int,
    ctx: Any,
    sandbox: SandboxProvider,
    alipay: AlipayEmulator,
    card_running: Running,
    card: CardEmulator,
) -> tuple[dict[str, str], bytes]:
    """The provider's own notification that ``ref`` was paid (the provider's books say so too)."""
    if name == "sandbox":
        ctx.db.write(
            lambda db: db.execute(
                update(SandboxPayment).where(SandboxPayment.ref == ref).values(status="paid")
            )
        )
        body = json.dumps(
            {
                "notify_id": "ntf_" + os.urandom(8).hex(),
                "ref": ref,
                "merchant_order": "x",
                "status": "paid",
                "amount_cents": total,
                "currency": "CNY",
            }
        ).encode()
        return signed_headers(sandbox.secret, body), body
    if name == "alipay":
        trade = Trade(
            app_id=APP_ID,
            out_trade_no=ref,
            subject="bench",
            total=total,
            notify_url="",
            return_url="",
            method="alipay.trade.page.pay",
            product_code="FAST_INSTANT_TRADE_PAY",
            status="TRADE_SUCCESS",
        )
        return {"content-type": "application/x-www-form-urlencoded"}, urllib.parse.urlencode(
            alipay.notification(trade)
        ).encode()
    intent = card_running.call(
        lambda: card.public(card.intents[ref] | {"status": "succeeded", "amount_received": total})
    )
    payload = json.dumps(
        {
            "id": "evt_" + os.urandom(8).hex(),
            "object": "event",
            "type": "payment_intent.succeeded",
            "created": int(time.time()),
            "data": {"object": intent},
        }
    ).encode()
    return {"Stripe-Signature": card.signature_header(payload)}, payload


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 40)
