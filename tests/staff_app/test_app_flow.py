"""The staff app as a gate device: enrolment, snapshot, decisions, uploads, push, revocation.

Real parts: the sync server on loopback (SQLite file), headless Chromium running the app from
/staff/, its IndexedDB, the service worker and the push WebSocket.
"""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.staff_app.conftest import EVENT, enrol_by_code, open_app, phone, scan, wait_synced
from tests.sync_server.conftest import wait_for
from wire.snapshot import TicketRecord

pytestmark = pytest.mark.browser


async def record_status(page: Any, ticket_id: str) -> bool:
    script = "async (id) => (await encoreStaff.store.lookup(id)).record.status"
    status = await page.evaluate(script, ticket_id)
    return bool(status == "revoked")


async def organiser_post(server: Any, path: str) -> int:
    auth = "Basic " + base64.b64encode(b"ops:correct horse").decode()
    headers = {"Authorization": auth}
    async with aiohttp.ClientSession() as session, session.post(server.url + path, headers=headers) as r:
        return r.status


async def test_enrolled_app_decides_uploads_learns_refunds_and_is_cut_off_when_revoked(
    server: Any, tickets: Any, launch: Any
) -> None:
    ids = tickets.make(6)
    server.store.upsert_tickets(tickets.records())
    server.store.add_organiser("ops", "correct horse")
    browser = await launch()
    _, page = await phone(browser, server)
    await open_app(page, server)
    assert await page.evaluate("() => document.body.dataset.screen") == "enrol"

    device_id = await enrol_by_code(page, server, gate="side-door", zones=("A", "B"))
    listed = {d["device_id"]: d for d in server.store.devices()}
    assert listed[device_id]["gate_id"] == "side-door"
    assert listed[device_id]["name"].startswith("staff phone")
    await wait_synced(page)
    assert await page.evaluate("() => encoreStaff.store.ticketCount()") == 6

    first = await scan(page, tickets.tokens[ids[0]])
    assert (first["verdict"], first["admit"], first["repeat"]) == ("ok", True, False)
    assert await page.get_attribute("#verdict", "data-verdict") == "ok"
    again = await scan(page, tickets.tokens[ids[0]])  # inside the repeat window: the same scan
    assert again["repeat"] is True and again["scan_id"] == first["scan_id"]
    await scan(page, "hello")
    assert await page.get_attribute("#verdict", "data-verdict") == "malformed"
    used = await scan(page, tickets.tokens[ids[0]])  # another text came between: a new scan
    assert used["verdict"] == "already_used"

    # every scan reaches the server once, acknowledged; the backlog shown drops to 0
    await wait_for(lambda: server.store.scan_count(EVENT) == 3)
    await page.wait_for_function("() => document.getElementById('counts').dataset.backlog === '0'")

    # venue IT sees the phone beside the gate agents
    listing = subprocess.run(
        [str(Path(sys.executable).parent / "sync-server"), "--db", server.url_db, "devices"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    (row,) = [line for line in listing.splitlines() if line.startswith(device_id)]
    assert row.split()[1:4] == ["side-door", "in", "online"] and row.endswith("encore-staff/1")

    # a refund reaches the phone by push
    zone = tickets.zones[ids[1]]
    refunded = TicketRecord(ticket_id=ids[1], version=1, event_id=EVENT, zone=zone, status="revoked")
    server.store.upsert_tickets([refunded])
    await wait_for(lambda: record_status(page, ids[1]), timeout=5)
    assert (await scan(page, tickets.tokens[ids[1]]))["verdict"] == "revoked"

    credential = await page.evaluate("() => encoreStaff.store.get('enrolment').credential")
    # revoked from the dashboard: the push channel closes, the next request gets 403
    assert await organiser_post(server, f"/api/devices/{device_id}/revoke") == 200
    await page.wait_for_function("() => document.body.dataset.screen === 'revoked'")
    assert await page.evaluate("() => encoreStaff.store.get('header')") is None
    assert await page.evaluate("() => encoreStaff.store.ticketCount('tickets_a')") == 0
    assert {d["device_id"]: d for d in server.store.devices()}[device_id]["revoked"]
    async with aiohttp.ClientSession() as session:
        headers = {"Authorization": f"Bearer {credential}"}
        async with session.get(server.url + "/api/deltas?after=0", headers=headers) as response:
            assert response.status == 403


async def test_without_a_push_channel_the_app_polls_and_still_learns_refunds(
    server: Any, tickets: Any, launch: Any
) -> None:
    ids = tickets.make(3)
    server.store.upsert_tickets(tickets.records())
    browser = await launch()
    context, page = await phone(browser, server)
    # a proxy in front of the server that knows nothing of the app's push channel
    await context.route("**/staff/api/push-ticket", lambda route: route.fulfill(status=404, body="not here"))
    await open_app(page, server)
    await enrol_by_code(page, server)
    await page.wait_for_function("() => encoreStaff.sync.state === 'polling'", timeout=20000)
    assert await page.get_attribute("#state", "data-state") == "polling"
    zone = tickets.zones[ids[2]]
    server.store.upsert_tickets(
        [TicketRecord(ticket_id=ids[2], version=1, event_id=EVENT, zone=zone, status="revoked")]
    )
    await wait_for(lambda: record_status(page, ids[2]), timeout=15)
    assert (await scan(page, tickets.tokens[ids[2]]))["verdict"] == "revoked"
    await wait_for(lambda: server.store.scan_count(EVENT) == 1, timeout=15)
