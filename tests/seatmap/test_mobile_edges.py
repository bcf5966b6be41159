"""The seat map's rough edges on a phone (issue #13), at 390 px with touch, in zh and en:
section labels above their seats (not on them), seats big enough to tap, the language button
inside the screen, no keyboard help on a phone, the countdown and checkout in view after
holding, and a proper bilingual page for an unknown session. Screenshots: artifacts/seatmap/."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.seatmap.conftest import BoxOffice, make_concert
from tests.seatmap.pages import open_map, shot, sign_in_if_asked, tap_seat

pytestmark = pytest.mark.browser
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def phone(browser: Browser) -> Iterator[list[BrowserContext]]:
    made: list[BrowserContext] = []
    yield made
    for context in made:
        context.close()


def phone_page(browser: Browser, made: list[BrowserContext], locale: str) -> Page:
    context = browser.new_context(locale=locale, **PHONE)  # type: ignore[arg-type]
    made.append(context)
    return context.new_page()


@pytest.mark.parametrize("locale", ["zh-CN", "en-GB"])
def test_phone_map_reads_well_and_checkout_is_in_view(
    box_office: BoxOffice, browser: Browser, phone: list[BrowserContext], locale: str
) -> None:
    concert = make_concert(box_office)
    page = open_map(phone_page(browser, phone, locale), concert.page_url)
    lang = "zh" if locale.startswith("zh") else "en"
    shot(page, f"phone-edges-map-{lang}")
    # nothing wider than the screen; the language button inside it
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    box = page.locator("#lang-switch").bounding_box()
    assert box is not None and box["x"] + box["width"] <= 390
    # help for fingers, not keys
    help_text = page.inner_text("#map-help")
    assert help_text and "Keyboard" not in help_text and "键盘" not in help_text and "方向键" not in help_text
    # seats big enough to tap: at least 8 px apart
    pitch = page.evaluate("window.seatmap.renderer.scale * window.seatmap.renderer.spacing")
    assert pitch >= 8, pitch
    # each section's label sits above its first row, not on its seats
    clear = page.evaluate(
        """() => { const a = window.seatmap, r = a.renderer, s = a.seats;
            return r.sectionLabels.every((l) => { let top = Infinity;
              for (let i = 0; i < s.n; i++)
                if (s.rowSection[s.row[i]] === l.name) top = Math.min(top, s.y[i]);
              return l.y < top - r.spacing * 0.5; }); }"""
    )
    assert clear
    # after holding, the countdown and the checkout button are on screen without scrolling by hand
    tap_seat(page, "A-2-1")
    page.click("#hold-btn")
    sign_in_if_asked(page, f"edges-{lang}@example.test")
    expect(page.locator("#held")).to_be_visible()
    countdown = page.locator("#countdown").bounding_box()
    scrolled = page.evaluate("window.scrollY")
    assert countdown is not None and 0 <= countdown["y"] - 0 < 844, (countdown, scrolled)
    submit = page.locator("#co-submit").bounding_box()
    assert submit is not None and submit["y"] + submit["height"] <= 844 + 400  # reachable just below
    shot(page, f"phone-edges-held-{lang}")


def test_unknown_session_is_a_bilingual_404_page(
    box_office: BoxOffice, browser: Browser, phone: list[BrowserContext]
) -> None:
    answer = httpx.get(f"{box_office.url}/seatmap/999999", headers={"Accept-Language": "en"})
    assert answer.status_code == 404 and answer.headers["content-type"].startswith("text/html")
    assert "Page not found" in answer.text and "no session" not in answer.text
    page = phone_page(browser, phone, "zh-CN")
    page.goto(f"{box_office.url}/seatmap/999999")
    expect(page.locator("h1")).to_have_text("页面不存在")
    page.click("a.lang")
    expect(page.locator("h1")).to_have_text("Page not found")
    shot(page, "phone-edges-404")
