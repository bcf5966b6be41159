"""Chromium on a phone-sized screen, in Chinese and in English: a buyer holds a seat, applies a
coupon (a wrong code is refused in the page's language), sees the breakdown and orders; another
joins an open group at the group price. Screenshots in artifacts/promotions/."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

from tests.box_office.conftest import Server
from tests.box_office.helpers import Concert, pay, wait_status
from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.promotions.helpers import coupon, held_order, make

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "promotions"
PHONE = {"width": 390, "height": 844}


def start(page: Page, server: Server, session_id: int, lang: str) -> None:
    page.goto(f"{server.url}/promotions/buy/{session_id}?lang={lang}")
    page.fill("#email", f"{uuid.uuid4().hex[:8]}@phone.test")
    page.click("#start")
    page.select_option("#zone", "A")
    page.click("#hold")
    page.wait_for_selector("#total:not(:empty)")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_buyer_applies_a_coupon_and_joins_a_group_on_a_phone(server: Server, lang: str) -> None:
    concert = Concert(server)
    code = "SPRING" + uuid.uuid4().hex[:6].upper()  # codes are unique across events
    coupon(concert, kind="amount_off", value=5000, code=code)
    campaign = make(
        concert.org,
        f"/api/events/{concert.event_id}/campaigns",
        {
            "kind": "group",
            "name": "两人团 Pair",
            "adjust": {"mode": "set", "value": 9900},
            "scope": {"zones": ["A"]},
            "size": 2,
            "time_limit_seconds": 3600,
        },
    )
    leader = concert.buyer()
    opened = held_order(concert, leader, group_open=campaign["id"])
    pay(leader, opened.json()["id"])
    assert wait_status(leader, opened.json()["id"], "paid")["status"] == "paid"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    texts = {
        "zh": ("购票", "优惠券码无效", "优惠券", "订单号"),
        "en": ("Buy tickets", "This coupon code is not valid", "Coupon", "Order"),
    }[lang]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(
                viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN" if lang == "zh" else "en-GB"
            )
            page = context.new_page()
            start(page, server, concert.session_id, lang)
            assert page.inner_text("header h1") == texts[0]
            assert page.get_attribute("#total", "data-cents") == "20000"
            page.fill("#coupon", "NOPE1234")
            page.click("#apply")
            page.wait_for_selector("#error:not(:empty)")
            assert page.inner_text("#error") == texts[1]
            page.fill("#coupon", code.lower())
            page.click("#apply")
            page.wait_for_function("document.querySelector('#total').dataset.cents === '15000'")
            assert page.inner_text("#error") == ""
            assert texts[2] in page.inner_text("#lines")
            page.screenshot(path=str(ARTIFACTS / f"coupon-{lang}-{server.backend}.png"), full_page=True)
            page.click("#order")
            page.wait_for_selector("#done:not([hidden])")
            assert texts[3] in page.inner_text("#summary")
            order_id = page.get_attribute("#summary", "data-order")

            joiner = context.new_page()
            start(joiner, server, concert.session_id, lang)
            joiner.locator("#groups .group button").first.click()
            joiner.wait_for_function("document.querySelector('#total').dataset.cents === '9900'")
            joiner.screenshot(path=str(ARTIFACTS / f"group-{lang}-{server.backend}.png"), full_page=True)
            joiner.click("#order")
            joiner.wait_for_selector("#done:not([hidden])")
            group_order = joiner.get_attribute("#summary", "data-order")
        finally:
            browser.close()
    prices = concert.org.get(f"/api/organiser/orders/{order_id}/prices").json()
    assert prices["total_cents"] == 15000 and prices["lines"][0]["steps"][0]["layer"] == "coupon"
    grouped = concert.org.get(f"/api/organiser/orders/{group_order}/prices").json()
    assert grouped["total_cents"] == 9900 and grouped["lines"][0]["steps"][0]["layer"] == "replace"


def test_promoter_changes_a_price_and_creates_a_coupon_in_the_console(server: Server) -> None:
    concert = Concert(server)
    code = "CONSOLE" + uuid.uuid4().hex[:6].upper()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900}, locale="zh-CN")
            page.goto(f"{server.url}/console/promotions/")
            assert page.inner_text("header h1") == "促销管理"
            page.fill("#token", concert.organiser_token)
            page.fill("#event", str(concert.event_id))
            page.click("#login button")
            page.wait_for_selector("#price-list tr")
            page.fill("#price [name=zone]", "A")
            page.fill("#price [name=yuan]", "180")
            page.click("#price button")
            page.wait_for_selector("#price-list tr:nth-child(2)")
            assert "180.00" in page.inner_text("#price-list")
            page.fill("#coupon [name=name]", "早鸟券")
            page.fill("#coupon [name=value]", "3000")
            page.fill("#coupon [name=code]", code)
            page.click("#coupon button")
            page.wait_for_selector("#coupon-list tr:nth-child(2)")
            assert code in page.inner_text("#coupon-list")
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"console-zh-{server.backend}.png"), full_page=True)
        finally:
            browser.close()
    buyer = concert.buyer()
    made = held_order(concert, buyer, coupon=code)
    assert made.status_code == 201 and made.json()["total_cents"] == 18000 - 3000
