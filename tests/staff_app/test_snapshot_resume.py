"""A snapshot download cut half-way resumes after the last ticket stored, and the app is
installable (manifest, icons, service worker) as Chromium judges it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Route

from tests.staff_app.conftest import enrol_by_code, open_app, phone, wait_synced

pytestmark = pytest.mark.browser


async def test_a_cut_snapshot_download_resumes_where_it_stopped(
    server: Any, tickets: Any, launch: Any
) -> None:
    tickets.make(5000)
    server.store.upsert_tickets(tickets.records())
    browser = await launch()
    context, page = await phone(browser, server)
    requests: list[str] = []

    async def cut_first_download(route: Route) -> None:
        requests.append(route.request.url)
        response = await route.fetch()
        body = await response.body()
        if len(requests) == 1:  # the link drops after ~60% of the first download: no footer
            cut = body.rfind(b"\n", 0, len(body) * 6 // 10) + 1
            await route.fulfill(status=200, headers=response.headers, body=body[:cut])
        else:
            await route.fulfill(response=response)

    await context.route("**/api/snapshot*", cut_first_download)
    await open_app(page, server)
    await enrol_by_code(page, server)
    await wait_synced(page)
    assert len(requests) == 2
    assert "?after=" not in requests[0] and "?after=" in requests[1]
    assert await page.evaluate("() => encoreStaff.store.ticketCount()") == 5000
    assert await page.evaluate("() => encoreStaff.store.get('loading')") is None
    assert await page.evaluate("() => encoreStaff.store.get('snapshot_count')") == 5000


async def test_chromium_finds_the_app_installable(server: Any, launch_phone: Any, tmp_path: Path) -> None:
    context = await launch_phone(tmp_path / "profile")  # a real profile: incognito never installs
    page = context.pages[0] if context.pages else await context.new_page()
    await open_app(page, server)
    await page.evaluate("() => navigator.serviceWorker.ready")
    cdp = await context.new_cdp_session(page)
    result = await cdp.send("Page.getInstallabilityErrors")
    assert result["installabilityErrors"] == [], result
    manifest = await cdp.send("Page.getAppManifest")
    assert not manifest["errors"]
