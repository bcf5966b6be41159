"""The buyer pages in Chromium (issue #13): a phone at 390 px in Chinese and a desktop in
English, signing in with the SMS code, orders and an order with its QR (read back with
zxing-cpp), the tickets page opening offline after one visit, and passkeys through Chromium's
virtual authenticator (add one, sign in with it, step up with it). Screenshots go to
``$ARTIFACTS_DIR`` (default ``artifacts/``) as ``buyer-*.png``."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import AsyncIterator
from pathlib import Path

import cv2
import numpy as np
import pytest
import zxingcpp
from playwright.async_api import Browser, BrowserContext, Page, ViewportSize, async_playwright

from box_office.core.otp import normalise_phone
from tests.box_office.buyer_fixtures import buyers_server, code_sent_to, new_phone, sign_in, skip
from tests.box_office.conftest import Server
from tests.box_office.helpers import Concert, buy
from tests.browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.browser
__all__ = ["buyers_server"]
ARTIFACTS = Path(os.environ.get("ARTIFACTS_DIR", "artifacts"))
PHONE = ViewportSize(width=390, height=844)
DESKTOP = ViewportSize(width=1280, height=800)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


def local(server: Server) -> str:
    """The page origin: localhost (a WebAuthn relying party cannot be an IP address)."""
    return server.url.replace("127.0.0.1", "localhost")


async def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"buyer-{name}.png"), full_page=True)


async def fits(page: Page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"the page is {width} px wide"  # type: ignore[index]


async def page_sign_in(server: Server, page: Page, phone: str) -> None:
    await page.goto(local(server) + "/me/orders")
    assert "/me/signin" in page.url
    before = len(server.sms.sent)
    await page.fill("#phone", phone)
    await page.click("form:has(#phone) button[type=submit]")
    await page.wait_for_selector("#code")
    await page.fill("#code", code_sent_to(server, normalise_phone(phone), before))
    await page.click("form:has(#code) button[type=submit]")
    await page.wait_for_url("**/me/orders")


async def context(browser: Browser, viewport: ViewportSize, locale: str) -> BrowserContext:
    return await browser.new_context(viewport=viewport, locale=locale, service_workers="allow")


@pytest.mark.parametrize("buyers_server", ["sqlite"], indirect=True)
async def test_phone_in_chinese_orders_ticket_qr_and_offline(buyers_server: Server, browser: Browser) -> None:
    concert = Concert(buyers_server)
    phone = new_phone()
    api, _ = sign_in(buyers_server, phone)
    done = buy(concert, api, seats=["A-1-1"])
    token = done["tickets"][0]["token"]
    skip(buyers_server, 61)
    ctx = await context(browser, PHONE, "zh-CN")
    page = await ctx.new_page()
    await page.goto(local(buyers_server) + "/me/signin")
    await shot(page, "signin-zh-390")
    await fits(page)
    await page_sign_in(buyers_server, page, phone)
    card = page.locator(f"[data-order='{done['id']}']")
    await card.wait_for()
    text = await card.inner_text()
    assert "Test Concert" in text and "已出票" in text and "已付款" in text and "Test Hall" in text
    await shot(page, "orders-zh-390")
    await fits(page)
    await card.click()
    await page.wait_for_url(f"**/me/orders/{done['id']}")
    ticket = page.locator("section.ticket").first
    body = await ticket.inner_text()
    assert "A区 1排 1号" in body and "VIP" in body and "¥500.00" in body
    assert await page.locator("[data-action=refund]").inner_text() == "申请退票 · 即将开放"
    png = await ticket.locator("img.qr").screenshot()
    decoded = zxingcpp.read_barcodes(cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE))
    assert decoded and decoded[0].text == token
    await shot(page, "order-zh-390")
    await fits(page)
    # the tickets page: one visit online, then no signal
    await page.goto(local(buyers_server) + "/me/tickets")
    await page.wait_for_selector("body[data-offline-ready='1']")
    await ctx.set_offline(True)
    await page.reload()
    await page.locator("section.ticket img.qr").first.wait_for()
    assert "Test Concert" in await page.locator("section.ticket").first.inner_text()
    await shot(page, "tickets-offline-zh-390")
    await ctx.set_offline(False)
    await ctx.close()


@pytest.mark.parametrize("buyers_server", ["sqlite"], indirect=True)
async def test_desktop_in_english_with_the_language_switch(buyers_server: Server, browser: Browser) -> None:
    concert = Concert(buyers_server)
    phone = new_phone()
    api, _ = sign_in(buyers_server, phone)
    done = buy(concert, api, seats=["A-2-1"])
    skip(buyers_server, 61)
    ctx = await context(browser, DESKTOP, "en-US")
    page = await ctx.new_page()
    await page_sign_in(buyers_server, page, phone)
    text = await page.locator(f"[data-order='{done['id']}']").inner_text()
    assert "Tickets issued" in text and "Order" in text
    await shot(page, "orders-en-desktop")
    await page.click("a.lang")
    await page.wait_for_selector("text=我的订单")
    await page.goto(local(buyers_server) + f"/me/orders/{done['id']}")
    assert "A区 2排 1号" in await page.locator("section.ticket").inner_text()  # the switch is remembered
    await page.click("a.lang")
    await page.wait_for_selector("text=Section A, row 2, seat 1")
    await shot(page, "order-en-desktop")
    await ctx.close()


@pytest.mark.parametrize("buyers_server", ["sqlite"], indirect=True)
async def test_passkey_add_sign_in_and_step_up(buyers_server: Server, browser: Browser) -> None:
    ctx = await context(browser, PHONE, "en-US")
    page = await ctx.new_page()
    cdp = await ctx.new_cdp_session(page)
    await cdp.send("WebAuthn.enable")
    await cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    await page_sign_in(buyers_server, page, new_phone())
    await page.goto(local(buyers_server) + "/me/account")
    await page.click("#passkey-add")
    await page.wait_for_selector("#passkey-done:not([hidden])")
    assert await page.inner_text("#passkey-count") == "1"
    await shot(page, "passkey-added-en-390")
    # sign out, then back in with the fingerprint alone
    await page.click("form[action='/me/signout'] button")
    await page.wait_for_url("**/me/signin")
    await page.click("#passkey")
    await page.wait_for_url("**/me/orders")
    # a step-up with the passkey
    await page.goto(local(buyers_server) + "/me/step-up?next=/me/tickets&action=refund")
    await page.click("#passkey-step-up")
    await page.wait_for_url("**/me/tickets")
    await ctx.close()


@pytest.mark.parametrize("buyers_server", ["sqlite"], indirect=True)
async def test_seat_map_sends_a_new_buyer_to_sign_in_and_back(
    buyers_server: Server, browser: Browser
) -> None:
    """With accounts only by verified number (no development shortcut), holding on the seat map
    signs the buyer in by SMS code and comes back to the map, which then holds."""
    concert = Concert(buyers_server)
    ctx_ = buyers_server.app_ctx  # type: ignore[attr-defined]
    settings = ctx_.settings
    ctx_.settings = dataclasses.replace(settings, open_accounts=False)
    try:
        bctx = await context(browser, PHONE, "zh-CN")
        page = await bctx.new_page()
        url = local(buyers_server) + f"/seatmap/{concert.session_id}"

        async def hold_a_seat() -> None:
            await page.goto(url)
            await page.wait_for_function("window.__seatmapTiming !== undefined")
            x, y = await page.evaluate(
                """() => { const a = window.seatmap, r = a.renderer, i = a.labelIndex.get("A-3-1");
                    const box = r.canvas.getBoundingClientRect();
                    return [box.left + a.seats.x[i] * r.scale + r.tx,
                            box.top + a.seats.y[i] * r.scale + r.ty]; }"""
            )
            await page.mouse.click(x, y)
            await page.click("#hold-btn")

        await hold_a_seat()
        await page.wait_for_url("**/me/signin?next=*")
        phone = new_phone()
        before = len(buyers_server.sms.sent)
        await page.fill("#phone", phone)
        await page.click("form:has(#phone) button[type=submit]")
        await page.fill("#code", code_sent_to(buyers_server, normalise_phone(phone), before))
        await page.click("form:has(#code) button[type=submit]")
        await page.wait_for_url(f"**/seatmap/{concert.session_id}")
        await hold_a_seat()
        await page.locator("#held").wait_for()
        device = await page.evaluate("localStorage.getItem('encore.device')")
        assert device.startswith("d1.")
        await shot(page, "seatmap-after-sign-in-zh-390")
        await bctx.close()
    finally:
        ctx_.settings = settings
