"""Camera decoding: success rate and time per frame for zxing-cpp, pyzbar and the chains.

Uses the production decoder chain (``gate_agent.inputs.camera.DecoderChain``) on the corpus
from ``bench/gate_corpus.py`` (generated into a temp dir unless --corpus is given), frames
loaded before timing, one thread (``cv2.setNumThreads(1)``), one warm-up pass.

    python bench/gate_camera.py            # 320 code frames + 40 empty frames
    python bench/gate_camera.py --quick    # 60 + 10
    python bench/gate_camera.py --write    # also update bench/RESULTS.md
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.gate_corpus import generate
from bench.results import machine_line, replace_section
from gate_agent.inputs.camera import DecoderChain

SECTION = "Gate camera decoding (issue 3)"


def load_note() -> str:
    """The shared machine's load average, so readers can judge the figures."""
    one, five = Path("/proc/loadavg").read_text().split()[:2]
    return f"Load average at the end of the run: {one} (1 min), {five} (5 min); the machine is shared."


CHAINS = {
    "zxing-cpp": ("zxing",),
    "pyzbar": ("pyzbar",),
    "chain zxing-cpp, pyzbar": ("zxing", "pyzbar"),
    "chain pyzbar, zxing-cpp": ("pyzbar", "zxing"),
    "chain zxing-cpp, zxing-cpp 1.5x (default)": ("zxing", "zxing_up"),
    "chain zxing-cpp, zxing-cpp 1.5x, pyzbar": ("zxing", "zxing_up", "pyzbar"),
}
DEFAULT = ("zxing", "zxing_up")


def measure(corpus: Path) -> tuple[str, dict[str, dict[str, float]]]:
    cv2.setNumThreads(1)
    truth = [json.loads(line) for line in (corpus / "truth.jsonl").read_text().splitlines()]
    frames = [cv2.imread(str(corpus / item["file"]), cv2.IMREAD_GRAYSCALE) for item in truth]
    results: dict[str, dict[str, float]] = {}
    by_tag_default: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for label, order in CHAINS.items():
        chain = DecoderChain(order)
        for frame in frames[:10]:
            chain.decode(frame)
        code_ms, empty_ms, right, wrong, false_positive = [], [], 0, 0, 0
        for item, frame in zip(truth, frames, strict=True):
            t0 = time.perf_counter()
            _, texts = chain.decode(frame)
            elapsed = (time.perf_counter() - t0) * 1000
            if item["text"] is None:
                empty_ms.append(elapsed)
                false_positive += bool(texts)
                continue
            code_ms.append(elapsed)
            ok = item["text"] in texts
            right += ok
            wrong += bool(texts) and not ok
            if order == DEFAULT:
                for tag in item["tags"] or ["clean"]:
                    by_tag_default[tag][0] += ok
                    by_tag_default[tag][1] += 1
        all_ms = code_ms + empty_ms
        results[label] = {
            "decoded": right, "codes": len(code_ms), "rate": right / len(code_ms), "wrong": wrong,
            "false_positive": false_positive, "mean_all": statistics.fmean(all_ms),
            "mean_code": statistics.fmean(code_ms), "p95_code": sorted(code_ms)[int(0.95 * len(code_ms))],
            "mean_empty": statistics.fmean(empty_ms) if empty_ms else 0.0,
        }  # fmt: skip
    tags = ", ".join(f"{tag} {ok}/{n}" for tag, (ok, n) in sorted(by_tag_default.items()))
    return tags, results


RAW = argparse.RawDescriptionHelpFormatter


def notes(results: dict[str, dict[str, float]]) -> list[str]:
    default = results["chain zxing-cpp, zxing-cpp 1.5x (default)"]
    rate_ok = "met" if default["rate"] >= 0.75 else "missed"
    time_ok = "met" if default["mean_all"] <= 3.0 else "missed"
    return [
        f"Target: the default decodes >= 75% at <= 3 ms a frame: rate **{rate_ok}** ({default['rate']:.1%}), "
        f"time **{time_ok}** ({default['mean_all']:.2f} ms mean over all frames).",
        "",
        "Why the rate misses: this corpus is harder than the research note's (78% for zxing-cpp there). Our "
        "tokens need QR version 8 (57 modules with the quiet zone) where the research used version 6, so at "
        "the same code size on screen each module is smaller (here 2.6-5.2 px), and Gaussian blur up to "
        "sigma 2 or motion blur then erases modules: codes tagged blur or motion are where the misses are. "
        "No decoder tried does much better: pyzbar adds 1-2 codes at about 6 ms more per frame, so the "
        "default chain is zxing-cpp then zxing-cpp on a 1.5x enlargement (taken only when the first pass "
        "reads nothing). At a real gate the camera is mounted so that the code fills more of the frame.",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=RAW)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--corpus", type=Path, help="a corpus directory from bench/gate_corpus.py")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = args.corpus
        if corpus is None:
            corpus = Path(tmp)
            generate(corpus, *((60, 10) if args.quick else (320, 40)))
        tags, results = measure(corpus)
    first = next(iter(results.values()))
    rows = [
        "| decoder | decoded | rate | wrong payloads | false positives (empty) | mean ms/frame (all) "
        "| mean ms (code frames) | p95 ms (code frames) | mean ms (empty frames) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for label, r in results.items():
        rows.append(
            f"| {label} | {r['decoded']:.0f}/{r['codes']:.0f} | {r['rate']:.1%} | {r['wrong']:.0f} "
            f"| {r['false_positive']:.0f} | {r['mean_all']:.2f} | {r['mean_code']:.2f} | {r['p95_code']:.2f} "
            f"| {r['mean_empty']:.2f} |"
        )
    command = "python bench/gate_camera.py" + (" --quick" if args.quick else "")
    body = "\n".join(
        [
            machine_line(),
            f"Command: `{command}` ({first['codes']:.0f} code frames 640x480 of real EN1 tokens, QR 8-M, "
            "plus empty frames; one thread; corpus from `bench/gate_corpus.py`, seed 11).",
            "",
            *rows,
            "",
            f"Default chain by condition (decoded/frames): {tags}.",
            "",
            *notes(results),
            load_note(),
        ]
    )
    print(body)
    if args.write:
        replace_section(SECTION, body)


if __name__ == "__main__":
    main()
