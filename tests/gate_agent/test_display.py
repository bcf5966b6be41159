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

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from gate_agent.store import GateStore
from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.gate_agent.agent_process import AgentProcess, Scanner, write_config
from tests.gate_agent.conftest import HOLDER_ID, HOLDER_NAME, Tickets
from tests.local_services import free_port

JSON = {"content-type": "application/json"}
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


def post(url: str, body: object) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_live_verdicts_counts_and_id_check(
    running: tuple[AgentProcess, Scanner, str, dict[str, str]], page: Page
) -> None:
    _, scanner, url, tokens = running
    page.goto(url)
    expect(page.locator("body")).to_have_attribute("data-connected", "yes")
    expect(page.locator("#verdict")).to_have_text("READY")
    expect(page.locator("#link")).to_have_text("standalone")

    scanner.scan(tokens["plain"])
    expect(page.locator("#verdict")).to_have_text("ADMIT")
    expect(page.locator("#place")).to_contain_text("Seat R7-S12")
    expect(page.locator("#panel")).to_have_class("admit")
    expect(page.locator("#admitted")).to_have_text("1")
    expect(page.locator("#backlog")).to_have_text("1")

    page.wait_for_timeout(600)  # beyond the repeat window: a second scan is a new scan
    scanner.scan(tokens["plain"])
    expect(page.locator("#verdict")).to_have_text("ALREADY USED")
    expect(page.locator("#reason")).to_contain_text("gate north-1")
    expect(page.locator("#panel")).to_have_class("refuse")

    scanner.scan("not a ticket at all")
    expect(page.locator("#verdict")).to_have_text("NOT A TICKET")
    expect(page.locator("#refused")).to_have_text("2")

    scanner.scan(tokens["vip"])
    expect(page.locator("#verdict")).to_have_text("CHECK ID")
    expect(page.locator("#identity")).to_be_visible()
    form = page.locator("#identity")
    form.locator("input[name=id_number]").fill("110105194912310021")  # wrong check digit
    form.locator("button").click()
    expect(page.locator("#error")).to_contain_text("resident ID")
    expect(page.locator("#verdict")).to_have_text("CHECK ID")
    form.locator("input[name=id_number]").fill(HOLDER_ID)
    form.locator("input[name=name]").fill(HOLDER_NAME)
    form.locator("button").click()
    expect(page.locator("#verdict")).to_have_text("ADMIT")
    expect(page.locator("#reason")).to_have_text("ID checked")
    expect(page.locator("#identity")).to_be_hidden()
    expect(page.locator("#admitted")).to_have_text("2")

    page.locator("#manual input[name=text]").fill("typed garbage")
    page.locator("#manual button").click()
    expect(page.locator("#verdict")).to_have_text("NOT A TICKET")


def test_api_refuses_bad_requests(running: tuple[AgentProcess, Scanner, str, dict[str, str]]) -> None:
    _, _, url, _ = running
    assert post(url + "/api/identity", {"id_type": "cn_ric", "id_number": HOLDER_ID})[0] == 409
    assert post(url + "/api/identity", ["not", "an", "object"])[0] == 400
    assert post(url + "/api/scan", {"text": ""})[0] == 400
    status, body = post(url + "/api/scan", {"text": 42})
    assert status == 400 and "text fields" in str(body["error"])
    request = urllib.request.Request(
        url + "/api/scan", data=b"\xff\xfe{", headers={"content-type": "application/json"}
    )
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=5)
    assert error.value.code == 400
    with urllib.request.urlopen(url + "/api/status", timeout=5) as response:
        assert json.loads(response.read())["gate_id"] == "north-1"
