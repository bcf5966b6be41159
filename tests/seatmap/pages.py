"""Driving the seat map page as a buyer would: real pointer clicks and taps on the canvas, keys,
form fields. The only look inside the page is asking where a seat is drawn (to click it) and what
status the page shows for it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from tests.seatmap.conftest import ARTIFACTS

LIVE_WAIT_MS = 5000  # generous: the latency itself is measured in bench/, not asserted here


def open_map(page: Page, url: str) -> Page:
    page.goto(url)
    page.wait_for_function("window.__seatmapTiming !== undefined")
    expect(page.locator("#live-state")).to_have_attribute("data-state", "live")
    return page


def seat_point(page: Page, label: str) -> tuple[float, float]:
    """Where on the page seat ``label`` is drawn (page coordinates)."""
    x, y = page.evaluate(
        """(label) => {
            const a = window.seatmap, r = a.renderer, i = a.labelIndex.get(label);
            const box = r.canvas.getBoundingClientRect();
            return [box.left + a.seats.x[i] * r.scale + r.tx, box.top + a.seats.y[i] * r.scale + r.ty];
        }""",
        label,
    )
    return float(x), float(y)


def click_seat(page: Page, label: str) -> None:
    x, y = seat_point(page, label)
    page.mouse.click(x, y)


def tap_seat(page: Page, label: str) -> None:
    x, y = seat_point(page, label)
    page.touchscreen.tap(x, y)


def shown_status(page: Page, label: str) -> str:
    """The status the page draws for ``label`` (from the live channel)."""
    status: str = page.evaluate(
        "(label) => { const a = window.seatmap;"
        " return a.doc.statuses[a.seats.status[a.labelIndex.get(label)]]; }",
        label,
    )
    return status


def wait_status(page: Page, label: str, status: str) -> None:
    page.wait_for_function(
        """([label, status]) => { const a = window.seatmap;
            return a.doc.statuses[a.seats.status[a.labelIndex.get(label)]] === status; }""",
        arg=[label, status],
        timeout=LIVE_WAIT_MS,
    )


def selected_labels(page: Page) -> list[str]:
    labels: list[str] = page.locator("#selection li").evaluate_all("els => els.map(e => e.dataset.label)")
    return labels


def sign_in_if_asked(page: Page, email: str) -> None:
    dialog = page.locator("#signin")
    dialog.wait_for(state="visible")
    page.fill("#signin-email", email)
    page.locator("#signin-form button[type=submit]").click()


def shot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def timing(page: Page) -> dict[str, Any]:
    value: dict[str, Any] = page.evaluate("window.__seatmapTiming")
    return value
