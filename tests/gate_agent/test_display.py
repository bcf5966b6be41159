"""The staff display in headless Chromium, served by a real ``gate-agent run`` process.

Scans arrive through the agent's serial input (a pty); the page must show each verdict live
over its WebSocket, and the ID form must settle a real-name hold.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from gate_agent.store import GateStore
from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.gate_agent.agent_process import AgentProcess, Scanner, write_config
from tests.gate_agent.conftest import HOLDER_ID, HOLDER_NAME, Tickets
from tests.local_services import free_port

JSON = {"content-type": "application/json"}
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "gate_display"
pytestmark = [pytest.mark.browser]


@pytest.fixture
def running(tmp_path: Path, tickets: Tickets) -> Iterator[tuple[AgentProcess, Scanner, str, dict[str, str]]]:
    tokens = {"plain": tickets.new(seat="R7-S12", zone="A"), "vip": tickets.new(real_name=True, zone="A")}
    with GateStore.open(tmp_path / "state" / "gate.sqlite") as store:
        tickets.load_into(store)
    scanner = Scanner(tmp_path / "ttyScanner")
    port = free_port()
    agent = AgentProcess(write_config(tmp_path, scanner.link, port=port, repeat_window=0.5))
    try:
        agent.wait_ready()
        yield agent, scanner, f"http://127.0.0.1:{port}", tokens
    finally:
        assert agent.stop() == 0
        scanner.close()


@pytest.fixture
def page() -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page()
        finally:
            browser.close()


class Staff:
    """An HTTP client of the display that keeps its cookies, as a browser would."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        self.csrf: str | None = None

    def call(
        self,
        method: str,
        path: str,
        body: object = None,
        *,
        csrf: bool = True,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        sent = {"content-type": "application/json", **(headers or {})}
        if csrf and self.csrf:
            sent["X-CSRF-Token"] = self.csrf
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, headers=sent, method=method)
        try:
            with self.opener.open(request, timeout=5) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read()) | {"retry_after": error.headers.get("Retry-After")}

    def sign_in(self, secret: str | None = None) -> tuple[int, dict[str, Any]]:
        if secret is None:
            secret = str(self.call("GET", "/api/session")[1]["pairing_code"])
        status, body = self.call("POST", "/api/session", {"secret": secret})
        if status == 200:
            self.csrf = str(body["csrf"])
        return status, body


def post(url: str, body: object) -> tuple[int, dict[str, object]]:
    """A request with no session at all."""
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def sign_in_on_page(page: Page) -> None:
    expect(page.locator("#signin")).to_be_visible()
    code = page.locator("#pairing").text_content()
    assert code and len(code) == 6
    page.locator("#signin input[name=secret]").fill(code)
    page.locator("#signin button").click()
    expect(page.locator("#signin")).to_be_hidden()


def test_live_verdicts_counts_and_id_check(
    running: tuple[AgentProcess, Scanner, str, dict[str, str]], page: Page
) -> None:
    _, scanner, url, tokens = running
    page.goto(url)
    expect(page.locator("body")).to_have_attribute("data-connected", "yes")
    expect(page.locator("#verdict")).to_have_text("就绪")  # Chinese first, as configured by default
    sign_in_on_page(page)
    page.locator("#lang").click()
    expect(page.locator("#verdict")).to_have_text("READY")
    expect(page.locator("#link")).to_have_text("standalone")

    scanner.scan(tokens["plain"])
    expect(page.locator("#verdict")).to_have_text("ADMIT")
    expect(page.locator("#verdict-alt")).to_have_text("请进")
    expect(page.locator("#place")).to_contain_text("Seat R7-S12")
    expect(page.locator("#panel")).to_have_class("admit")
    expect(page.locator("body")).to_have_attribute("data-cue", "admit")
    expect(page.locator("#admitted")).to_have_text("1")
    expect(page.locator("#backlog")).to_have_text("1")

    page.wait_for_timeout(600)  # beyond the repeat window: a second scan is a new scan
    scanner.scan(tokens["plain"])
    expect(page.locator("#verdict")).to_have_text("ALREADY USED")
    expect(page.locator("#reason")).to_contain_text("gate north-1")
    expect(page.locator("#panel")).to_have_class("refuse")
    expect(page.locator("body")).to_have_attribute("data-cue", "refuse")

    scanner.scan("not a ticket at all")
    expect(page.locator("#verdict")).to_have_text("NOT A TICKET")
    expect(page.locator("#refused")).to_have_text("2")

    scanner.scan(tokens["vip"])
    expect(page.locator("#verdict")).to_have_text("CHECK ID")
    expect(page.locator("body")).to_have_attribute("data-cue", "hold")
    expect(page.locator("#identity")).to_be_visible()
    form = page.locator("#identity")
    form.locator("input[name=id_number]").fill("110105194912310021")  # wrong check digit
    form.locator("button[type=submit]").click()
    expect(page.locator("#error")).to_contain_text("resident ID")
    expect(page.locator("#verdict")).to_have_text("CHECK ID")
    form.locator("input[name=id_number]").fill(HOLDER_ID)
    form.locator("input[name=name]").fill(HOLDER_NAME)
    form.locator("button[type=submit]").click()
    expect(page.locator("#verdict")).to_have_text("ADMIT")
    expect(page.locator("#reason")).to_have_text("ID checked")
    expect(page.locator("#identity")).to_be_hidden()
    expect(page.locator("#admitted")).to_have_text("2")

    page.locator("#manual input[name=text]").fill("typed garbage")
    page.locator("#manual button").click()
    expect(page.locator("#verdict")).to_have_text("NOT A TICKET")
    # three distinct cues, each with its own tones
    cues = page.evaluate("JSON.stringify(CUES)")
    assert len({json.dumps(v) for v in json.loads(cues).values()}) == 3


def test_screens_in_chinese_and_english(
    running: tuple[AgentProcess, Scanner, str, dict[str, str]], page: Page
) -> None:
    _, scanner, url, tokens = running
    page.set_viewport_size({"width": 1024, "height": 600})
    page.goto(url)
    sign_in_on_page(page)
    scanner.scan(tokens["vip"])
    expect(page.locator("#verdict")).to_have_text("请验证件")
    font = page.evaluate("parseFloat(getComputedStyle(document.getElementById('verdict')).fontSize)")
    assert font >= 100  # large Chinese verdict text: 20vmin of a 600 px screen
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "display-hold-zh.png"))
    page.locator("#release").click()
    expect(page.locator("#identity")).to_be_hidden()
    scanner.scan(tokens["plain"])
    expect(page.locator("#verdict")).to_have_text("请进")
    page.screenshot(path=str(SHOTS / "display-admit-zh.png"))
    page.locator("#lang").click()
    expect(page.locator("#verdict")).to_have_text("ADMIT")
    page.screenshot(path=str(SHOTS / "display-admit-en.png"))
    page.wait_for_timeout(600)
    scanner.scan(tokens["plain"])
    expect(page.locator("#verdict")).to_have_text("ALREADY USED")
    page.screenshot(path=str(SHOTS / "display-refuse-en.png"))


def test_actions_need_the_staff_session(running: tuple[AgentProcess, Scanner, str, dict[str, str]]) -> None:
    _, _, url, tokens = running
    for path, body in (("/api/scan", {"text": tokens["plain"]}), ("/api/identity", {"id_number": HOLDER_ID}),
                       ("/api/release", {})):  # fmt: skip
        status, answer = post(url + path, body)
        assert status == 401 and answer["code"] == "staff_session_required", path
    staff = Staff(url)
    assert staff.sign_in()[0] == 200
    status, answer = staff.call("POST", "/api/scan", {"text": tokens["plain"]}, csrf=False)
    assert status == 403 and answer["code"] == "csrf"
    forged = {"X-CSRF-Token": "guess"}
    assert staff.call("POST", "/api/scan", {"text": tokens["plain"]}, csrf=False, headers=forged)[0] == 403
    other_site = {"Origin": "http://evil.example"}
    assert staff.call("POST", "/api/scan", {"text": tokens["plain"]}, headers=other_site)[0] == 403
    status, answer = staff.call("POST", "/api/scan", {"text": tokens["plain"]})
    assert status == 200 and answer["verdict"] == "ok"
    assert staff.call("DELETE", "/api/session")[0] == 200
    assert staff.call("POST", "/api/scan", {"text": tokens["plain"]})[0] == 401


def test_pairing_code_only_for_the_device_and_lockout(
    running: tuple[AgentProcess, Scanner, str, dict[str, str]],
) -> None:
    _, _, url, _ = running
    staff = Staff(url)
    code = staff.call("GET", "/api/session")[1]["pairing_code"]
    rebound = staff.call("GET", "/api/session", headers={"Host": "attacker.example"})[1]
    assert "pairing_code" not in rebound  # a DNS-rebound page is not "on the device"
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(4):
        status, answer = staff.sign_in(wrong)
        assert status == 401 and answer["code"] == "wrong_secret"
    status, answer = staff.sign_in(wrong)
    assert status == 429 and answer["code"] == "locked" and int(answer["retry_after"]) >= 299
    status, answer = staff.sign_in(code)  # even the right code waits out the lock
    assert status == 429


def test_api_refuses_bad_requests(running: tuple[AgentProcess, Scanner, str, dict[str, str]]) -> None:
    _, _, url, _ = running
    staff = Staff(url)
    staff.sign_in()
    assert staff.call("POST", "/api/identity", {"id_type": "cn_ric", "id_number": HOLDER_ID})[0] == 409
    assert staff.call("POST", "/api/release")[0] == 409
    assert staff.call("POST", "/api/identity", ["not", "an", "object"])[0] == 400
    assert staff.call("POST", "/api/scan", {"text": ""})[0] == 400
    status, body = staff.call("POST", "/api/scan", {"text": 42})
    assert status == 400 and "text fields" in str(body["detail"]) and body["code"] == "bad_request"
    request = urllib.request.Request(
        url + "/api/scan",
        data=b"\xff\xfe{",
        headers={"content-type": "application/json", "X-CSRF-Token": staff.csrf or ""},
    )
    with pytest.raises(urllib.error.HTTPError) as error:
        staff.opener.open(request, timeout=5)
    assert error.value.code == 400
    with urllib.request.urlopen(url + "/api/status", timeout=5) as response:
        assert json.loads(response.read())["gate_id"] == "north-1"
