"""Camera decoding: which decoder stages read the most ticket codes, and which chain is the default.

    python bench/gate_camera.py            # 320 code frames + 40 empty frames per corpus
    python bench/gate_camera.py --quick    # 60 + 10
    python bench/gate_camera.py --write    # also update bench/RESULTS.md

One run does everything on the same frames (from ``bench/gate_corpus.py``, loaded before timing,
one OpenCV thread, one warm-up pass per decoder):

1. every stage alone, the production ones (``gate_agent.inputs.decoders``) and the variants
   tried and dropped (other binarizers, reader options, CLAHE, median, adaptive threshold,
   sharpening without denoising, 2x enlargement, pyzbar), on the selection corpus (seed 11);
2. every order of up to four production stages, its rate and mean time estimated from the
   per-frame results of step 1 (a chain runs a stage only when the earlier ones read nothing);
   the best within ``BUDGET_MS`` is the chain the default should be;
3. the real chains through ``gate_agent.inputs.camera.DecoderChain``: the default, the search's
   pick, the previous default and chains with pyzbar, with a per-condition breakdown;
4. the default again on held-out corpora (seeds 15-17, never used to choose anything) and on the
   research note's corpus variant (QR version 6), beside plain zxing-cpp.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.gate_corpus import generate
from bench.results import machine_line, replace_section
from gate_agent.inputs.camera import DEFAULT_ORDER, DecoderChain
from gate_agent.inputs.decoders import DECODERS, Decoder, denoise, gray, unsharp, zxing_reader

SECTION = "Gate camera decoding (issue 3)"
TARGET_RATE, TARGET_MS = 0.75, 3.0
BUDGET_MS = 2.5
"""The search keeps to 2.5 ms (estimated) so that the measured chain stays under the 3 ms target
with room for the load of the shared machine; a Pi is slower still (see the research note)."""
PREVIOUS_DEFAULT = ("zxing", "zxing_up")


def tried_variants() -> dict[str, Decoder]:
    """Stages measured and not kept (their rows in the table say why)."""
    import zxingcpp
    from pyzbar import pyzbar

    qr = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCodeModel2)
    binarizer = zxingcpp.Binarizer

    def zx(**options: Any) -> Callable[[np.ndarray], list[str]]:
        return lambda image: [c.text for c in zxingcpp.read_barcodes(image, formats=qr, **options) if c.valid]

    plain, no_down, no_invert = zx(), zx(try_downscale=False), zx(try_invert=False)
    global_histogram, fixed = zx(binarizer=binarizer.GlobalHistogram), zx(binarizer=binarizer.FixedThreshold)
    bool_cast = zx(binarizer=binarizer.BoolCast, try_downscale=False)
    clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))
    up_read = zxing_reader(try_downscale=False)

    def zbar(image: np.ndarray) -> list[str]:
        return [c.data.decode("utf-8", "replace") for c in pyzbar.decode(image, [pyzbar.ZBarSymbol.QRCODE])]

    def scale(image: np.ndarray, factor: float) -> np.ndarray:
        return cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_LINEAR)

    def adaptive(image: np.ndarray) -> np.ndarray:
        return cv2.adaptiveThreshold(
            denoise(image, 1.0), 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, 15, 2
        )

    variants: dict[str, Callable[[np.ndarray], list[str]]] = {
        "zxing, try_downscale off": no_down,
        "zxing, try_invert off": no_invert,
        "zxing, GlobalHistogram binarizer": global_histogram,
        "zxing, FixedThreshold binarizer": fixed,
        "zxing on a CLAHE-equalised frame": lambda g: plain(clahe.apply(g)),
        "zxing on a normalised frame, GlobalHistogram": lambda g: global_histogram(
            cv2.normalize(g, np.empty_like(g), 0, 255, cv2.NORM_MINMAX)
        ),
        "zxing on a 3x3 median": lambda g: plain(cv2.medianBlur(g, 3)),
        "zxing on a half-size frame": lambda g: plain(
            cv2.resize(g, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
        ),
        "zxing, unsharp without denoise (sigma 1.5, x3)": lambda g: no_down(unsharp(g, 1.5, 3.0)),
        "zxing, denoise + unsharp, amount 1.5": lambda g: no_down(unsharp(denoise(g, 0.7), 1.5, 1.5)),
        "zxing, denoise sigma 1.4 + unsharp x3": lambda g: no_down(unsharp(denoise(g, 1.4), 1.5, 3.0)),
        "zxing, adaptive threshold (OpenCV) + BoolCast": lambda g: bool_cast(adaptive(g)),
        "zxing 2x whole frame": lambda g: no_down(scale(g, 2.0)),
        "zxing 2x whole frame, denoise + unsharp": lambda g: up_read(
            unsharp(scale(denoise(g), 2.0), 3.0, 2.0)
        ),
        "pyzbar on a 3x3 Gaussian": lambda g: zbar(denoise(g)),
    }
    return {name: on_gray(fn) for name, fn in variants.items()}


def on_gray(stage: Callable[[np.ndarray], list[str]]) -> Decoder:
    return lambda frame: stage(gray(frame))


def load(corpus: Path) -> tuple[list[dict[str, Any]], list[np.ndarray]]:
    truth = [json.loads(line) for line in (corpus / "truth.jsonl").read_text().splitlines()]
    frames = [cv2.imread(str(corpus / item["file"]), cv2.IMREAD_GRAYSCALE) for item in truth]
    if any(frame is None for frame in frames):
        raise SystemExit(f"{corpus}: unreadable frame")
    return truth, [np.asarray(frame) for frame in frames]


def run(
    decode: Callable[[np.ndarray], Any], truth: list[dict[str, Any]], frames: list[np.ndarray]
) -> dict[str, Any]:
    """Per-frame success and time of one decoder (a stage, or a chain's ``decode``).

    Time is the thread's CPU time (``time.thread_time``): the decoders are single-threaded
    (``cv2.setNumThreads(1)``; zxing-cpp runs on the caller's thread), so on an idle machine it
    equals the wall time, and on this shared machine it is not inflated by other people's jobs
    taking the core. Wall time is kept too and shown beside it.
    """
    for frame in frames[:10]:
        decode(frame)
    ok, ms, wall, wrong, false_positive = [], [], [], 0, 0
    for item, frame in zip(truth, frames, strict=True):
        w0, t0 = time.perf_counter(), time.thread_time()
        out = decode(frame)
        ms.append((time.thread_time() - t0) * 1000)
        wall.append((time.perf_counter() - w0) * 1000)
        texts = out[1] if isinstance(out, tuple) else out
        hit = item["text"] is not None and item["text"] in texts
        ok.append(hit)
        wrong += bool(texts) and not hit and item["text"] is not None
        false_positive += bool(texts) and item["text"] is None
    return {
        "ok": np.array(ok),
        "ms": np.array(ms),
        "wall": np.array(wall),
        "wrong": wrong,
        "false_positive": false_positive,
    }


def summary(r: dict[str, Any], truth: list[dict[str, Any]]) -> dict[str, float]:
    codes = np.array([item["text"] is not None for item in truth])
    ms, ok = r["ms"], r["ok"]
    return {
        "decoded": float(ok.sum()),
        "codes": float(codes.sum()),
        "rate": float(ok.sum() / codes.sum()),
        "wrong": r["wrong"],
        "false_positive": r["false_positive"],
        "mean_all": float(ms.mean()),
        "p95_all": float(np.percentile(ms, 95)),
        "mean_code": float(ms[codes].mean()),
        "mean_empty": float(ms[~codes].mean()) if (~codes).any() else 0.0,
        "mean_wall": float(r["wall"].mean()),
    }


def search(stages: dict[str, dict[str, Any]], codes: int) -> list[tuple[int, float, tuple[str, ...]]]:
    """Every order of 1-4 production stages: (codes read, estimated mean ms, order), best first."""
    found = []
    names = [name for name in stages if name in DECODERS]
    for length in range(1, 5):
        for order in itertools.permutations(names, length):
            done = np.zeros_like(stages[order[0]]["ok"])
            cost = np.zeros_like(stages[order[0]]["ms"])
            for name in order:
                cost += np.where(done, 0.0, stages[name]["ms"])
                done |= stages[name]["ok"]
            found.append((int(done.sum()), float(cost.mean()), order))
    within = [f for f in found if f[1] <= BUDGET_MS]
    return sorted(within, key=lambda f: (-f[0], f[1], len(f[2])))


def by_condition(r: dict[str, Any], truth: list[dict[str, Any]]) -> dict[str, list[int]]:
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for item, hit in zip(truth, r["ok"], strict=True):
        if item["text"] is None:
            continue
        for tag in [
            *(item["tags"] or ["clean"]),
            "module >= 3.5 px" if item["module_px"] >= 3.5 else "",
            "all",
        ]:
            if not tag:
                continue
            counts[tag][0] += int(hit)
            counts[tag][1] += 1
    return counts


BLUR_BANDS = ((0.0, 0.3), (0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (0.6, 9.9))


def blur_in_modules(item: dict[str, Any]) -> float:
    """Defocus and motion blur together (a box of length L has variance L^2/12), in modules."""
    sigma = item["blur_sigma"] if item["blur_sigma"] > 0.3 else 0.0  # the corpus skips tiny blurs
    return float(np.hypot(sigma, item["motion_px"] / 12**0.5) / item["module_px"])


def by_blur(r: dict[str, Any], truth: list[dict[str, Any]]) -> list[str]:
    """Rows: how the rate falls with blur measured in modules (what limits every decoder)."""
    rows = []
    for low, high in BLUR_BANDS:
        pairs = zip(truth, r["ok"], strict=True)
        hits = [bool(h) for item, h in pairs if item["text"] and low <= blur_in_modules(item) < high]
        if hits:
            # Gaussian MTF at the finest module pattern (period 2 modules), at the band's lower edge
            mtf = np.exp(-(np.pi**2) / 2 * low**2)
            share = f"{sum(hits)} ({sum(hits) / len(hits):.0%})"
            rows.append(f"| {low:.1f}-{high:.1f} | {len(hits)} | {share} | {mtf:.2f} |")
    return rows


def label(order: tuple[str, ...]) -> str:
    return ", ".join(order)


def row(name: str, s: dict[str, float]) -> str:
    decoded = f"{s['decoded']:.0f}/{s['codes']:.0f}"
    return (
        f"| {name} | {decoded} | {s['rate']:.1%} | {s['wrong']:.0f} | {s['false_positive']:.0f} "
        f"| {s['mean_all']:.2f} | {s['p95_all']:.2f} | {s['mean_code']:.2f} | {s['mean_empty']:.2f} "
        f"| {s['mean_wall']:.2f} |"
    )


HEADER = [
    "| decoder | decoded | rate | wrong payloads | false positives (empty) | mean ms/frame (all) "
    "| p95 ms (all) | mean ms (code frames) | mean ms (empty frames) | mean wall ms (all) |",
    "|---|---|---|---|---|---|---|---|---|---|",
]


def load_note() -> str:
    """The shared machine's load average, so readers can judge the figures."""
    one, five = Path("/proc/loadavg").read_text().split()[:2]
    return (
        f"Load average at the end of the run: {one} (1 min), {five} (5 min) on 2 cores: the machine was "
        "shared with other engineers' builds, tests and benchmarks during the run. Hence CPU time for the "
        "figures; even CPU time is somewhat inflated by contention for caches and memory bandwidth."
    )


HELD_OUT_SEEDS = (15, 16, 17)
"""Seeds 11-14 were looked at while developing the stages; these three never were."""


def make_corpora(tmp: Path, quick: bool) -> dict[str, tuple[list[dict[str, Any]], list[np.ndarray]]]:
    size = (60, 10) if quick else (320, 40)
    generate(tmp / "selection", *size, seed=11)
    generate(tmp / "research", *size, seed=11, variant="research")
    data = {name: load(tmp / name) for name in ("selection", "research")}
    truth: list[dict[str, Any]] = []
    frames: list[np.ndarray] = []
    for seed in HELD_OUT_SEEDS[:1] if quick else HELD_OUT_SEEDS:
        generate(tmp / f"seed{seed}", *size, seed=seed)
        more = load(tmp / f"seed{seed}")
        truth += more[0]
        frames += more[1]
    data["held-out"] = (truth, frames)
    return data


def headline(default: dict[str, float], held_out: dict[str, float]) -> str:
    rate_ok = "met" if default["rate"] >= TARGET_RATE else "missed"
    time_ok = "met" if default["mean_all"] <= TARGET_MS else "missed"
    return (
        f"**Default chain `{label(DEFAULT_ORDER)}`: {default['rate']:.1%} of codes at "
        f"{default['mean_all']:.2f} ms a frame mean (p95 {default['p95_all']:.2f} ms; wall time under the "
        f"shared load {default['mean_wall']:.2f} ms).** "
        f"Target >= {TARGET_RATE:.0%} at <= {TARGET_MS:.0f} ms: rate **{rate_ok}**, time **{time_ok}**. "
        f"Held-out corpora (seeds {', '.join(map(str, HELD_OUT_SEEDS))}, {held_out['codes']:.0f} codes, "
        f"never used to choose anything): {held_out['rate']:.1%} at {held_out['mean_all']:.2f} ms "
        f"(p95 {held_out['p95_all']:.2f} ms)."
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    with tempfile.TemporaryDirectory() as tmp:
        data = make_corpora(Path(tmp), args.quick)
    truth, frames = data["selection"]
    codes = sum(item["text"] is not None for item in truth)

    stages = {name: run(factory(), truth, frames) for name, factory in DECODERS.items()}
    stages.update({name: run(decode, truth, frames) for name, decode in tried_variants().items()})
    ranked = search(stages, codes)
    pick = ranked[0][2]

    candidates = [
        pick,
        PREVIOUS_DEFAULT,
        ("zxing_denoise", "zxing_sharp"),
        ("zxing_denoise", "zxing_sharp", "zxing_roi"),
        ("zxing_denoise", "zxing_sharp", "zxing_deblur"),
        ("zxing_denoise", "zxing_sharp", "zxing_deblur", "zxing_roi"),
        ("zxing", "pyzbar"),
        (*DEFAULT_ORDER, "pyzbar"),
    ]
    chains: dict[str, tuple[str, ...]] = {f"default: {label(DEFAULT_ORDER)}": DEFAULT_ORDER}
    for order in candidates:
        if order != DEFAULT_ORDER:
            prefix = (
                "search's pick: "
                if order == pick
                else "previous default: "
                if order == PREVIOUS_DEFAULT
                else ""
            )
            chains.setdefault(prefix + label(order), order)
    measured = {name: run(DecoderChain(order).decode, truth, frames) for name, order in chains.items()}
    default_run = measured[f"default: {label(DEFAULT_ORDER)}"]
    previous_run = measured[f"previous default: {label(PREVIOUS_DEFAULT)}"]
    compared = (
        ("zxing-cpp alone", ("zxing",)),
        ("previous default", PREVIOUS_DEFAULT),
        ("default", DEFAULT_ORDER),
    )
    other = {
        corpus: {
            name: summary(run(DecoderChain(order).decode, *data[corpus]), data[corpus][0])
            for name, order in compared
        }
        for corpus in ("held-out", "research")
    }

    command = "python bench/gate_camera.py" + (" --quick" if args.quick else "")
    lines = [
        machine_line(),
        f"Command: `{command}`. Corpus: `bench/gate_corpus.py` variant `gate`, seed 11: {codes} frames "
        "640x480 with a real reserved-seat EN1 ticket (QR 8-M, modules 2.6-5.2 px) and "
        f"{len(truth) - codes} empty frames; one OpenCV thread; frames in memory; p95 over all frames. "
        "**ms = CPU time of the decoding thread** (equal to wall time when the core is free; the last "
        "column is wall time, inflated by the other jobs sharing the 2 cores).",
        "",
        headline(summary(default_run, truth), other["held-out"]["default"]),
        "",
        "### Chains, measured through `DecoderChain`",
        "",
        *HEADER,
        *(row(name, summary(r, truth)) for name, r in measured.items()),
        "",
        f"### Chain search: orders of 1-4 production stages, <= {BUDGET_MS} ms (estimated from stage runs)",
        "",
        "| rank | order | codes | rate | estimated mean ms |",
        "|---|---|---|---|---|",
        *(
            f"| {i + 1} | {label(o)} | {n} | {n / codes:.1%} | {ms:.2f} |"
            for i, (n, ms, o) in enumerate(ranked[:6])
        ),
        "",
        "The default is the search's pick."
        if pick == DEFAULT_ORDER
        else f"The default is NOT the search's pick in this run (`{label(pick)}`).",
        "",
        "### Every stage alone (production stages first, then the variants tried and dropped)",
        "",
        *HEADER,
        *(row(name, summary(r, truth)) for name, r in stages.items()),
        "",
        "### By condition (a frame has several tags)",
        "",
        "| condition | previous default | default |",
        "|---|---|---|",
    ]
    before, after = by_condition(previous_run, truth), by_condition(default_run, truth)
    for tag in sorted(after, key=lambda t: (t == "all", t)):
        (b_ok, n), (a_ok, _) = before[tag], after[tag]
        lines.append(f"| {tag} | {b_ok}/{n} ({b_ok / n:.0%}) | {a_ok}/{n} ({a_ok / n:.0%}) |")
    lines += [
        "",
        "### Default chain by blur in modules: sqrt(sigma^2 + L^2/12) / module px (defocus and motion)",
        "",
        "| blur / module | codes | read by the default | contrast left at the finest pattern, lower edge |",
        "|---|---|---|---|",
        *by_blur(default_run, truth),
        "",
        "### Other corpora (same decoders)",
        "",
        "| corpus | decoder | rate | mean ms (all) | p95 ms (all) | mean wall ms (all) |",
        "|---|---|---|---|---|---|",
        *(
            f"| {corpus} | {name} | {s['rate']:.1%} | {s['mean_all']:.2f} | {s['p95_all']:.2f} "
            f"| {s['mean_wall']:.2f} |"
            for corpus, results in other.items()
            for name, s in results.items()
        ),
        "",
        load_note(),
    ]
    body = "\n".join(lines)
    print(body)
    if args.write:
        research = other["research"]["zxing-cpp alone"]["rate"]
        extra = notes(summary(previous_run, truth), summary(default_run, truth), research)
        replace_section(SECTION, body + "\n\n" + extra)


def notes(previous: dict[str, float], default: dict[str, float], research_zxing: float) -> str:
    """What the corpus review changed, why the default is what it is, and what limits it."""
    idle_share = default["mean_empty"] * 30 / 10
    return f"""### Notes

**Corpus review.** Three things in `bench/gate_corpus.py` were wrong and are fixed; the rest was
kept (each range is justified in `PARAMETERS`, and matches the research note's method):

1. The tickets were not what the box office issues: string event and session ids
   (`"evt-2026-0142"`, `"evening"`) and a 24 h validity window made 247-250 character tokens that
   need QR **version 9** (61 modules with the quiet zone), not the version 8 this section claimed.
   The corpus now signs tickets shaped like `box_office.services.issuing` does (integer ids, a
   window from doors to curfew of 9-10 h) and keeps those that need exactly 8-M, the worst case of
   the DESIGN.md budget. This makes it easier: at the same module size the code has fewer modules.
2. The "2x supersampling" did not happen: `cv2.warpPerspective` has no area interpolation, so the
   code was point-sampled into the frame with aliased edges no lens makes. It is now drawn at 2x
   and area-averaged to 1x (softer edges: if anything harder, and closer to a camera).
3. "Inverted" frames inverted the whole scene after glare and noise, so glare became a black
   hole. Now only the code is light-on-dark (a dark-mode screen) and glare stays bright.

Kept: modules 2.6-5.2 px (a 4-5 cm code 8-15 cm from a 60-70 degree 640x480 camera), rotation
0-360 degrees, corner jitter 15% (a phone tilted ~35 degrees), contrast 0.4-1, glare on 20%,
Gaussian defocus sigma 0-2 px, motion blur 3-8 px on 25%, noise sigma 0-12, dark mode on 12%,
JPEG q40-89 on 40%. The previous default (`zxing, zxing_up`) read 55.9% of the old corpus and
reads {previous["rate"]:.1%} of this one: that gain is the corpus fixes; the rest is the chain.
On the `research` variant (the note's method rebuilt: version 6 codes, modules 2.9-6.7 px, no
dark mode) plain zxing-cpp reads {research_zxing:.1%}, against the note's 78.5%: the same
ballpark, not the same generator (its clutter, glare and lighting code was not published).
The gate variant's main difference is smaller modules (version 8 at the same physical size, and
2.6-5.2 px against 2.9-6.7 px), i.e. more blur per module: see the blur table above.

**Decoder changes.** (a) zxing-cpp's `QRCode` format includes Micro QR, and on a sharpened noisy
frame it once returned a Micro QR "610" for a ticket: the stages now read QR Model 2 only (no
wrong payloads in any row above). (b) A 3x3 Gaussian before zxing-cpp reads as many codes as the
raw frame in about half the time (sensor noise makes the local binarizer chase false finder
patterns). (c) Blur is what defeats the reader. An unsharp mask after a light denoise recovers
codes blurred by up to ~0.4 module (sharpening without the denoise reads *fewer* codes: table).
(d) Enlarging helps small blurred modules, but 2x of the whole frame costs ~4 ms; `zxing_roi`
enlarges only the most textured region (an edge-density map at 1/4 size finds the code) and
sharpens it. (e) From ~0.5 module of blur an unsharp mask no longer brings back the finest
module pattern; `zxing_deblur` Wiener-deconvolves that region (Gaussian blur of 1.9 px, noise
ratio 0.02, FFTs on the crop only, padded to a few cached sizes) and reads codes no other stage
reads; alone it reads fewer (probably its ringing spoils sharp codes), so it runs last. Binarizer choices
(GlobalHistogram, FixedThreshold, OpenCV adaptive threshold), CLAHE, normalisation, median,
half-size and pyzbar all read fewer codes (table). The search ranks every order of up to four
production stages by codes read within {BUDGET_MS} ms (estimated from the single-stage runs),
leaving room under the 3 ms target for slower CPUs; the deblur parameters (sigma, noise ratio,
enlargement) were chosen on seeds 11-14, never on the held-out seeds.

**What limits the rate.** The blur table: codes blurred by less than ~0.5 module are mostly
read; from 0.5 module on, the finest module pattern keeps under 30% of its contrast (Gaussian
MTF), often less than the sensor noise, and few are read even after deconvolution. The corpus
draws blur independently of code size, so about a fifth of its codes are in that band. What
would read more (not done here): (1) a lens focused at the reading window, or autofocus, which
removes most defocus; (2) 1280x960 frames, which double the module size (the research note
measured zxing-cpp at ~2.3 ms a frame at 1280x960); (3) a fourth stage (the four-stage rows of the
chains table): about a point more for a few tenths of a ms, left out to keep headroom. The corpus scores
single frames; a live camera sees a presented code in many frames (motion blur stops when the
hand does) and the agent decodes every frame, so the rate per presented ticket is higher than
the rate per frame (not measured here).

**Cost on empty frames.** A frame with no code runs all three stages
({default["mean_empty"]:.2f} ms here): at 30 fps that is about {idle_share:.0f}% of one core of
this machine while the gate is idle, and roughly three times that on a Raspberry Pi 5 (the
research note's ARM ratio). `[decoders] order = ["zxing_denoise", "zxing_sharp"]` is the cheap
choice for a slow Pi (its row is in the chains table). Figures are from x86, not a Pi."""


if __name__ == "__main__":
    main()
