"""A buyer pays by WeChat Pay in headless Chromium: the seat map offers WeChat Pay, shows the QR
on a desktop, a phone "scans" it (the QR is read back by the gate's decoder) and pays on the
emulator's page; the desktop page then shows a ticket that ``gate-agent verify`` admits.
Screenshots in artifacts/payments/."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.box_office.helpers import Concert
from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.payments.conftest import WeChatWorld
from tests.payments.wechat_helpers import IPHONE

pytestmark = [pytest.mark.browser]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "payments"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def gate_agent(*args: str) -> subprocess.CompletedProcess[str]:
    command = Path(sys.executable).parent / "gate-agent"
    return subprocess.run([str(command), *args], capture_output=True, text=True, timeout=120, cwd=ROOT)


def click_seat(page: Page, label: str) -> None:
    x, y = page.evaluate(
        """(label) => {
            const a = window.seatmap, r = a.renderer, i = a.labelIndex.get(label);
            const box = r.canvas.getBoundingClientRect();
            return [box.left + a.seats.x[i] * r.scale + r.tx, box.top + a.seats.y[i] * r.scale + r.ty];
        }""",
        label,
    )
    page.mouse.click(float(x), float(y))


def test_pay_by_wechat_qr_and_the_gate_admits_the_ticket(
    wx: WeChatWorld, browser: Browser, tmp_path: Path
) -> None:
    now = time.time()
    concert = Concert(wx.server, session={"starts_at": now + 3600, "ends_at": now + 4 * 3600})
    desktop = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    phone = browser.new_context(user_agent=IPHONE, viewport={"width": 390, "height": 800})
    try:
        page = desktop.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{wx.server.url}/seatmap/{concert.session_id}")
        page.wait_for_function("window.__seatmapTiming !== undefined")
        expect(page.locator("#live-state")).to_have_attribute("data-state", "live")
        click_seat(page, "A-2-1")
        page.click("#hold-btn")
        page.locator("#signin").wait_for(state="visible")
        page.fill("#signin-email", "fan@example.test")
        page.locator("#signin-form button[type=submit]").click()
        expect(page.locator("#held")).to_be_visible()
        expect(page.locator("#co-providers")).to_be_visible()
        expect(page.locator("#co-provider-list")).to_contain_text("微信支付")
        expect(page.locator("#provider-wechat")).to_be_checked()
        shot(page, "wechat-1-checkout-zh")
        page.click("#co-submit")
        expect(page.locator("#pay")).to_be_visible()
        expect(page.locator("#pay-qr")).to_have_attribute("data-loaded", "1")
        expect(page.locator("#pay-note")).to_contain_text("微信扫描")
        expect(page.locator("#pay-confirm")).to_be_hidden()
        shot(page, "wechat-2-qr")
        # the buyer's phone scans the QR on the screen (read back by the gate's own decoder)
        qr = tmp_path / "pay-qr.png"
        page.locator("#pay-qr").screenshot(path=str(qr))
        decoded = gate_agent("decode", str(qr))
        assert decoded.returncode == 0, decoded.stderr
        pay_url = json.loads(decoded.stdout.splitlines()[0])["text"]
        assert pay_url.startswith(wx.emu.url + "/pay/")
        mobile = phone.new_page()
        mobile.goto(pay_url)
        expect(mobile.locator("#emu-amount")).to_have_text("¥200.00")
        shot(mobile, "wechat-3-emulator-page")
        mobile.click("#emu-pay")
        expect(mobile.locator("#emu-state")).to_contain_text("paid")
        # the desktop page moves on by itself once WeChat Pay notified the box office
        expect(page.locator("#tickets")).to_be_visible(timeout=30000)
        ticket = page.locator("li.ticket").first
        expect(ticket.locator("img.qr")).to_have_attribute("data-loaded", "1")
        shot(page, "wechat-4-ticket")
        ticket_png = tmp_path / "ticket.png"
        ticket.locator("img.qr").screenshot(path=str(ticket_png))
        read = gate_agent("decode", str(ticket_png))
        assert read.returncode == 0, read.stderr
        token = json.loads(read.stdout.splitlines()[0])["text"]
        feed = concert.feed_client()
        keyring = feed.get("/api/feed/keyring")
        assert keyring.status_code == 200, keyring.text
        (tmp_path / "keyring.json").write_text(json.dumps(keyring.json()["keyring"]))
        (tmp_path / "state").mkdir()
        config = tmp_path / "gate.toml"
        config.write_text(
            f'[gate]\nid = "north-1"\nevent_id = "{concert.event_id}"\nsession_id = "{concert.session_id}"\n'
            f'keyring = "{tmp_path / "keyring.json"}"\n\n[state]\ndir = "{tmp_path / "state"}"\n\n'
            "[display]\nenabled = false\n"
        )
        verdict = gate_agent("verify", token, "--config", str(config))
        assert verdict.returncode == 0, verdict.stdout + verdict.stderr
        result = json.loads(verdict.stdout)
        assert result["verdict"] == "ok" and result["admit"] is True
        assert result["ticket"]["seat"] == "A-2-1"
        assert errors == []
    finally:
        desktop.close()
        phone.close()


def _to_payment(page: Page, url: str, seat: str) -> None:
    page.goto(url)
    page.wait_for_function("window.__seatmapTiming !== undefined")
    expect(page.locator("#live-state")).to_have_attribute("data-state", "live")
    page.locator("#map").scroll_into_view_if_needed()
    click_seat(page, seat)
    page.click("#hold-btn")
    page.locator("#signin").wait_for(state="visible")
    page.fill("#signin-email", "phone@example.test")
    page.locator("#signin-form button[type=submit]").click()
    expect(page.locator("#held")).to_be_visible()
    page.click("#co-submit")
    expect(page.locator("#pay")).to_be_visible()


def test_a_phone_pays_by_h5_and_inside_wechat_by_jsapi(wx: WeChatWorld, browser: Browser) -> None:
    concert = Concert(wx.server)
    phone = browser.new_context(user_agent=IPHONE, viewport={"width": 390, "height": 844}, locale="en-GB")
    inside = browser.new_context(
        user_agent=IPHONE + " MicroMessenger/8.0.47", viewport={"width": 390, "height": 844}, locale="zh-CN"
    )
    # WeChat's own bridge, as the WeChat browser provides it: here it keeps what the page asks for
    inside.add_init_script(
        "window.WeixinJSBridge = { invoke(name, params, done) {"
        " window.__wxInvoked = { name, params }; done({ err_msg: 'get_brand_wcpay_request:ok' }); } };"
    )
    try:
        page = phone.new_page()
        _to_payment(page, f"{wx.server.url}/seatmap/{concert.session_id}", "A-2-1")
        expect(page.locator("#pay-note")).to_contain_text("Open WeChat Pay")
        expect(page.locator("#pay-qr")).to_be_hidden()
        link = page.locator("#pay-link")
        expect(link).to_be_visible()
        assert "redirect_url=" in (link.get_attribute("href") or "")
        shot(page, "wechat-5-h5-phone")
        with phone.expect_page() as opened:
            link.click()
        wechat_page = opened.value
        wechat_page.click("#emu-pay")  # back to the box office (redirect_url) once paid
        expect(page.locator("#tickets")).to_be_visible(timeout=30000)

        page = inside.new_page()
        _to_payment(page, f"{wx.server.url}/seatmap/{concert.session_id}?openid=oEncoreDemoPayer01", "A-2-2")
        expect(page.locator("#pay-note")).to_contain_text("微信中确认")
        invoked = page.wait_for_function("window.__wxInvoked").json_value()
        assert invoked["name"] == "getBrandWCPayRequest"
        shot(page, "wechat-6-jsapi")
        # WeChat's client checks paySign with the merchant's key, then pays
        paid = httpx.post(f"{wx.emu.url}/jsapi/pay", json=invoked["params"], timeout=30)
        assert paid.status_code == 200, paid.text
        expect(page.locator("#tickets")).to_be_visible(timeout=30000)
    finally:
        phone.close()
        inside.close()
