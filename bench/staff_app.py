"""The staff phone app in Chromium with the CPU throttled 4x (a mid-range phone):

1. a 50,000-ticket snapshot streamed from a real sync server into IndexedDB (the app's own
   ``Sync.downloadSnapshot``): target <= 15 s;
2. decision latency, from decoded text to a journalled verdict (the app's own ``scan``:
   Ed25519 in WebCrypto, rules, one strict-durability IndexedDB transaction): target p99 <= 30 ms;
3. decode rate on the gate camera corpus (bench/gate_corpus.py frames), the app's zxing-cpp
   WebAssembly reader against the gate agent's decoder chain on the very same frames.

    python bench/staff_app.py [--quick] [--write] [--tickets 50000] [--throttle 4]

Throttling is CDP ``Emulation.setCPUThrottlingRate`` on the page: it slows the renderer's main
thread (JavaScript, WebAssembly, WebCrypto calls), not the browser process that writes
IndexedDB to disk, so disk time is the machine's own.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.async_api import async_playwright

from bench.gate_corpus import generate as generate_corpus
from bench.results import machine_line, replace_section
from bench.sync_common import EVENT, free_port, prepare, records
from gate_agent.inputs.camera import DEFAULT_ORDER, DecoderChain
from gate_agent.inputs.decoders import zxing_decoder
from sync_server.app import create_app
from tests.browser import CHROMIUM, CHROMIUM_ARGS
from ticket_format import SigningKey, TicketClaims, issue

SECTION = "Staff phone app (issue 18)"

DOWNLOAD = """async () => {
  const t0 = performance.now();
  await encoreStaff.sync.downloadSnapshot();
  return { ms: performance.now() - t0, count: await encoreStaff.store.ticketCount() };
}"""

DECIDE = """async (tokens) => {
  // One scan at a time, each after the previous verdict was painted (a camera reads a few
  // codes a second, not back to back): [ms to the journalled verdict, ms until scan() returned
  // with the verdict on the page, verdict].
  const painted = () => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
  const out = [];
  for (const token of tokens) {
    await painted();
    await painted();
    const t0 = performance.now();
    const outcome = await encoreStaff.scan(token, 'bench');
    out.push([outcome.timing.journal, performance.now() - t0, outcome.verdict, outcome.timing.verify]);
  }
  return out;
}"""

FLOOR = """async () => {
  // The platform's floor in the same sitting: one strict IndexedDB transaction adding one row
  // (the scan path's write alone, no verification, no rules), paced like the scans.
  const painted = () => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
  const db = encoreStaff.store.db;
  const out = [];
  for (let i = 0; i < 300; i++) {
    await painted();
    const t0 = performance.now();
    const tx = db.transaction('meta', 'readwrite', { durability: 'strict' });
    tx.objectStore('meta').put(i, 'bench-floor');
    await new Promise((r) => (tx.oncomplete = r));
    out.push(performance.now() - t0);
  }
  return out;
}"""

WARM = """async () => {
  const t0 = performance.now();
  await encoreStaff.store.warm();
  return performance.now() - t0;
}"""

DECODE = """async ([frames, secondPass]) => {
  const { decodeImage, loadReader } = await import('/staff/scanner.js');
  await loadReader();
  const canvas = new OffscreenCanvas(640, 480);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  const out = [];
  for (const b64 of frames) {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const bitmap = await createImageBitmap(new Blob([bytes], { type: 'image/png' }));
    canvas.width = bitmap.width; canvas.height = bitmap.height;
    ctx.drawImage(bitmap, 0, 0);
    const image = ctx.getImageData(0, 0, bitmap.width, bitmap.height);
    const t0 = performance.now();
    const texts = await decodeImage(image, { secondPass });
    out.push([performance.now() - t0, texts]);
  }
  return out;
}"""


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def serve(db: Path) -> tuple[web.AppRunner, str]:
    from sync_server.store import ServerStore

    runner = web.AppRunner(create_app(ServerStore.open(f"sqlite:///{db}")))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"


def scan_tokens(key: SigningKey, count: int) -> list[str]:
    """Tokens of the first ``count`` snapshot tickets, plus re-scans and forgeries mixed in."""
    now = int(time.time())
    ids = [r.ticket_id for _, r in zip(range(count), records(count), strict=False)]
    valid = [
        issue(TicketClaims(t, EVENT, zone="A", valid_from=now - 3600, valid_until=now + 6 * 3600), key)
        for t in ids
    ]
    forged = [issue(TicketClaims(t, EVENT, zone="A"), SigningKey.generate()) for t in ids[: count // 10]]
    mixed = list(valid)
    for i in range(count // 5):  # already_used: a ticket seen earlier, with another text between
        mixed.insert(2 * i + 10, valid[i])
    for i, token in enumerate(forged):
        mixed.insert(7 * i + 3, token)
    return mixed


async def browser_part(
    url: str, store: Any, key: SigningKey, args: argparse.Namespace, corpus: Path
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = await browser.new_context(viewport={"width": 390, "height": 844})
        page = await context.new_page()
        await page.goto(url + "/staff/?nocamera")
        await page.evaluate("() => window.encoreStaffReady")
        cdp = await context.new_cdp_session(page)
        await cdp.send("Emulation.setCPUThrottlingRate", {"rate": args.throttle})
        code = store.create_enrol_code(EVENT, "bench-phone", "in", ())
        await page.evaluate("(code) => encoreStaff.sync.enrol(code)", code)
        loaded = await page.evaluate(DOWNLOAD)
        assert loaded["count"] == args.tickets, loaded
        results["snapshot_s"] = loaded["ms"] / 1000
        tokens = scan_tokens(key, args.scans)
        decided = await page.evaluate(DECIDE, tokens)
        results["decide_ms"] = [d[0] for d in decided]
        results["shown_ms"] = [d[1] for d in decided]
        results["verdicts"] = {v: sum(1 for d in decided if d[2] == v) for v in {d[2] for d in decided}}
        results["warm_ms"] = await page.evaluate(WARM)
        results["floor_ms"] = await page.evaluate(FLOOR)
        results["verify_ms"] = [d[3] for d in decided]
        items = [json.loads(line) for line in (corpus / "truth.jsonl").read_text().splitlines()]
        frames = [base64.b64encode((corpus / i["file"]).read_bytes()).decode() for i in items]
        for label, rate in (("throttled", args.throttle), ("unthrottled", 1)):
            await cdp.send("Emulation.setCPUThrottlingRate", {"rate": rate})
            for second in (False, True):
                out = []
                for start in range(0, len(frames), 40):
                    out += await page.evaluate(DECODE, [frames[start : start + 40], second])
                slot = f"decode_{label}{'_roi' if second else ''}"
                results[slot] = summarise(items, [(o[1], o[0]) for o in out])
        await browser.close()
    return results


def summarise(items: list[dict[str, Any]], outputs: list[tuple[list[str], float]]) -> dict[str, float]:
    codes = [i for i in items if i["text"] is not None]
    hits = sum(1 for i, (texts, _) in zip(items, outputs, strict=True) if i["text"] and i["text"] in texts)
    wrong = sum(1 for i, (texts, _) in zip(items, outputs, strict=True) if texts and i["text"] not in texts)
    ms = [m for _, m in outputs]
    return {
        "rate": hits / len(codes),
        "hits": hits,
        "codes": len(codes),
        "wrong": wrong,
        "ms_median": statistics.median(ms),
        "ms_p95": pct(ms, 0.95),
    }


def gate_decode(corpus: Path) -> dict[str, dict[str, float]]:
    cv2.setNumThreads(1)
    items = [json.loads(line) for line in (corpus / "truth.jsonl").read_text().splitlines()]
    frames = [np.asarray(cv2.imread(str(corpus / i["file"]), cv2.IMREAD_GRAYSCALE)) for i in items]
    out = {}
    for name, decode in (
        ("gate chain " + " -> ".join(DEFAULT_ORDER), DecoderChain(DEFAULT_ORDER).decode),
        ("gate zxing-cpp, one plain pass", zxing_decoder()),
    ):
        results = []
        for frame in frames:
            t0 = time.thread_time()
            texts = decode(frame)
            texts = texts[1] if isinstance(texts, tuple) else texts
            results.append((list(texts), (time.thread_time() - t0) * 1000))
        out[name] = summarise(items, results)
    return out


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="5,000 tickets, 150 scans, 60 frames")
    parser.add_argument("--write", action="store_true", help="write the section of bench/RESULTS.md")
    parser.add_argument("--tickets", type=int, default=50_000)
    parser.add_argument(
        "--scans", type=int, default=500, help="distinct tickets scanned (plus re-scans, forgeries)"
    )
    parser.add_argument("--throttle", type=float, default=4)
    args = parser.parse_args()
    frames, empty = 160, 20
    if args.quick:
        args.tickets, args.scans, frames, empty = 5_000, 150, 50, 10
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        key = SigningKey.generate()
        t0 = time.perf_counter()
        store = prepare(tmp / "sync.sqlite", args.tickets, key)
        print(f"server: {args.tickets} tickets stored in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        corpus = tmp / "corpus"
        generate_corpus(corpus, frames=frames, empty=empty, seed=11)
        runner, url = await serve(tmp / "sync.sqlite")
        try:
            browser = await browser_part(url, store, key, args, corpus)
        finally:
            await runner.cleanup()
        gate = gate_decode(corpus)
    report(args, browser, gate)


def report(args: argparse.Namespace, b: dict[str, Any], gate: dict[str, dict[str, float]]) -> None:
    d = b["decide_ms"]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines = [
        machine_line() + f" Load average at the end (1/5/15 min): {load} on 2 cores.",
        f"Command: `python bench/staff_app.py{' --quick' if args.quick else ''}` (headless Chromium "
        f"{CHROMIUM}, CPU throttled {args.throttle:g}x through CDP, a real sync server on loopback with "
        f"SQLite; the app's own code paths, called from the page).",
        "",
        "| measure | figure | target |",
        "|---|---|---|",
        f"| snapshot of {args.tickets:,} tickets streamed into IndexedDB "
        f"| {b['snapshot_s']:.1f} s | <= 15 s |",
        f"| decision latency, decoded text -> journalled verdict, p50 | {statistics.median(d):.1f} ms | |",
        f"| decision latency, p99 ({len(d)} scans) | {pct(d, 0.99):.1f} ms | <= 30 ms |",
        f"| decision latency, max | {max(d):.1f} ms | |",
        f"| of which Ed25519 verification (WebCrypto), p50 / p99 "
        f"| {statistics.median(b['verify_ms']):.1f} / {pct(b['verify_ms'], 0.99):.1f} ms | |",
        f"| floor: one strict IndexedDB write transaction alone, p50 / p99 "
        f"| {statistics.median(b['floor_ms']):.1f} / {pct(b['floor_ms'], 0.99):.1f} ms | |",
        f"| same scans until `scan()` returned with the verdict on the page, p50 / p99 "
        f"| {statistics.median(b['shown_ms']):.1f} / {pct(b['shown_ms'], 0.99):.1f} ms | |",
        f"| ticket list loaded from IndexedDB into memory at start (`Store.warm`) "
        f"| {b['warm_ms'] / 1000:.1f} s | |",
        "",
        "Verdicts of the timed scans: "
        + ", ".join(f"{k} {v}" for k, v in sorted(b["verdicts"].items()))
        + " (first entries, re-scans of earlier tickets, forgeries signed by an unknown key).",
        "",
        "Decode rate on the gate camera corpus (`bench/gate_corpus.py`, seed 11, 640x480, "
        "QR version 8-M tickets badly photographed), the same frames for every decoder:",
        "",
        "| decoder | codes read | rate | wrong | ms a frame, median | p95 |",
        "|---|---|---|---|---|---|",
    ]
    for key in ("throttled", "throttled_roi", "unthrottled", "unthrottled_roi"):
        s = b[f"decode_{key}"]
        how = f"{args.throttle:g}x throttled" if key.startswith("throttled") else "not throttled"
        passes = "plain pass + region pass (the app)" if key.endswith("_roi") else "plain pass only"
        name = f"app: zxing-wasm 3.1.4, {passes}, {how}"
        lines.append(
            f"| {name} | {s['hits']}/{s['codes']} | {100 * s['rate']:.1f}% | {s['wrong']} "
            f"| {s['ms_median']:.1f} | {s['ms_p95']:.1f} |"
        )
    for name, s in gate.items():
        lines.append(
            f"| {name} (CPU time) | {s['hits']}/{s['codes']} | {100 * s['rate']:.1f}% | {s['wrong']} "
            f"| {s['ms_median']:.1f} | {s['ms_p95']:.1f} |"
        )
    met = {
        "snapshot": b["snapshot_s"] <= 15,
        "decision": pct(d, 0.99) <= 30,
    }
    lines += [
        "",
        f"Targets: snapshot <= 15 s **{'met' if met['snapshot'] else 'not met'}** "
        f"({b['snapshot_s']:.1f} s); decision p99 <= 30 ms **{'met' if met['decision'] else 'not met'}** "
        f"({pct(d, 0.99):.1f} ms, median {statistics.median(d):.1f} ms) in this sitting.",
        "",
        "How to read it. The decision path is two cross-thread hops in Chromium: Ed25519 in "
        "WebCrypto (answered on the main thread as a task) and one IndexedDB write transaction "
        "with strict durability (committed by the browser process, answered as a task); the "
        "ticket list and usage rows are in memory (`Store.warm`), so no read transaction. Its "
        "median is a few ms; its tail follows the floor row, an empty strict IndexedDB write "
        "measured in the same sitting, which is the machine's scheduling (other engineers' jobs "
        "on the same 2 cores) more than the app. The snapshot is stored in blocks, one "
        "IndexedDB put per downloaded batch of 2,000: one put per ticket took 23.4 s for 50,000 "
        "at 4x (10-14 s of it IndexedDB puts, profiled), blocks the figure above; the transfer (the server "
        "gzips the stream on the same cores) is most of what remains.",
        "",
        "Decoding: the app's plain pass (the WebAssembly build of the zxing-cpp the gate uses; "
        "tryHarder, rotate, invert) reads the same frames as the gate's plain zxing-cpp pass. "
        "A frame it cannot read gets a second pass on its most textured region enlarged 2x "
        "(`roi.js`, after the gate's `zxing_roi` stage, without its sharpening: a JavaScript "
        "unsharp mask cost more than the decode); the camera loop runs that second pass on every "
        "other unread frame only. The gate's chain adds a Wiener deblur stage too, which is "
        "where its remaining extra codes come from. A phone camera gives 10-30 frames a second "
        "of a code held still, so a code missed in one frame is usually read in the next; the "
        "corpus frames are single, independent shots, most of them with a code (so the second "
        "pass runs on about half of them, which is what its cost per frame shows).",
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        replace_section(SECTION, text)


if __name__ == "__main__":
    asyncio.run(main())
