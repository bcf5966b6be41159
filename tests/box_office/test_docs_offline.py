"""/docs and /redoc render with no internet: Chromium may reach loopback only.

FastAPI's stock pages load Swagger UI and ReDoc from a CDN and stay blank offline; the box
office serves both from its own assets (box_office/api/docs.py). Every request the pages make
to anything but 127.0.0.1 is aborted and recorded. Screenshots go to ``artifacts/docs/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.box_office.conftest import Server
from tests.box_office.standalone import run_box_office
from tests.browser import CHROMIUM, CHROMIUM_ARGS

playwright_api = pytest.importorskip("playwright.sync_api")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "docs"
pytestmark = pytest.mark.browser
REDOC_CREDIT_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
"""ReDoc 2 always tries this image in its "API docs by Redocly" credit and drops it when it fails
to load: decoration, the only request off loopback the pages may make."""


@pytest.fixture(scope="module")
def box_office(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from run_box_office(tmp_path_factory.mktemp("docs"))


@pytest.fixture(scope="module")
def offline_page() -> Iterator[tuple[Any, list[str]]]:
    """A Chromium page whose requests off loopback are aborted (and listed)."""
    blocked: list[str] = []

    def loopback_only(route: Any) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort("internetdisconnected")

    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 1600})
        context.route("**/*", loopback_only)
        yield context.new_page(), blocked
        browser.close()


def test_swagger_ui_renders_the_operations_offline(
    box_office: Server, offline_page: tuple[Any, list[str]]
) -> None:
    page, blocked = offline_page
    page.goto(box_office.url + "/docs")
    operations = page.locator(".opblock")
    operations.first.wait_for(timeout=30_000)
    assert operations.count() > 40
    assert page.get_by_text("Create an order from a hold (idempotent)").count() == 1
    # An operation opens and shows its documented error answers with the common body.
    page.locator(".opblock-summary-path", has_text="/api/orders/{order_id}/cancel").first.click()
    page.locator(".responses-table .response[data-code='409']").first.wait_for(timeout=10_000)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "swagger-ui-offline.png"), full_page=False)
    assert blocked == [], blocked


def test_redoc_renders_the_operations_offline(
    box_office: Server, offline_page: tuple[Any, list[str]]
) -> None:
    page, blocked = offline_page
    page.goto(box_office.url + "/redoc")
    page.locator("h2", has_text="Create an order from a hold (idempotent)").wait_for(timeout=30_000)
    assert page.locator("h2").count() > 40  # one heading per operation
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "redoc-offline.png"), full_page=False)
    assert set(blocked) <= {REDOC_CREDIT_LOGO}, blocked
