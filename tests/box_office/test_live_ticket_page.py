"""The buyer's live ticket page in Chromium: it binds the phone, draws a QR that a gate admits
now and refuses ``stale_code`` two minutes later (issue #16, rotating codes). The QR is the
compact ``EN3:`` code (QR 10-M at most), judged against the ``bound_payload`` the box office fed;
the "full code" button shows the ``EN2:`` code, for a gate whose list lacks the ticket.

The browser's clock is fixed (Playwright clock emulation) so the code's step is known; the QR
is read back from a screenshot with zxing-cpp and judged with the gate's own rules. Screenshots
(zh and en, 390 px wide) go to ``$ARTIFACTS_DIR`` (default ``artifacts/``).
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest
import zxingcpp
from playwright.async_api import Browser, ViewportSize, async_playwright

from gate_agent.config import GateConfig
from gate_agent.pipeline import ScanPipeline
from gate_agent.store import GateStore
from gate_agent.verdicts import Verdict
from tests.box_office.conftest import Server
from tests.box_office.helpers import Concert, buy
from tests.box_office.test_device_binding import emailed_code
from tests.browser import CHROMIUM, CHROMIUM_ARGS
from ticket_format.keys import Keyring
from ticket_format.qr import alphanumeric_version
from ticket_format.rotating import PERIOD
from wire.snapshot import SnapshotHeader, SnapshotReader, TicketRecord, write_snapshot
from wire.venue_feed import parse_page

pytestmark = pytest.mark.browser
ARTIFACTS = Path(os.environ.get("ARTIFACTS_DIR", "artifacts"))
PHONE = ViewportSize(width=390, height=844)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


def gate_verdict(text: str, ring: Keyring, record: TicketRecord, event_id: int, now: float) -> Verdict:
    """What a gate of the event answers to a scanned text at ``now``: the gate agent's own
    pipeline on a fresh store file whose ticket list is ``record`` (as fed by the box office)."""
    header = SnapshotHeader(event_id=event_id, keyring=ring.to_json(), cursor="1")
    buffer = io.StringIO()
    write_snapshot(buffer, header, [record])
    with tempfile.TemporaryDirectory() as directory, GateStore.open(Path(directory) / "gate.sqlite") as store:
        reader = SnapshotReader(io.StringIO(buffer.getvalue()))
        store.apply_snapshot(reader.header, reader)
        pipe = ScanPipeline(store, GateConfig(gate_id="main-1", event_id=event_id), clock=lambda: now)
        return pipe.scan(text, source="test", repeat_window=0).verdict


def read_qr(png: bytes) -> list[str]:
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode))
    return [barcode.text for barcode in found]


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_the_page_binds_the_phone_and_shows_a_code_the_gate_admits_now_only(
    server: Server, browser: Browser, lang: str
) -> None:
    now = time.time()
    concert = Concert(server, session={"starts_at": now + 600, "ends_at": now + 4 * 3600})
    buyer = concert.buyer()
    ticket = buy(concert, buyer, seats=["A-3-1"])["tickets"][0]
    feed = concert.feed_client()
    ring = Keyring.from_json(feed.get("/api/feed/keyring").json()["keyring"])
    static_token = buyer.get(f"/api/tickets/{ticket['id']}").json()["token"]

    context = await browser.new_context(viewport=PHONE, locale="zh-CN" if lang == "zh" else "en-GB")
    buyer_token = buyer.headers["Authorization"].removeprefix("Bearer ")
    stored = json.dumps({"token": buyer_token, "email": "buyer@example.test"})
    await context.add_init_script(f"localStorage.setItem('encore.buyer', {json.dumps(stored)})")
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    shown_at = (int(now // PERIOD) + 0.5) * PERIOD  # the middle of a step: no rollover to race
    await page.clock.set_fixed_time(datetime.fromtimestamp(shown_at, tz=UTC))
    await page.goto(f"{server.url}/tickets/{ticket['id']}/live")
    await page.wait_for_selector("body[data-state=shown]", timeout=20000)
    assert errors == []
    assert await page.get_attribute("body", "data-step") == str(int(shown_at // PERIOD))
    assert await page.text_content("#title") == ("我的门票" if lang == "zh" else "Your ticket")
    assert "A-3-1" in (await page.text_content("#seat") or "")

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"box_office_live_ticket_{lang}.png"), full_page=True)
    texts = read_qr(await page.locator("#qr").screenshot())
    assert len(texts) == 1 and texts[0].startswith("EN3:"), texts
    code = texts[0]
    assert alphanumeric_version(code) <= 10, len(code)

    # The page bound the ticket: version 2 on the feed, the old version (and any picture of
    # the static QR) refused; the live code admitted now and stale two minutes later.
    entries = parse_page(feed.get("/api/feed").json()).entries
    record = entries[-1].ticket
    assert (entries[-1].kind, record.ticket_id, record.version) == ("changed", ticket["id"], 2)
    event = concert.event_id
    assert gate_verdict(code, ring, record, event, shown_at) is Verdict.OK
    assert gate_verdict(code, ring, record, event, shown_at + 120) is Verdict.STALE_CODE
    assert record.bound_payload is not None
    # A gate whose list lacks the ticket's signed bytes asks for the full code; the button shows it.
    behind = dataclasses.replace(record, bound_payload=None)
    assert gate_verdict(code, ring, behind, event, shown_at) is Verdict.REVOKED
    await page.click("#full-code")
    await page.wait_for_selector("body[data-code=full]", timeout=10000)
    full = read_qr(await page.locator("#qr").screenshot())
    assert len(full) == 1 and full[0].startswith("EN2:"), full
    assert gate_verdict(full[0], ring, behind, event, shown_at) is Verdict.OK
    assert gate_verdict(full[0], ring, record, event, shown_at + 120) is Verdict.STALE_CODE
    await page.click("#full-code")  # back to the short code
    await page.wait_for_selector("body[data-code=compact]", timeout=10000)
    assert gate_verdict(static_token, ring, record, event, shown_at) is Verdict.REVOKED
    bound_token = buyer.get(f"/api/tickets/{ticket['id']}").json()["token"]
    assert gate_verdict(bound_token, ring, record, event, shown_at) is Verdict.STALE_CODE

    # The next step draws a new code, signed by the same phone key (kept in IndexedDB).
    await page.clock.set_fixed_time(datetime.fromtimestamp(shown_at + PERIOD, tz=UTC))
    await page.wait_for_selector(f"body[data-step='{int(shown_at // PERIOD) + 1}']", timeout=10000)
    later = read_qr(await page.locator("#qr").screenshot())
    assert later != [code] and gate_verdict(later[0], ring, record, event, shown_at + PERIOD) is Verdict.OK

    # Offline, reopened: the key and the token come from IndexedDB, no second binding.
    assert await page.evaluate("() => window.encoreLiveCached") is True
    await context.set_offline(True)
    await page.reload()
    await page.wait_for_selector("body[data-state=shown]", timeout=20000)
    again = read_qr(await page.locator("#qr").screenshot())
    assert gate_verdict(again[0], ring, record, event, shown_at + PERIOD) is Verdict.OK
    assert len(parse_page(feed.get("/api/feed").json()).entries) == len(entries)
    await context.close()

    # A new phone: refused until the buyer types the code e-mailed to them; then the ticket
    # moves (version 3) and the first phone's codes are refused.
    moment = shown_at + PERIOD
    new_phone = await browser.new_context(viewport=PHONE, locale="zh-CN" if lang == "zh" else "en-GB")
    await new_phone.add_init_script(f"localStorage.setItem('encore.buyer', {json.dumps(stored)})")
    page = await new_phone.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.clock.set_fixed_time(datetime.fromtimestamp(moment, tz=UTC))
    await page.goto(f"{server.url}/tickets/{ticket['id']}/live")
    await page.wait_for_selector("body[data-state=other-phone]", timeout=20000)
    await page.screenshot(path=str(ARTIFACTS / f"box_office_live_ticket_move_{lang}.png"), full_page=True)
    await page.click("#send-code")
    await page.wait_for_selector("body[data-state=code-sent]", timeout=20000)
    emailed_code(server, ticket["id"], 0)
    # asked again (a mail in the spam folder): the third code is the last for 15 minutes
    for already in (1, 2):
        await page.click("#send-code")
        step_up_code = emailed_code(server, ticket["id"], already)
    await page.click("#send-code")
    await page.wait_for_selector("body[data-state=too-many]", timeout=20000)
    told = await page.text_content("#status") or ""
    assert ("15 分钟后再试" if lang == "zh" else "Try again in 15 min") in told, told
    await page.fill("#code", step_up_code)
    await page.click("#confirm")
    await page.wait_for_selector("body[data-state=shown]", timeout=20000)
    moved = read_qr(await page.locator("#qr").screenshot())
    record = parse_page(feed.get("/api/feed").json()).entries[-1].ticket
    assert record.version == 3
    assert gate_verdict(moved[0], ring, record, event, moment) is Verdict.OK
    assert gate_verdict(later[0], ring, record, event, moment) is Verdict.REVOKED
    assert errors == []
    await new_phone.close()
