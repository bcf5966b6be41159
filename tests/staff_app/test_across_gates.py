"""The app and a real gate agent at the same event: they learn each other's entries within a
second while online, and an offline double admission shows on the organisers' dashboard.

The gate is the production stack in process (GateStore on SQLite, ScanPipeline, SyncClient);
the app runs in headless Chromium.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from playwright.async_api import Page

from tests.staff_app.conftest import (
    ARTIFACTS,
    EVENT,
    backlog,
    enrol_by_code,
    open_app,
    phone,
    scan,
    wait_synced,
)
from tests.sync_server.conftest import wait_for

pytestmark = pytest.mark.browser

WATCH_DELTAS = """() => {
  window.__used = {};
  encoreStaff.sync.addEventListener('delta', (event) => {
    for (const r of event.detail) if (r.used_at) window.__used[r.ticket_id] = performance.now();
  });
}"""


async def app_knows_used(page: Page, ticket_id: str, timeout_ms: float) -> None:
    """Wait (event-based: the app's own delta event) until the app holds the ticket's entry."""
    await page.wait_for_function("(id) => id in window.__used", arg=ticket_id, timeout=timeout_ms)


async def test_app_and_gate_refuse_each_others_tickets_within_a_second(
    server: Any, tickets: Any, make_gate: Any, launch: Any
) -> None:
    ids = tickets.make(10)
    server.store.upsert_tickets(tickets.records())
    gate = make_gate("north")
    gate.start()
    browser = await launch()
    _, page = await phone(browser, server)
    await open_app(page, server)
    await enrol_by_code(page, server, gate="side-door")
    try:
        await wait_synced(page)
        await wait_for(lambda: gate.store.snapshot_info().tickets == 10)
        await wait_for(lambda: server.store.devices() and all(d["online"] for d in server.store.devices()))
        await page.evaluate(WATCH_DELTAS)

        # gate first, then the phone: refused there within a second, naming the gate
        assert gate.scan(tickets.tokens[ids[0]]).decision.verdict.value == "ok"
        await app_knows_used(page, ids[0], timeout_ms=1000)
        refused = await scan(page, tickets.tokens[ids[0]])
        assert refused["verdict"] == "already_used"
        assert refused["details"]["used_gate"] == "north"

        # phone first, then the gate
        assert (await scan(page, tickets.tokens[ids[1]]))["verdict"] == "ok"
        started = time.monotonic()
        await wait_for(lambda: gate.store.lookup(ids[1])[1].entries > 0, timeout=1.0, interval=0.01)
        print(f"phone -> gate in {time.monotonic() - started:.3f} s")
        assert gate.scan(tickets.tokens[ids[1]]).decision.verdict.value == "already_used"
    finally:
        await gate.stop()


async def test_an_outage_double_admission_is_an_admitted_conflict_on_the_dashboard(
    server: Any, tickets: Any, make_gate: Any, launch: Any
) -> None:
    ids = tickets.make(4)
    server.store.upsert_tickets(tickets.records())
    server.store.add_organiser("ops", "correct horse")
    gate = make_gate("north")
    gate.start()
    browser = await launch()
    context, page = await phone(browser, server)
    await open_app(page, server)
    await enrol_by_code(page, server, gate="side-door")
    try:
        await wait_synced(page)
        await wait_for(lambda: gate.store.snapshot_info().tickets == 4)

        await server.stop()  # the outage: both decide alone
        await page.wait_for_function("() => encoreStaff.sync.state === 'offline'")
        assert gate.scan(tickets.tokens[ids[0]]).decision.verdict.value == "ok"
        assert (await scan(page, tickets.tokens[ids[0]]))["verdict"] == "ok"
        assert await backlog(page) == 1

        await server.start()
        await wait_for(lambda: server.store.scan_count(EVENT) == 2, timeout=30)
        stats = server.store.stats(EVENT)
        assert stats["entries"] == 1 and stats["conflict_count"] == 1

        dashboard = await context.new_page()
        await dashboard.set_viewport_size({"width": 1280, "height": 900})
        await dashboard.goto(server.url + "/login")
        await dashboard.fill("#username", "ops")
        await dashboard.fill("#password", "correct horse")
        await dashboard.click("#login")
        await dashboard.wait_for_function("document.getElementById('conflict-count').textContent === '1'")
        row = await dashboard.locator("#conflicts tbody tr").inner_text()
        assert ids[0] in row and "duplicate" in row
        assert "side-door" in row and "north" in row
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        await dashboard.screenshot(path=str(ARTIFACTS / "staff_app_conflict_dashboard.png"), full_page=True)
    finally:
        await gate.stop()
