"""End to end through a real box office (uvicorn on loopback, migrated database) with Alipay and
cards registered in its provider registry: the buyer pays on the emulator's page, the emulator
notifies ``POST /api/payments/{provider}/notify``, the order is ticketed. Forged, wrong-amount and
replayed notifications are answered 4xx and change nothing; Alipay gets its exact ``success``.
Runs on SQLite and on PostgreSQL (a long Alipay pay URL must fit: migration 0006_alipay_card)."""

from __future__ import annotations

import dataclasses
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from box_office.api.app import create_app
from box_office.config import Settings
from box_office.payments.provider import ProviderRegistry
from box_office.store.migrate import upgrade
from tests.box_office.conftest import database_url, drop_postgres, settings_for, start_uvicorn
from tests.box_office.helpers import Concert, hold, order, wait_status
from tests.local_services import free_port
from tests.payments_alipay_card.conftest import AlipayWorld, CardWorld, wait_for


class Office:
    def __init__(self, url: str, database_url: str, settings: Settings) -> None:
        self.url = url
        self.database_url = database_url
        self.settings = settings  # the helpers sign device ids with its key, as sign-in does

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30.0)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def office(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    alipay_world: AlipayWorld,
    card_world: CardWorld,
) -> Iterator[Office]:
    backend: str = request.param
    tmp: Path = tmp_path_factory.mktemp(f"office_{backend}")
    url = database_url(backend, tmp, "alipay_card")
    upgrade(url)
    port = free_port()
    settings = settings_for(
        url, tmp, port, sandbox=False, open_accounts=True
    )  # accounts by the dev shortcut: payments are under test here
    providers = ProviderRegistry([alipay_world.provider(), card_world.provider()])
    app = create_app(settings, providers=providers)
    server, thread = start_uvicorn(app, port)
    card_world.webhook(
        f"http://127.0.0.1:{port}/api/payments/card/notify",
        ("payment_intent.succeeded", "payment_intent.canceled", "payment_intent.payment_failed"),
    )
    yield Office(f"http://127.0.0.1:{port}", url, settings)
    server.should_exit = True
    thread.join(timeout=10)
    if backend == "postgres":
        drop_postgres(url)


def new_order(office: Office) -> tuple[httpx.Client, int, int]:
    concert = Concert(office)  # type: ignore[arg-type]
    buyer = concert.buyer()
    held = hold(buyer, concert.session_id, seats=["A-3-1"])
    assert held.status_code == 201, held.text
    made = order(buyer, held.json()["id"])
    assert made.status_code == 201, made.text
    return buyer, made.json()["id"], made.json()["total_cents"]


def pay_at_cashier(pay_url: str) -> None:
    with httpx.Client(follow_redirects=True, timeout=10) as browser:
        page = browser.get(pay_url)
        assert page.status_code == 200, page.text
        browser.post(str(page.url), data={"action": "pay"}, follow_redirects=False)


def test_alipay_end_to_end_with_forged_wrong_amount_and_replayed_notices(
    office: Office, alipay: AlipayWorld
) -> None:
    buyer, order_id, _total = new_order(office)
    started = buyer.post(f"/api/orders/{order_id}/payments", json={"provider": "alipay"})
    assert started.status_code == 201, started.text
    pay_url = started.json()["pay_url"]
    assert len(pay_url) > 500  # the signed page-pay URL: fits since 0006_alipay_card
    ref = (
        urllib.parse.parse_qs(urllib.parse.urlparse(pay_url).query)["biz_content"][0]
        .split('"out_trade_no":"')[1]
        .split('"')[0]
    )
    notify = office.url + "/api/payments/alipay/notify"
    form = {"content-type": "application/x-www-form-urlencoded"}

    assert buyer.get(f"/api/orders/{order_id}").json()["status"] == "pending_payment"

    pay_at_cashier(pay_url)
    done = wait_status(buyer, order_id, "ticketed")
    assert done["status"] == "ticketed", done
    acks = wait_for(
        lambda: alipay.running.call(
            lambda: [
                d
                for d in alipay.emulator.deliveries
                if d["fields"]["out_trade_no"] == ref and d["body"] == "success"
            ]
        )
    )
    assert acks and acks[0]["status"] == 200  # the exact 7 characters Alipay wants
    genuine = acks[0]["fields"]

    replay = httpx.post(notify, content=urllib.parse.urlencode(genuine), headers=form)
    assert replay.status_code == 409
    forged = httpx.post(
        notify,
        content=urllib.parse.urlencode(genuine | {"notify_id": "x1", "total_amount": "0.01"}),
        headers=form,
    )
    assert forged.status_code == 401
    wrong_seller = httpx.post(
        notify, content=urllib.parse.urlencode(genuine | {"seller_id": "2088999999999999"}), headers=form
    )
    assert wrong_seller.status_code == 401
    after = buyer.get(f"/api/orders/{order_id}").json()
    assert after["status"] == "ticketed" and after == buyer.get(f"/api/orders/{order_id}").json()


def test_alipay_wrong_amount_before_payment_changes_nothing(office: Office, alipay: AlipayWorld) -> None:
    buyer, order_id, total = new_order(office)
    started = buyer.post(f"/api/orders/{order_id}/payments", json={"provider": "alipay"})
    pay_url = started.json()["pay_url"]
    with httpx.Client(follow_redirects=True, timeout=10) as browser:
        assert browser.get(pay_url).status_code == 200  # the cashier knows the trade now
    ref = alipay.running.call(
        lambda: [t for t in alipay.emulator.trades.values() if t.total == total][-1].out_trade_no
    )

    def notice() -> dict[str, str]:
        trade = alipay.emulator.trades[ref]
        return alipay.emulator.notification(
            dataclasses.replace(trade, total=total - 1, status="TRADE_SUCCESS")
        )

    wrong = alipay.running.call(notice)
    answer = httpx.post(
        office.url + "/api/payments/alipay/notify",
        content=urllib.parse.urlencode(wrong),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 422 and "amount" in answer.text
    assert buyer.get(f"/api/orders/{order_id}").json()["status"] == "pending_payment"


def test_card_with_3ds_end_to_end(office: Office, card: CardWorld) -> None:
    buyer, order_id, _ = new_order(office)
    started = buyer.post(f"/api/orders/{order_id}/payments", json={"provider": "card"})
    assert started.status_code == 201, started.text
    with httpx.Client(timeout=10) as browser:
        page = browser.get(started.json()["pay_url"])
        assert "UnionPay" in page.text and "3-D Secure" in page.text
        challenge = browser.post(
            started.json()["pay_url"], data={"payment_method": "pm_card_threeDSecure2Required"}
        )
        assert challenge.status_code == 302
        assert buyer.get(f"/api/orders/{order_id}").json()["status"] == "pending_payment"
        browser.post(challenge.headers["location"], data={"action": "complete"})
    done = wait_status(buyer, order_id, "ticketed")
    assert done["status"] == "ticketed", done


def test_provider_down_is_a_503_and_nothing_is_made(office: Office, card: CardWorld) -> None:
    buyer, order_id, _ = new_order(office)
    card.switches(fail_5xx=1)
    answer = buyer.post(f"/api/orders/{order_id}/payments", json={"provider": "card"})
    assert answer.status_code == 503, answer.text
    assert buyer.get(f"/api/orders/{order_id}").json()["status"] == "pending_payment"
    retried = buyer.post(f"/api/orders/{order_id}/payments", json={"provider": "card"})
    assert retried.status_code == 201, retried.text


def test_duplicate_notifications_settle_once(office: Office, alipay: AlipayWorld, card: CardWorld) -> None:
    alipay.switches(duplicate_notify=True)
    buyer, order_id, _ = new_order(office)
    pay_url = buyer.post(f"/api/orders/{order_id}/payments", json={"provider": "alipay"}).json()["pay_url"]
    pay_at_cashier(pay_url)
    assert wait_status(buyer, order_id, "ticketed")["status"] == "ticketed"
    ref = urllib.parse.parse_qs(urllib.parse.urlparse(pay_url).query)["biz_content"][0]
    ref = ref.split('"out_trade_no":"')[1].split('"')[0]

    def answers() -> list[int] | None:
        got = alipay.running.call(
            lambda: sorted(
                d["status"] for d in alipay.emulator.deliveries if d["fields"]["out_trade_no"] == ref
            )
        )
        return got if len(got) >= 2 else None

    assert wait_for(answers)[:2] == [200, 409]  # one settle; the copy is a replay
    tickets = buyer.get(f"/api/orders/{order_id}").json()
    assert tickets["status"] == "ticketed"


def test_card_webhooks_out_of_order_still_settle_once(office: Office, card: CardWorld) -> None:
    card.switches(hold_webhooks=True)
    buyer, order_id, _ = new_order(office)
    started = buyer.post(f"/api/orders/{order_id}/payments", json={"provider": "card"}).json()
    with httpx.Client(timeout=10) as browser:
        declined = browser.post(started["pay_url"], data={"payment_method": "pm_card_chargeDeclined"})
        assert declined.status_code == 402
        assert browser.post(started["pay_url"], data={"payment_method": "pm_card_visa"}).status_code == 200
    assert card.running.call(card.emulator.flush) == 2  # succeeded delivered before payment_failed
    assert wait_status(buyer, order_id, "ticketed")["status"] == "ticketed"
    assert wait_for(
        lambda: (
            len(
                card.running.call(
                    lambda: [
                        d
                        for d in card.emulator.deliveries
                        if started["pay_url"].split("/pay/")[1].split("?")[0] in d["payload"]
                    ]
                )
            )
            >= 2
        )
    )
    assert buyer.get(f"/api/orders/{order_id}").json()["status"] == "ticketed"


def test_alipay_refund_notice_is_acknowledged_and_changes_no_sale(
    office: Office, alipay: AlipayWorld
) -> None:
    buyer, order_id, total = new_order(office)
    pay_url = buyer.post(f"/api/orders/{order_id}/payments", json={"provider": "alipay"}).json()["pay_url"]
    pay_at_cashier(pay_url)
    assert wait_status(buyer, order_id, "ticketed")["status"] == "ticketed"
    ref = urllib.parse.parse_qs(urllib.parse.urlparse(pay_url).query)["biz_content"][0]
    ref = ref.split('"out_trade_no":"')[1].split('"')[0]
    assert alipay.provider().start_refund(ref, ref + "_p1", 100, total, "partial").status == "succeeded"

    def refund_acks() -> list[dict[str, object]] | None:
        got = alipay.running.call(
            lambda: [
                d
                for d in alipay.emulator.deliveries
                if d["fields"].get("out_biz_no") == ref + "_p1" and d["body"] == "success"
            ]
        )
        return got or None

    assert wait_for(refund_acks)  # the box office answered Alipay's refund notice with success
    assert buyer.get(f"/api/orders/{order_id}").json()["status"] == "ticketed"


def test_alipay_payment_for_a_lost_hold_is_refunded_through_alipay(
    office: Office, alipay: AlipayWorld
) -> None:
    import time

    from sqlalchemy import text

    from box_office.store.db import Database

    concert = Concert(office)  # type: ignore[arg-type]
    buyer = concert.buyer()
    hold_id = hold(buyer, concert.session_id, seats=["A-3-2"]).json()["id"]
    made = order(buyer, hold_id).json()
    order_id, total = made["id"], made["total_cents"]
    pay_url = buyer.post(f"/api/orders/{order_id}/payments", json={"provider": "alipay"}).json()["pay_url"]
    db = Database(office.database_url)
    try:
        with db.engine.begin() as conn:
            past = {"past": time.time() - 60, "id": hold_id}
            conn.execute(text("UPDATE holds SET expires_at = :past WHERE id = :id"), past)
            conn.execute(text("UPDATE session_seats SET hold_expires_at = :past WHERE hold_id = :id"), past)
    finally:
        db.dispose()
    pay_at_cashier(pay_url)  # the money arrives after the hold was lost

    def refunded() -> dict[str, object] | None:
        current = buyer.get(f"/api/orders/{order_id}").json()
        return current if [p["status"] for p in current["payments"]] == ["refunded"] else None

    final = wait_for(refunded, timeout=20)
    assert final and final["status"] == "expired"
    ref = urllib.parse.parse_qs(urllib.parse.urlparse(pay_url).query)["biz_content"][0]
    ref = ref.split('"out_trade_no":"')[1].split('"')[0]
    trade = alipay.running.call(lambda: alipay.emulator.trades[ref])
    assert trade.refunded == total and trade.status == "TRADE_CLOSED"  # Alipay paid it back, once


def test_card_payment_for_a_lost_hold_is_refunded_through_the_processor(
    office: Office, card: CardWorld
) -> None:
    import time

    from sqlalchemy import text

    from box_office.store.db import Database

    concert = Concert(office)  # type: ignore[arg-type]
    buyer = concert.buyer()
    hold_id = hold(buyer, concert.session_id, seats=["A-3-3"]).json()["id"]
    made = order(buyer, hold_id).json()
    started = buyer.post(f"/api/orders/{made['id']}/payments", json={"provider": "card"}).json()
    db = Database(office.database_url)
    try:
        with db.engine.begin() as conn:
            past = {"past": time.time() - 60, "id": hold_id}
            conn.execute(text("UPDATE holds SET expires_at = :past WHERE id = :id"), past)
            conn.execute(text("UPDATE session_seats SET hold_expires_at = :past WHERE hold_id = :id"), past)
    finally:
        db.dispose()
    assert (
        httpx.post(started["pay_url"], data={"payment_method": "pm_card_visa"}, timeout=10).status_code == 200
    )

    def refunded() -> dict[str, object] | None:
        current = buyer.get(f"/api/orders/{made['id']}").json()
        return current if [p["status"] for p in current["payments"]] == ["refunded"] else None

    final = wait_for(refunded, timeout=20)
    assert final and final["status"] == "expired"
    pi = started["pay_url"].split("/pay/")[1].split("?")[0]
    refunds = card.running.call(
        lambda: [r for r in card.emulator.refunds.values() if r["payment_intent"] == pi]
    )
    assert [(r["amount"], r["status"]) for r in refunds] == [(made["total_cents"], "succeeded")]
