"""The real camera path: Chromium's fake capture device plays a video of QR codes made here.

First the phone enrols by scanning the enrolment QR that ``sync-server enrol-code`` prints
(``URL CODE``); then, relaunched with a second video (same profile, as a phone keeps its
storage), it reads tickets through getUserMedia and the vendored zxing-cpp WebAssembly reader
and decides each one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.staff_app.conftest import EVENT, qr_frame, write_y4m
from tests.sync_server.conftest import wait_for
from ticket_format import SigningKey, issue
from ticket_format.claims import TicketClaims

pytestmark = pytest.mark.browser

COLLECT_VERDICTS = """
window.__verdicts = [];
document.addEventListener('encore-verdict', (e) => window.__verdicts.push(e.detail));
"""


def video_of(path: Path, texts: list[str | None], frames_each: int = 10, gap: int = 5) -> Path:
    frames = []
    for text in texts:
        frames += [qr_frame(text)] * frames_each + [qr_frame(None)] * gap
    return write_y4m(path, frames)


async def test_enrol_by_scanning_the_enrolment_qr_then_decide_tickets_from_the_camera(
    server: Any, tickets: Any, launch_phone: Any, tmp_path: Path
) -> None:
    ids = tickets.make(3)
    server.store.upsert_tickets(tickets.records())
    code = server.store.create_enrol_code(EVENT, "camera-door", "in", ())
    enrol_video = video_of(tmp_path / "enrol.y4m", [f"{server.url} {code}"])

    context = await launch_phone(tmp_path / "profile", enrol_video)
    page = context.pages[0] if context.pages else await context.new_page()
    await page.goto(server.url + "/staff/")
    await page.wait_for_function("() => document.body.dataset.screen === 'scan'", timeout=20000)
    await page.wait_for_function("() => encoreStaff.store.get('header') !== undefined", timeout=20000)
    device = await page.evaluate("() => encoreStaff.store.get('enrolment')")
    assert device["gate_id"] == "camera-door"
    assert any(d["device_id"] == device["device_id"] for d in server.store.devices())
    await context.close()

    forged = issue(TicketClaims(ids[2], EVENT, zone="A"), SigningKey.generate())
    tickets_video = video_of(
        tmp_path / "tickets.y4m", [tickets.tokens[ids[0]], forged, tickets.tokens[ids[1]]]
    )
    context = await launch_phone(tmp_path / "profile", tickets_video)
    await context.add_init_script(COLLECT_VERDICTS)
    page = context.pages[0] if context.pages else await context.new_page()
    await page.goto(server.url + "/staff/")
    seen = """(want) => want.every(([id, verdict]) => window.__verdicts.some(
        (v) => v.source === 'camera' && v.verdict === verdict && (id === null || v.ticket_id === id)))"""
    want = [[ids[0], "ok"], [None, "unknown_key"], [ids[1], "ok"]]
    await page.wait_for_function(seen, arg=want, timeout=30000)
    camera = await page.evaluate("() => window.__verdicts.filter((v) => v.source === 'camera')")
    assert {v["verdict"] for v in camera} <= {"ok", "unknown_key", "already_used"}
    assert await page.evaluate("() => encoreStaff.camera.decoded") >= 3
    await wait_for(lambda: server.store.scan_count(EVENT) >= 3, timeout=30)


DECODE_BOTH = """async (frames) => {
  const { decodeImage } = await import('/staff/scanner.js');
  const canvas = new OffscreenCanvas(640, 480);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  const out = [];
  for (const b64 of frames) {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const bitmap = await createImageBitmap(new Blob([bytes], { type: 'image/png' }));
    ctx.drawImage(bitmap, 0, 0);
    const image = ctx.getImageData(0, 0, 640, 480);
    out.push([await decodeImage(image, { secondPass: false }), await decodeImage(image)]);
  }
  return out;
}"""


async def test_the_region_pass_reads_codes_the_plain_pass_misses(
    server: Any, launch: Any, tmp_path: Path
) -> None:
    import base64
    import json

    from bench.gate_corpus import generate

    generate(tmp_path / "corpus", frames=40, empty=0, seed=11)
    truth = [json.loads(line) for line in (tmp_path / "corpus" / "truth.jsonl").read_text().splitlines()]
    frames = [base64.b64encode((tmp_path / "corpus" / t["file"]).read_bytes()).decode() for t in truth]
    browser = await launch()
    page = await browser.new_page()
    await page.goto(server.url + "/staff/?nocamera")
    await page.evaluate("() => window.encoreStaffReady")
    results = await page.evaluate(DECODE_BOTH, frames)
    plain = {t["text"] for t, (first, _) in zip(truth, results, strict=True) if t["text"] in first}
    both = {t["text"] for t, (_, second) in zip(truth, results, strict=True) if t["text"] in second}
    wrong = [r for t, r in zip(truth, results, strict=True) if any(x != t["text"] for x in r[0] + r[1])]
    assert not wrong
    assert plain <= both and len(both) > len(plain)
