"""The seat map page in headless Chromium against a real box office: races, expiry, a purchase that
a gate admits, real-name checkout, keyboard, phone, boxes, GA, limits, languages. Screenshots are
kept in artifacts/seatmap/."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.seatmap.conftest import ARTIFACTS, ROOT, BoxOffice, Concert, make_concert
from tests.seatmap.pages import (
    click_seat,
    open_map,
    selected_labels,
    shot,
    shown_status,
    sign_in_if_asked,
    tap_seat,
    wait_status,
)

pytestmark = [pytest.mark.browser]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def contexts(browser: Browser) -> Iterator[list[BrowserContext]]:
    made: list[BrowserContext] = []
    yield made
    for context in made:
        context.close()


def new_page(
    browser: Browser, contexts: list[BrowserContext], locale: str = "en-GB", **options: object
) -> Page:
    options.setdefault("viewport", {"width": 1280, "height": 860})
    context = browser.new_context(locale=locale, **options)  # type: ignore[arg-type]
    contexts.append(context)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors  # type: ignore[attr-defined]
    return page


def no_script_errors(*pages: Page) -> None:
    for page in pages:
        assert page.errors == [], page.errors  # type: ignore[attr-defined]


def test_two_buyers_race_for_the_same_seats_and_the_loser_sees_them_go(
    box_office: BoxOffice, browser: Browser, contexts: list[BrowserContext]
) -> None:
    concert = make_concert(box_office)
    alice = open_map(new_page(browser, contexts), concert.page_url)
    bob = open_map(new_page(browser, contexts), concert.page_url)
    wanted = ["A-3-5", "A-3-6"]
    for page in (alice, bob):
        for label in wanted:
            click_seat(page, label)
        assert selected_labels(page) == wanted
    shot(bob, "race-1-both-chose")
    alice.click("#hold-btn")
    sign_in_if_asked(alice, "alice@example.test")
    expect(alice.locator("#held")).to_be_visible()
    # Bob did nothing: the live channel greys the seats and takes them out of his choice
    for label in wanted:
        wait_status(bob, label, "held")
    expect(bob.locator("#notice")).to_contain_text("Just taken by someone else")
    assert selected_labels(bob) == []
    expect(bob.locator("#hold-btn")).to_be_disabled()
    shot(bob, "race-2-loser-sees-them-go")
    # and if he clicks a greyed seat it is refused on the page; the server refuses a direct try too
    click_seat(bob, "A-3-5")
    assert selected_labels(bob) == []
    bob_buyer = concert.buyer()
    taken = bob_buyer.post(f"/api/sessions/{concert.session_id}/holds", json={"seats": wanted})
    assert taken.status_code == 409 and taken.json()["code"] == "seat_taken"
    assert concert.statuses()["A-3-5"] == "held"
    no_script_errors(alice, bob)


def test_server_refusal_in_a_race_is_explained(
    box_office: BoxOffice, browser: Browser, contexts: list[BrowserContext]
) -> None:
    concert = make_concert(box_office)
    page = open_map(new_page(browser, contexts), concert.page_url)
    click_seat(page, "A-4-3")
    click_seat(page, "A-4-4")
    # another buyer takes A-4-3 through the API; we click Hold before the push reaches us
    page.evaluate("window.seatmap.live.close()")  # as if the push channel were late
    other = concert.buyer()
    url = f"/api/sessions/{concert.session_id}/holds"
    assert other.post(url, json={"seats": ["A-4-1", "A-4-2", "A-4-3"]}).status_code == 201
    page.click("#hold-btn")
    sign_in_if_asked(page, "late@example.test")
    expect(page.locator("#notice")).to_contain_text("seats no longer available: A-4-3")
    expect(page.locator("#held")).to_be_hidden()
    assert concert.statuses()["A-4-4"] == "available"  # all or nothing
    no_script_errors(page)


def test_waiting_room_429_makes_the_page_queue_and_retry(
    box_office: BoxOffice, browser: Browser, contexts: list[BrowserContext]
) -> None:
    """At an on-sale peak the box office answers a hold 429 + Retry-After. The page must tell
    the buyer they are in the queue and try again by itself, not show an error. The first
    hold answer is replaced by the waiting room's answer (the peak itself is in
    tests/box_office/test_admission.py); the retry goes to the real box office."""
    concert = make_concert(box_office)
    page = open_map(new_page(browser, contexts), concert.page_url)
    turned_away: list[str] = []
    tickets_sent: list[str | None] = []

    def waiting_room(route: Any) -> None:
        if route.request.method == "POST" and not turned_away:
            turned_away.append(route.request.url)
            route.fulfill(
                status=429,
                headers={
                    "Retry-After": "1",
                    "X-Queue-Ticket": "1700000000000.place-in-line",
                    "Content-Type": "application/json",
                },
                body=json.dumps({"detail": "busy", "code": "busy", "retry_after": 1}),
            )
        else:
            if route.request.method == "POST":
                tickets_sent.append(route.request.headers.get("x-queue-ticket"))
            route.continue_()

    page.route("**/api/sessions/*/holds", waiting_room)
    click_seat(page, "A-5-3")
    click_seat(page, "A-5-4")
    page.click("#hold-btn")
    sign_in_if_asked(page, "queued@example.test")
    expect(page.locator("#notice")).to_contain_text("in the queue")
    expect(page.locator("#held")).to_be_visible(timeout=10_000)
    assert turned_away and concert.statuses()["A-5-3"] == "held"
    assert tickets_sent == ["1700000000000.place-in-line"], "the retry must keep the buyer's place in line"
    no_script_errors(page)


def test_hold_expires_and_the_seats_come_back(
    box_office: BoxOffice, browser: Browser, contexts: list[BrowserContext]
) -> None:
    concert = make_concert(box_office, hold_seconds=4)
    holder = open_map(new_page(browser, contexts), concert.page_url)
    watcher = open_map(new_page(browser, contexts), concert.page_url)
    for label in ("A-2-1", "A-2-2"):
        click_seat(holder, label)
    holder.click("#hold-btn")
    sign_in_if_asked(holder, "slow@example.test")
    expect(holder.locator("#held")).to_be_visible()
    seconds = int(holder.locator("#countdown").get_attribute("data-seconds") or "0")
    assert 0 < seconds <= 4
    wait_status(watcher, "A-2-1", "held")
    shot(holder, "expiry-1-held-with-countdown")
    expect(holder.locator("#notice")).to_contain_text("Your hold expired", timeout=10000)
    expect(holder.locator("#choose")).to_be_visible()
    for page in (holder, watcher):
        wait_status(page, "A-2-1", "available")
        wait_status(page, "A-2-2", "available")
    shot(holder, "expiry-2-released")
    assert concert.statuses()["A-2-1"] == "available"
    # the seats can be chosen again at once
    click_seat(watcher, "A-2-1")
    assert selected_labels(watcher) == ["A-2-1"]
    no_script_errors(holder, watcher)


def gate_config(tmp: Path, concert: Concert) -> Path:
    """A gate for the event, trusting the keys the box office publishes on its feed keyring endpoint."""
    organiser = concert.organiser()
    made = organiser.post(f"/api/events/{concert.event_id}/feed-clients", json={"name": "gate test"})
    assert made.status_code == 201, made.text
    feed = concert.box_office.client(made.json()["token"])
    keyring = feed.get("/api/feed/keyring")
    assert keyring.status_code == 200, keyring.text
    (tmp / "keyring.json").write_text(json.dumps(keyring.json()["keyring"]))
    (tmp / "state").mkdir()
    config = tmp / "gate.toml"
    config.write_text(
        f'[gate]\nid = "north-1"\nevent_id = "{concert.event_id}"\nsession_id = "{concert.session_id}"\n'
        f'keyring = "keyring.json"\n\n[state]\ndir = "{tmp / "state"}"\n\n[display]\nenabled = false\n'
    )
    return config


def gate_agent(*args: str) -> subprocess.CompletedProcess[str]:
    command = Path(sys.executable).parent / "gate-agent"
    return subprocess.run([str(command), *args], capture_output=True, text=True, timeout=120, cwd=ROOT)


def test_full_purchase_ends_with_a_ticket_the_gate_admits(
    box_office: BoxOffice, browser: Browser, contexts: list[BrowserContext], tmp_path: Path
) -> None:
    now = time.time()  # the show starts within 4 hours, so its tickets admit now
    concert = make_concert(box_office, starts_at=now + 3600, ends_at=now + 4 * 3600)
    page = open_map(new_page(browser, contexts), concert.page_url)
    click_seat(page, "A-5-1")
    click_seat(page, "A-5-2")
    page.fill("#ga-FLOOR", "1")
    page.locator("#ga-FLOOR").dispatch_event("change")
    expect(page.locator("#sel-total")).to_have_text("CN¥1,340.00")  # 480 + 480 + 380
    page.click("#hold-btn")
    sign_in_if_asked(page, "fan@example.test")
    expect(page.locator("#held")).to_be_visible()
    lines = page.locator("fieldset.ticket-line")
    expect(lines).to_have_count(3)
    lines.nth(1).locator("select.ticket-type").select_option("child")  # A-5-2 as a child: 240
    expect(page.locator("#co-total")).to_have_text("CN¥1,100.00")
    expect(page.locator("#co-email")).to_have_value("fan@example.test")
    # a reload (or a crash of the tab) does not lose the hold: the page finds it again
    page.reload()
    page.wait_for_function("window.__seatmapTiming !== undefined")
    expect(page.locator("#held")).to_be_visible()
    lines = page.locator("fieldset.ticket-line")
    expect(lines).to_have_count(3)
    lines.nth(1).locator("select.ticket-type").select_option("child")
    shot(page, "purchase-1-checkout")
    page.click("#co-submit")
    expect(page.locator("#pay")).to_be_visible()
    expect(page.locator("#pay-amount")).to_have_text("CN¥1,100.00")
    shot(page, "purchase-2-payment")
    page.click("#pay-confirm")
    expect(page.locator("#tickets")).to_be_visible(timeout=30000)
    tickets = page.locator("li.ticket")
    expect(tickets).to_have_count(3)
    for k in range(3):
        expect(tickets.nth(k).locator("img.qr")).to_have_attribute("data-loaded", "1")
    shot(page, "purchase-3-tickets")
    wait_status(page, "A-5-1", "sold")
    # the QR on the buyer's screen, read back by the gate's own decoder and judged by the gate
    qr = ARTIFACTS / "purchase-ticket-qr.png"
    seat_ticket = tickets.filter(has_text="row 5, seat 1")
    seat_ticket.locator("img.qr").screenshot(path=str(qr))
    decoded = gate_agent("decode", str(qr))
    assert decoded.returncode == 0, decoded.stderr
    token = json.loads(decoded.stdout.splitlines()[0])["text"]
    assert token.startswith("EN1:")
    config = gate_config(tmp_path, concert)
    verdict = gate_agent("verify", token, "--config", str(config))
    result = json.loads(verdict.stdout)
    assert verdict.returncode == 0, verdict.stdout + verdict.stderr
    assert result["verdict"] == "ok" and result["admit"] is True
    assert result["ticket"]["seat"] == "A-5-1"
    no_script_errors(page)


def test_real_name_checkout_collects_holders_and_explains_refusals(
    box_office: BoxOffice, browser: Browser, contexts: list[BrowserContext]
) -> None:
    concert = make_concert(box_office, real_name=True)
    page = open_map(new_page(browser, contexts, locale="zh-CN"), concert.page_url)
    expect(page.locator("#hold-btn")).to_have_text("锁定座位")
    click_seat(page, "A-6-11")
    click_seat(page, "A-6-12")
    page.click("#hold-btn")
    sign_in_if_asked(page, "zhang@example.test")
    lines = page.locator("fieldset.ticket-line")
    expect(lines).to_have_count(2)
    expect(page.locator("#ticket-lines")).to_contain_text("实名制")
    for k, (name, number) in enumerate([("张三", "11010519491231002X"), ("李四", "110105194912310021")]):
        lines.nth(k).locator(".holder-name").fill(name)
        lines.nth(k).locator(".holder-id").fill(number)
    page.fill("#co-email", "zhang@example.test")
    page.click("#co-submit")
    # the second ID number has a wrong check digit: the server says so, nothing is ordered
    expect(page.locator("#co-error")).to_be_visible()
    expect(page.locator("#co-error")).to_contain_text("A-6-12")
    shot(page, "realname-1-refused")
    # the same ID twice breaks one-ID-one-ticket
    lines.nth(1).locator(".holder-id").fill("11010519491231002X")
    page.click("#co-submit")
    expect(page.locator("#co-error")).to_contain_text("ID")
    lines.nth(1).locator(".holder-id-type").select_option("passport")
    lines.nth(1).locator(".holder-id").fill("E12345678")
    page.click("#co-submit")
    expect(page.locator("#pay")).to_be_visible()
    expect(page.locator("#pay-amount")).to_have_text("¥960.00")  # two Stalls seats at 480
    no_script_errors(page)


def test_keyboard_only_buyer_can_choose_seats(
    box_office: BoxOffice, browser: Browser, contexts: list[BrowserContext]
) -> None:
    concert = make_concert(box_office)
    page = open_map(new_page(browser, contexts), concert.page_url)
    page.locator("#map").focus()
    page.keyboard.press("ArrowDown")  # the first key lands on the seat nearest the middle
    first = page.locator("#seat-focus").inner_text()
    assert first.startswith("Section A, row")
    for _ in range(12):
        page.keyboard.press("ArrowLeft")  # to the start of the row
    start = page.locator("#seat-focus").inner_text()
    assert ", seat 1 ·" in start
    page.keyboard.press("Enter")
    page.keyboard.press("ArrowRight")
    page.keyboard.press(" ")
    chosen = selected_labels(page)
    assert len(chosen) == 2 and chosen[0].endswith("-1") and chosen[1].endswith("-2")
    expect(page.locator("#seat-focus")).to_contain_text("Your choice")
    page.keyboard.press("ArrowDown")
    below = page.locator("#seat-focus").inner_text()
    row_now = int(chosen[0].split("-")[1])
    assert f"row {row_now + 1}, seat 2" in below
    shot(page, "keyboard-1-two-seats")
    # accessible seats are announced as such
    for _ in range(6):
        page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowLeft")
    expect(page.locator("#seat-focus")).to_contain_text("Wheelchair accessible")
    no_script_errors(page)


def test_phone_touch_best_available_box_and_limits(
    box_office: BoxOffice, browser: Browser, contexts: list[BrowserContext]
) -> None:
    concert = make_concert(box_office, limit_per_account=4)
    page = new_page(
        browser,
        contexts,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    )
    open_map(page, concert.page_url)
    # a box is one unit: one tap takes all four seats, another tap lets them all go
    tap_seat(page, "BOX-1-3")
    assert selected_labels(page) == [f"BOX-1-{n}" for n in range(1, 5)]
    shot(page, "phone-1-box")
    tap_seat(page, "A-2-1")
    expect(page.locator("#notice")).to_contain_text("up to 4 tickets")
    assert len(selected_labels(page)) == 4
    tap_seat(page, "BOX-1-1")
    assert selected_labels(page) == []
    # a hand-made orphan is refused by the server and the page says why
    tap_seat(page, "A-2-2")
    tap_seat(page, "A-2-3")
    page.click("#hold-btn")
    sign_in_if_asked(page, "phone@example.test")
    expect(page.locator("#notice")).to_contain_text("A-2-1 would be left alone")
    shot(page, "phone-2-orphan-refused")
    tap_seat(page, "A-2-2")
    tap_seat(page, "A-2-3")
    # best available two in the Stalls
    page.locator("#best summary").click()
    page.select_option("#best-zone", "A")
    page.fill("#best-qty", "2")
    page.locator("#best-form button[type=submit]").click()
    expect(page.locator("#held")).to_be_visible()
    expect(page.locator("fieldset.ticket-line")).to_have_count(2)
    mine = page.evaluate("window.seatmap.hold.seats.map(s => s.label)")
    rows = {label.split("-")[1] for label in mine}
    assert len(mine) == 2 and len(rows) == 1 and "1" not in rows  # adjacent, in one Stalls row
    shot(page, "phone-3-best-available-held")
    no_script_errors(page)


def test_language_switch_and_prices_in_the_event_currency(
    box_office: BoxOffice, browser: Browser, contexts: list[BrowserContext]
) -> None:
    concert = make_concert(box_office)
    page = open_map(new_page(browser, contexts, locale="zh-CN"), concert.page_url)
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("#legend")).to_contain_text("Stalls ¥480.00")
    expect(page.locator("#legend")).to_contain_text("已售")
    shot(page, "lang-1-chinese")
    page.click("#lang-switch")
    expect(page.locator("#hold-btn")).to_have_text("Hold seats")
    expect(page.locator("#legend")).to_contain_text("Stalls CN¥480.00")
    page.reload()
    page.wait_for_function("window.__seatmapTiming !== undefined")
    expect(page.locator("#hold-btn")).to_have_text("Hold seats")  # the choice is remembered
    shot(page, "lang-2-english")
    english = open_map(new_page(browser, contexts, locale="en-US"), concert.page_url)
    expect(english.locator("#hold-btn")).to_have_text("Hold seats")
    no_script_errors(page, english)
    assert shown_status(english, "A-1-1") == "available"
