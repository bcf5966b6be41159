"""The organisers' dashboard in headless Chromium: login, live counts checked against the database."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import pytest
from playwright.async_api import async_playwright
from sqlalchemy import func, select

from sync_server import db
from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.sync_server.conftest import Server, Tickets, post_json

DEVICES: dict[str, str] = {}
"""Gate name -> the device id it was enrolled as (a scan must name its own device)."""


def scan(ticket_id: str, gate: str, verdict: str = "ok", at: float | None = None) -> dict[str, object]:
    return {
        "scan_id": str(uuid.uuid4()),
        "at": at or time.time(),
        "verdict": verdict,
        "admit": verdict == "ok",
        "gate": gate,
        "device": DEVICES[gate],
        "ticket_id": ticket_id,
    }


def db_entries(server: Server) -> int:
    with server.store.engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(db.scans).where(db.scans.c.outcome == "entry")
            ).scalar_one()
        )


@pytest.mark.browser
async def test_dashboard_shows_live_counts_that_match_the_database(
    server: Server, tickets: Tickets, tmp_path: Path
) -> None:
    ids = tickets.make(80)
    server.store.upsert_tickets(tickets.records())
    server.store.add_organiser("ops", "correct horse")
    DEVICES["north"], north = server.enrol("north")
    DEVICES["south"], south = server.enrol("south")
    now = time.time()
    burst_n = [scan(t, "north", at=now - 120 + i) for i, t in enumerate(ids[:30])]
    burst_s = [scan(t, "south", at=now - 60 + i) for i, t in enumerate(ids[30:50])]
    burst_s.append(scan(ids[0], "south", verdict="already_used"))
    burst_s.append(scan(ids[1], "south", at=now))  # offline double admission: a conflict
    assert (await post_json(f"{server.url}/api/scans", {"scans": burst_n}, north))[0] == 200
    assert (await post_json(f"{server.url}/api/scans", {"scans": burst_s}, south))[0] == 200

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 1000})
            await page.goto(server.url + "/")
            assert page.url.endswith("/login")  # never anonymous
            await page.fill("#username", "ops")
            await page.fill("#password", "correct horse")
            await page.click("#login")
            await page.wait_for_selector("#conn.on")
            expected = db_entries(server)
            assert expected == 50
            await page.wait_for_function(f"document.getElementById('entries').textContent === '{expected}'")
            assert await page.text_content("#sold") == "80"
            assert await page.text_content("#conflict-count") == "1"
            gates = await page.locator("#gates tbody tr").all_inner_texts()
            assert [g.split() for g in gates] == [["north", "30"], ["south", "20"]]
            refusals = await page.locator("#refusals tbody tr").all_inner_texts()
            assert [r.split() for r in refusals] == [["already_used", "1"]]
            zones = await page.locator("#zones tbody tr").all_inner_texts()
            assert sum(int(z.split()[1]) for z in zones) == expected
            assert len(await page.locator("#chart rect").all()) == 60

            # live: a new batch shows up without a reload
            more = [scan(t, "north") for t in ids[50:60]]
            assert (await post_json(f"{server.url}/api/scans", {"scans": more}, north))[0] == 200
            expected = db_entries(server)
            await page.wait_for_function(f"document.getElementById('entries').textContent === '{expected}'")
            conflicts = await page.locator("#conflicts tbody tr").all_inner_texts()
            assert len(conflicts) == 1 and ids[1] in conflicts[0] and "duplicate_admission" in conflicts[0]

            # an out-of-scope attempt and a gate with a wrong clock show up live (issue 19)
            forged = {**scan(ids[70], "north"), "gate": "ghost-gate"}
            assert (await post_json(f"{server.url}/api/scans", {"scans": [forged]}, north))[0] == 403
            ahead = {"scans": [], "sent_at": time.time() + 3 * 3600}
            assert (await post_json(f"{server.url}/api/scans", ahead, south))[0] == 200
            await page.wait_for_function("document.getElementById('attempt-count').textContent === '1'")
            attempts = await page.locator("#attempts tbody tr").all_inner_texts()
            assert len(attempts) == 1 and "ghost-gate" in attempts[0] and "north" in attempts[0]
            await page.wait_for_function(
                "document.querySelector('#devices').textContent.includes('wrong clock')"
            )
            out = Path(os.environ.get("ARTIFACTS_DIR", tmp_path)) / "sync_dashboard.png"
            out.parent.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(out), full_page=True)
            assert out.stat().st_size > 10_000
        finally:
            await browser.close()
