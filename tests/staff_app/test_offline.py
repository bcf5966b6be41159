"""Offline: the network cut (browser offline emulation, then the server itself stopped).

Scans keep being decided and journalled; the app reloads from its service worker with no
server at all and loses nothing; when the link returns every scan is uploaded exactly once.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.staff_app.conftest import (
    EVENT,
    backlog,
    controlled_by_service_worker,
    enrol_by_code,
    open_app,
    phone,
    scan,
    server_counter,
    wait_synced,
)
from tests.sync_server.conftest import wait_for

pytestmark = pytest.mark.browser


async def test_offline_scans_are_journalled_survive_a_reload_and_upload_exactly_once(
    server: Any, tickets: Any, launch: Any
) -> None:
    ids = tickets.make(8)
    server.store.upsert_tickets(tickets.records())
    browser = await launch()
    context, page = await phone(browser, server)
    await open_app(page, server)
    await enrol_by_code(page, server)
    await wait_synced(page)
    await controlled_by_service_worker(page)

    await context.set_offline(True)
    await page.wait_for_function("() => encoreStaff.sync.state === 'offline'")
    verdicts = [(await scan(page, tickets.tokens[t]))["verdict"] for t in ids[:4]]
    assert verdicts == ["ok"] * 4
    assert await backlog(page) == 4
    await page.wait_for_function("() => document.getElementById('counts').dataset.backlog === '4'")
    assert await page.get_attribute("#state", "data-state") == "offline"

    # mid-backlog, with no server at all: the page reloads from the service worker's cache
    await server.stop()
    await page.reload()
    await page.evaluate("() => window.encoreStaffReady")
    assert await backlog(page) == 4
    assert (await scan(page, tickets.tokens[ids[0]]))["verdict"] == "already_used"  # use kept too
    assert (await scan(page, tickets.tokens[ids[4]]))["verdict"] == "ok"
    assert await backlog(page) == 6
    assert server.store.scan_count(EVENT) == 0

    await server.start()
    await context.set_offline(False)
    await wait_for(lambda: server.store.scan_count(EVENT) == 6, timeout=30)
    await wait_for(lambda: drained(page), timeout=30)
    assert server_counter(server, "scans_received") == 6  # each scan sent once, none twice
    stats = server.store.stats(EVENT)
    assert stats["entries"] == 5 and stats["refusals"] == {"already_used": 1}


async def drained(page: Any) -> bool:
    return await backlog(page) == 0
