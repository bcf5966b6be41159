"""CPU per settle, WeChat Pay beside the sandbox: one notification verified (WeChat: RSA
signature, AES-256-GCM ``resource`` decrypted; sandbox: HMAC and the bank's books), the order
settled and its tickets signed and queued — :func:`box_office.sales.settle.handle_notification`
called directly, timed with the calling thread's CPU clock (``time.thread_time``).

A box office (SQLite, so the database work runs in this thread and is counted) and the WeChat
Pay emulator run in this process on loopback; orders and payments are made over HTTP first (not
timed). The notifications are genuine: built and signed by the emulator with its own keys
(WeChat) or with the merchant secret after the bank's books say paid (sandbox).

    python bench/payments_settle.py --n 200
"""

from __future__ import annotations

import argparse
import json
import platform
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from box_office.api.app import create_app
from box_office.notify.sms import CapturingSms
from box_office.payments.sandbox.client import signed_headers
from box_office.sales.settle import handle_notification
from box_office.store.db import Database
from box_office.store.migrate import upgrade
from payment_emulators.wechat.keys import write_kit
from payment_emulators.wechat.server import serve_in_thread
from tests.box_office.conftest import Server, settings_for, start_uvicorn
from tests.box_office.helpers import Concert, grid
from tests.local_services import free_port


def _orders(server: Server, provider: str, n: int) -> list[dict[str, Any]]:
    concert = Concert(server, layout=grid(rows=max(2, n // 10 + 1), seats=10))
    made = []
    for k in range(n):
        buyer = concert.buyer()
        seat = f"A-{k // 10 + 1}-{k % 10 + 1}"
        held = buyer.post(f"/api/sessions/{concert.session_id}/holds", json={"seats": [seat]})
        assert held.status_code == 201, held.text
        order = buyer.post(
            "/api/orders",
            json={"hold_id": held.json()["id"], "email": f"b{k}@example.test"},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        assert order.status_code == 201, order.text
        payment = buyer.post(f"/api/orders/{order.json()['id']}/payments", json={"provider": provider})
        assert payment.status_code == 201, payment.text
        made.append(payment.json())
    return made


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-pay-"))
    emu = serve_in_thread()
    kit = write_kit(tmp / "kit", emu.emulator.platform, emu.emulator.merchant, emu.url)
    url = f"sqlite:///{tmp / 'bench.sqlite3'}"
    upgrade(url)
    port = free_port()
    settings = settings_for(url, tmp, port, extra={"no_orphan_seats": "off"} | kit)
    app = create_app(settings, sms=CapturingSms())
    uv, thread = start_uvicorn(app, port)
    state = app.state.box_office
    server = Server(f"http://127.0.0.1:{port}", "sqlite", CapturingSms(), None, settings)  # type: ignore[arg-type]
    results: dict[str, Any] = {}
    try:
        for name in ("wechat", "sandbox"):
            provider = state.providers.get(name)
            payments = _orders(server, name, args.n)
            notes: list[tuple[dict[str, str], bytes]] = []
            if name == "wechat":
                for p in payments:
                    trade = next(t for t in emu.emulator.trades.values() if t.token in p["pay_url"])
                    body = emu.call(emu.emulator.mark_paid, trade)
                    headers = {k.lower(): v for k, v in emu.emulator.signed_headers(body).items()}
                    notes.append((headers, body))
            else:
                db = Database(url)
                with db.engine.begin() as conn:
                    for p in payments:
                        ref = p["pay_url"].split("/pay/")[1].split("?")[0]
                        conn.execute(
                            text("UPDATE sandbox_payments SET status = 'paid' WHERE ref = :r"), {"r": ref}
                        )
                        row = conn.execute(
                            text(
                                "SELECT merchant_order, amount_cents, currency FROM sandbox_payments"
                                " WHERE ref = :r"
                            ),
                            {"r": ref},
                        ).one()
                        body = json.dumps(
                            {
                                "notify_id": "ntf_" + secrets.token_hex(12),
                                "ref": ref,
                                "merchant_order": row[0],
                                "status": "paid",
                                "amount_cents": row[1],
                                "currency": row[2],
                            }
                        ).encode()
                        notes.append((signed_headers(settings.sandbox_secret, body), body))
                db.dispose()
            verify = []
            for headers, body in notes:  # the verification alone (nothing recorded: repeatable)
                started = time.thread_time()
                provider.verify_notification(headers, body)
                verify.append((time.thread_time() - started) * 1000)
            cpu = []
            for headers, body in notes:
                started = time.thread_time()
                outcome = handle_notification(state.ctx, provider, headers, body)
                cpu.append((time.thread_time() - started) * 1000)
                assert outcome["outcome"] == "paid", outcome
            cpu.sort()
            results[name] = {
                "n": len(cpu),
                "median_ms": round(statistics.median(cpu), 2),
                "p90_ms": round(cpu[int(len(cpu) * 0.9) - 1], 2),
                "mean_ms": round(statistics.fmean(cpu), 2),
                "verify_only_median_ms": round(statistics.median(verify), 2),
            }
    finally:
        uv.should_exit = True
        thread.join(10)
        emu.stop()
    print(
        json.dumps({"machine": platform.platform(), "python": platform.python_version(), **results}, indent=2)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
