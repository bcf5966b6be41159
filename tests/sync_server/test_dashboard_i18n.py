"""The entry dashboard on a phone (390 px), in Chinese and English, with the event's and the
session's names, and a per-minute chart whose bars are the database's per-minute entries."""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

import pytest
from playwright.async_api import async_playwright
from sqlalchemy import select

from sync_server import db
from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.sync_server.conftest import EVENT, Keyring_json, Server, Tickets, post_json
from tests.sync_server.test_dashboard import DEVICES, scan

ARTIFACTS = Path(os.environ.get("ARTIFACTS_DIR", "artifacts"))


@pytest.mark.browser
@pytest.mark.parametrize("server", ["sqlite"], indirect=True)
async def test_dashboard_names_languages_phone_and_real_chart(server: Server, tickets: Tickets) -> None:
    server.store.set_event(EVENT, Keyring_json(tickets.key), session_id="7", name="Spring Gala")
    server.store.session_names["7"] = "Night 1"
    ids = tickets.make(12)
    server.store.upsert_tickets(tickets.records())
    server.store.add_organiser("ops", "correct horse")
    DEVICES["north"], north = server.enrol("north")
    now = time.time()
    batch = [
        scan(t, "north", at=now - 600 + 61 * (i // 4)) for i, t in enumerate(ids)
    ]  # 4, 4, 4 over 3 minutes
    assert (await post_json(f"{server.url}/api/scans", {"scans": batch}, north))[0] == 200
    with server.store.engine.connect() as conn:
        times = conn.execute(select(db.scans.c.at).where(db.scans.c.outcome == "entry")).scalars().all()
    per_minute = Counter(int(at // 60) for at in times)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
            page = await context.new_page()
            await page.goto(server.url + "/")
            await page.fill("#username", "ops")
            await page.fill("#password", "correct horse")
            await page.click("#login")
            await page.wait_for_selector("#conn.on")
            await page.wait_for_function("document.getElementById('entries').textContent === '12'")
            assert await page.text_content("#event") == "Spring Gala · Night 1"
            assert "实时入场" in await page.text_content("h1")  # the browser's language
            assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
            bars = await page.eval_on_selector_all(
                "#chart rect",
                "rs => rs.map(r => [Number(r.dataset.entries), Number(r.getAttribute('height'))])",
            )
            assert len(bars) == 60
            drawn = sorted(n for n, h in bars if n)
            assert drawn == sorted(per_minute.values()) and sum(drawn) == 12
            assert all(h > 0 for n, h in bars if n) and all(h == 0 for n, h in bars if not n)
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(ARTIFACTS / "sync_dashboard_phone_zh.png"), full_page=True)
            await page.click("#lang")
            assert "Live entry" in await page.text_content("h1")
            assert await page.text_content("#devices thead th") == "gate"
            assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
            await page.screenshot(path=str(ARTIFACTS / "sync_dashboard_phone_en.png"), full_page=True)
            await page.reload()  # the switch is remembered
            await page.wait_for_selector("#conn.on")
            assert "Live entry" in await page.text_content("h1")
        finally:
            await browser.close()
