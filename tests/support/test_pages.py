"""The support pages in headless Chromium, in Chinese and English: a buyer on a phone (390 px)
asks the bot, gets an FAQ answer, is handed to a person, and reads the staff's reply; the staff
answer from the console's support page with a canned reply. Screenshots of each step go to
``$ARTIFACTS_DIR/support/`` (default ``artifacts/support/``)."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, ViewportSize, async_playwright

from box_office.support.faq_template import TEMPLATE
from tests.box_office.conftest import Server
from tests.box_office.helpers import Concert, buy
from tests.browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.browser
ARTIFACTS = Path(os.environ.get("ARTIFACTS_DIR", "artifacts")) / "support"
PHONE = ViewportSize(width=390, height=844)
DESK = ViewportSize(width=1200, height=800)

CASES = {
    "zh": {
        "faq": "可以带充电宝吗？",
        "faq_answer": "充电宝",
        "unknown": "演出当天鼓手是谁？",
        "handed": "已转人工",
        "canned_zh": "您好，本场鼓手是王老师。",
        "canned_en": "Hello, the drummer is Mr Wang.",
        "locale": "zh-CN",
        "invoice": "请帮我开公司发票，抬头：某某科技有限公司",
    },
    "en": {
        "faq": "Can I bring my kids?",
        "faq_answer": "1.2 m",
        "unknown": "Who is playing the drums that night?",
        "handed": "Passed to staff",
        "canned_zh": "您好，本场鼓手是王老师。",
        "canned_en": "Hello, the drummer is Mr Wang.",
        "locale": "en-GB",
        "invoice": "Please issue a company invoice for this order",
    },
}


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


async def _page(
    browser: Browser, server: Server, viewport: ViewportSize, locale: str, key: str, token: str
) -> Page:
    context = await browser.new_context(
        viewport=viewport, locale=locale, extra_http_headers={"Accept-Language": locale}
    )
    stored = json.dumps({"token": token})
    await context.add_init_script(f"localStorage.setItem({json.dumps(key)}, {json.dumps(stored)});")
    return await context.new_page()


# The pages run on SQLite only: every route they call is tested on PostgreSQL by the API tests.
@pytest.mark.parametrize("server", ["sqlite"], indirect=True)
@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_a_buyer_asks_is_handed_over_and_reads_the_staff_reply(
    browser: Browser, server: Server, lang: str
) -> None:
    case = CASES[lang]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    concert = Concert(server)
    assert (
        concert.org.put(f"/api/events/{concert.event_id}/faq", json={"entries": TEMPLATE}).status_code == 200
    )
    canned = concert.org.post(
        "/api/console/support/canned",
        json={"title": "drummer", "body_zh": case["canned_zh"], "body_en": case["canned_en"]},
    )
    assert canned.status_code == 201, canned.text
    buyer = concert.buyer()
    order_id = buy(concert, buyer, seats=["A-2-5"])["id"]
    buyer_token = buyer.headers["Authorization"].split()[1]

    phone = await _page(browser, server, PHONE, case["locale"], "encore.buyer", buyer_token)
    await phone.goto(f"{server.url}/support/?event={concert.event_id}")
    await phone.fill("#question", case["faq"])
    await phone.click("#send")
    await phone.locator(".msg.bot").first.wait_for()
    assert case["faq_answer"] in await phone.locator(".msg.bot").first.inner_text()
    await phone.fill("#question", "我的座位在哪？" if lang == "zh" else "What is my seat?")
    await phone.click("#send")
    await phone.locator(".msg.bot").nth(1).wait_for()
    assert "A-2-5" in await phone.locator(".msg.bot").nth(1).inner_text()
    await phone.screenshot(path=str(ARTIFACTS / f"buyer_bot_{lang}.png"), full_page=True)

    await phone.fill("#question", case["unknown"])
    await phone.click("#send")
    await phone.locator("#handed").wait_for(state="visible")
    assert case["handed"] in await phone.locator("#handed").inner_text()
    await phone.locator("#mine li[data-request]").first.wait_for()
    await phone.screenshot(path=str(ARTIFACTS / f"buyer_handed_over_{lang}.png"), full_page=True)

    desk = await _page(browser, server, DESK, case["locale"], "encore.organiser", concert.organiser_token)
    await desk.goto(f"{server.url}/console/support/")
    await desk.locator("#requests li[data-request]").first.wait_for()
    await desk.locator("#requests li[data-request]").first.click()
    await desk.locator("#open-request").wait_for(state="visible")
    assert case["unknown"] in await desk.locator("#chat").inner_text()
    await desk.select_option("#canned", label="drummer")
    assert await desk.input_value("#message") == case[f"canned_{lang}"]
    await desk.click("#send")
    await desk.locator("#chat .msg", has_text=case[f"canned_{lang}"]).wait_for()
    await desk.screenshot(path=str(ARTIFACTS / f"staff_desk_{lang}.png"), full_page=True)

    # the buyer's page polls its request: the staff reply appears without a reload
    await phone.locator(".msg.staff", has_text=case[f"canned_{lang}"]).wait_for(timeout=15_000)
    await phone.screenshot(path=str(ARTIFACTS / f"buyer_staff_reply_{lang}.png"), full_page=True)
    rid = int(await desk.locator("#requests li[data-request]").first.get_attribute("data-request") or 0)
    assert concert.org.get(f"/api/console/support/requests/{rid}").json()["status"] == "waiting_buyer"

    # the buyer opens a request from their order, with a category, on the same page
    await phone.select_option("#contact-category", "invoice")
    await phone.fill("#contact-message", case["invoice"])
    await phone.click("#contact-send")
    await phone.locator("#mine li[data-request]").nth(1).wait_for()
    await phone.screenshot(path=str(ARTIFACTS / f"buyer_request_from_order_{lang}.png"), full_page=True)
    newest = buyer.get("/api/support/requests").json()[0]
    assert (newest["category"], newest["order_id"], newest["from_bot"]) == ("invoice", order_id, False)
    assert newest["subject"] == case["invoice"]
