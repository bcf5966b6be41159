"""Fixtures for the staff phone app: a real sync server on loopback (SQLite file) and headless
Chromium (Debian's, through Playwright) with a fake camera fed a video the test makes."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import segno
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.sync_server.conftest import EVENT, Keyring_json, Server, Tickets, make_gate

__all__ = ["EVENT", "Server", "Tickets", "make_gate"]

ARTIFACTS = Path(os.environ.get("ARTIFACTS_DIR", "artifacts"))
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def tickets() -> Tickets:
    from ticket_format import SigningKey

    return Tickets(SigningKey.generate())


@pytest.fixture
async def server(tmp_path: Path, tickets: Tickets) -> AsyncIterator[Server]:
    srv = Server(tmp_path / "sync.sqlite")
    srv.store.set_event(EVENT, Keyring_json(tickets.key))
    await srv.start()
    yield srv
    await srv.stop()
    srv.store.close()


def qr_frame(text: str | None, width: int = 640, height: int = 480) -> np.ndarray:
    """One BGR video frame: a ticket's QR code on a light background (or an empty frame)."""
    frame = np.full((height, width, 3), 235, dtype=np.uint8)
    if text is not None:
        matrix = np.array(segno.make(text, error="m").matrix, dtype=np.uint8)
        modules = matrix.shape[0] + 8
        scale = max(1, min(width, height) * 9 // 10 // modules)
        padded = np.pad(1 - matrix, 4, constant_values=1)
        image = np.kron(padded, np.ones((scale, scale), dtype=np.uint8)) * 255
        h, w = image.shape
        y, x = (height - h) // 2, (width - w) // 2
        frame[y : y + h, x : x + w] = image[:, :, None]
    return frame


def write_y4m(path: Path, frames: list[np.ndarray], fps: int = 10) -> Path:
    """A YUV4MPEG2 file (Chromium's fake capture device reads it and loops)."""
    import cv2

    height, width = frames[0].shape[:2]
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            out.write(b"FRAME\n")
            out.write(cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes())
    return path


def camera_args(video: Path | None) -> list[str]:
    args = [*CHROMIUM_ARGS, "--use-fake-ui-for-media-stream", "--autoplay-policy=no-user-gesture-required"]
    if video is not None:
        args += ["--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={video}"]
    return args


@pytest.fixture
async def launch() -> AsyncIterator[Callable[..., Any]]:
    """``await launch(video=None)`` -> a Chromium browser (closed at the end of the test)."""
    browsers: list[Browser] = []
    async with async_playwright() as p:

        async def make(video: Path | None = None) -> Browser:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=camera_args(video))
            browsers.append(browser)
            return browser

        yield make
        for browser in browsers:
            await browser.close()


@pytest.fixture
async def launch_phone() -> AsyncIterator[Callable[..., Any]]:
    """``await launch_phone(profile_dir, video=None, lang="en")`` -> a persistent phone context.

    A persistent profile keeps IndexedDB and the service worker between launches, so one test
    can enrol with one camera video and scan tickets with another, as a phone would.
    """
    contexts: list[BrowserContext] = []
    async with async_playwright() as p:

        async def make(profile: Path, video: Path | None = None, lang: str = "en") -> BrowserContext:
            context = await p.chromium.launch_persistent_context(
                str(profile),
                executable_path=CHROMIUM,
                args=camera_args(video),
                viewport=PHONE,
                locale="zh-CN" if lang == "zh" else "en-GB",
                permissions=["camera"],
            )
            contexts.append(context)
            return context

        yield make
        for context in contexts:
            await context.close()


async def phone(browser: Browser, server: Server, lang: str = "en") -> tuple[BrowserContext, Page]:
    """A phone-sized page on the app (camera off unless the browser has a fake one)."""
    context = await browser.new_context(viewport=PHONE, locale="zh-CN" if lang == "zh" else "en-GB")
    await context.grant_permissions(["camera"], origin=server.url)
    page = await context.new_page()
    page.on("pageerror", lambda exc: print("page error:", exc))
    return context, page


async def open_app(page: Page, server: Server, *, camera: bool = False) -> None:
    await page.goto(server.url + ("/staff/" if camera else "/staff/?nocamera"))
    await page.evaluate("() => window.encoreStaffReady")


async def enrol_by_code(page: Page, server: Server, gate: str = "app-1", **kwargs: Any) -> str:
    """Enrol the open app with a fresh one-time code typed in; returns the device id."""
    code = server.store.create_enrol_code(EVENT, gate, kwargs.get("direction", "in"), kwargs.get("zones", ()))
    await page.fill("#enrol-code", code)
    await page.click("#enrol-form button[type=submit]")
    await page.wait_for_function("() => document.body.dataset.screen === 'scan'")
    return str(await page.evaluate("() => encoreStaff.store.get('enrolment').device_id"))


async def wait_synced(page: Page) -> None:
    """Until the app has its snapshot and an open push channel."""
    await page.wait_for_function(
        "() => encoreStaff.store.get('header') && encoreStaff.sync.state === 'online'", timeout=20000
    )


async def scan(page: Page, text: str) -> dict[str, Any]:
    """Scan through the app's own pipeline (what the camera and the manual field call)."""
    result: dict[str, Any] = await page.evaluate("(text) => encoreStaff.scan(text, 'test')", text)
    return result


async def controlled_by_service_worker(page: Page) -> None:
    """Until the service worker has cached the app and controls the page."""
    await page.evaluate("() => navigator.serviceWorker.ready")
    await page.wait_for_function("() => navigator.serviceWorker.controller !== null")


async def backlog(page: Page) -> int:
    return int(await page.evaluate("() => encoreStaff.store.countState(0)"))


def server_counter(server: Server, name: str) -> float:
    from sync_server.app import STATE

    assert server.runner is not None
    return server.runner.app[STATE].counters.get(name, 0)
