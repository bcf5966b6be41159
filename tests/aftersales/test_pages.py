"""The after-sales pages in headless Chromium, in Chinese and English: a buyer on a phone sees
the refund preview change with the tickets chosen and asks for the refund; promoter staff
approve a request from the queue at 50 %. Screenshots go to ``$ARTIFACTS_DIR`` (default
``artifacts/``) as ``aftersales_*.png``."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, ViewportSize, async_playwright

from tests.aftersales.test_refund_requests import CHINA, concert_with, money
from tests.box_office.conftest import Server
from tests.box_office.helpers import buy
from tests.browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.browser
ARTIFACTS = Path(os.environ.get("ARTIFACTS_DIR", "artifacts"))
PHONE = ViewportSize(width=390, height=844)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_buyer_previews_and_requests_a_refund_on_a_phone(
    server: Server, browser: Browser, lang: str
) -> None:
    concert = concert_with(server, CHINA)  # the show is 24 h away: 70 %, 5.00 fee a ticket
    buyer = concert.buyer()
    done = buy(concert, buyer, seats=["A-2-3", "A-2-4"])
    context = await browser.new_context(viewport=PHONE, locale="zh-CN" if lang == "zh" else "en-GB")
    token = buyer.headers["Authorization"].removeprefix("Bearer ")
    await context.add_init_script(
        f"localStorage.setItem('encore.buyer', {json.dumps(json.dumps({'token': token}))})"
    )
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(f"{server.url}/me/orders/{done['id']}/refund")
    await page.wait_for_selector("body[data-state=quoted]", timeout=20000)
    assert await page.text_content("#title") == ("申请退款" if lang == "zh" else "Request a refund")
    assert await page.get_attribute("body", "data-amount") == str(2 * (14000 - 500))
    assert await page.text_content("#amount") == "¥270.00"
    detail = await page.text_content("#detail") or ""
    assert ("按 70% 退款" in detail) if lang == "zh" else ("70% of the price" in detail)
    # keep one ticket: the preview follows
    await page.locator("input[name=ticket]").nth(1).uncheck()
    await page.wait_for_function("document.body.dataset.amount === '13500'", timeout=10000)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"aftersales_refund_preview_{lang}.png"), full_page=True)
    await page.click("#submit")
    await page.wait_for_selector("body[data-state=approved]", timeout=20000)
    result = await page.text_content("#result") or ""
    assert "¥135.00" in result and (
        ("退款已批准" in result) if lang == "zh" else ("Refund approved" in result)
    )
    await page.screenshot(path=str(ARTIFACTS / f"aftersales_refund_done_{lang}.png"), full_page=True)
    assert errors == []
    await context.close()
    assert money(server, done["id"])[1] == 13500


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_promoter_staff_approve_from_the_queue(server: Server, browser: Browser, lang: str) -> None:
    concert = concert_with(server, CHINA | {"cutoff_hours": 48})  # past the deadline: the queue
    buyer = concert.buyer()
    done = buy(concert, buyer, seats=["A-3-6"])
    asked = buyer.post(f"/api/orders/{done['id']}/refund-requests", json={})
    assert asked.json()["status"] == "pending_approval"
    context = await browser.new_context(
        viewport={"width": 1200, "height": 800}, locale="zh-CN" if lang == "zh" else "en-GB"
    )
    stored = json.dumps(json.dumps({"token": concert.organiser_token}))
    await context.add_init_script(f"localStorage.setItem('encore.organiser', {stored})")
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(f"{server.url}/console/aftersales/?event={concert.event_id}")
    await page.wait_for_selector("body[data-state=loaded]", timeout=20000)
    row = page.locator(f"tr[data-request='{asked.json()['id']}']")
    assert await row.count() == 1
    why = await row.locator("td").nth(2).text_content()
    assert why == ("已过退票截止时间" if lang == "zh" else "past the refund deadline")
    await row.locator("input").fill("50")
    await page.screenshot(path=str(ARTIFACTS / f"aftersales_console_queue_{lang}.png"), full_page=True)
    await row.locator("button.approve").click()
    await page.wait_for_selector(
        f"tr[data-request='{asked.json()['id']}'][data-decided=approved]", timeout=20000
    )
    assert "¥100.00" in (await row.text_content() or "")  # 50 % of 200.00
    await page.screenshot(path=str(ARTIFACTS / f"aftersales_console_approved_{lang}.png"), full_page=True)
    assert errors == []
    await context.close()
    assert money(server, done["id"]) == (20000, 10000, ["succeeded"])


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_promoter_cancels_a_session_and_watches_the_counter(
    server: Server, browser: Browser, lang: str
) -> None:
    concert = concert_with(server, CHINA)
    orders = [buy(concert, concert.buyer(), seats=[f"A-1-{n}"]) for n in (5, 6)]
    context = await browser.new_context(
        viewport={"width": 1200, "height": 800}, locale="zh-CN" if lang == "zh" else "en-GB"
    )
    stored = json.dumps(json.dumps({"token": concert.organiser_token}))
    await context.add_init_script(f"localStorage.setItem('encore.organiser', {stored})")
    page = await context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    await page.goto(f"{server.url}/console/aftersales/")
    await page.fill("#session", str(concert.session_id))
    await page.click("#cancel-session")
    await page.wait_for_selector("body[data-bulk=done]", timeout=30000)
    progress = await page.text_content("#bulk-progress") or ""
    assert progress == ("已退款并通知 2 / 2 个订单" if lang == "zh" else "2 of 2 orders refunded and told")
    await page.screenshot(path=str(ARTIFACTS / f"aftersales_console_cancelled_{lang}.png"), full_page=True)
    await context.close()
    for made in orders:
        assert money(server, made["id"]) == (50000, 50000, ["succeeded"])
