"""QR rendering for e-mail: milliseconds per ticket PNG, before (segno) and after (zxing-cpp).

The box office e-mails one QR PNG per ticket, so ``ticket_format.qr.qr_png`` is
paid on every purchase. "Before" is the former implementation, kept here only as
the reference: segno builds the symbol and writes the PNG, both in pure Python.
"After" is ``qr_png``: zxing-cpp builds the symbol in C++ and
``ticket_format.png`` writes a 1-bit PNG on zlib.

    python bench/qr_render.py            # ~20 seconds
    python bench/qr_render.py --quick    # a few seconds

Prints a Markdown table; ``--write`` replaces this benchmark's section in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import cast

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cv2
import numpy as np
import zxingcpp

from bench.results import machine_line, replace_section
from bench.ticket_format import realistic_claims
from ticket_format import SigningKey, issue
from ticket_format.png import modules_png
from ticket_format.qr import QUIET_ZONE, alphanumeric_version, make_qr, qr_png

SECTION = "QR rendering for e-mail"
SCALE = 8
"""The box office's default: ``qr_png(token)`` as mail.py and the ticket page call it."""


def segno_png(token: str, scale: int = SCALE) -> bytes:
    """The former ``qr_png``: the reference for "before"."""
    buffer = io.BytesIO()
    make_qr(token).save(buffer, kind="png", scale=scale, border=QUIET_ZONE)
    return buffer.getvalue()


def zxing_symbol(token: str) -> bytes:
    """Only the symbol half of the fast path, to show where the time goes."""
    symbol = zxingcpp.create_barcode(
        token, zxingcpp.BarcodeFormat.QRCode, ec_level="M", version=alphanumeric_version(token)
    )
    gray: bytes = bytes(symbol.to_image(scale=1, add_quiet_zones=False))  # type: ignore[call-overload]
    return gray


def ms_per_call(render: Callable[[str], object], tokens: list[str], repeats: int) -> tuple[float, float]:
    """Best and median over ``repeats`` passes through all tokens, in ms a call."""
    passes = []
    for _ in range(repeats):
        start = time.perf_counter()
        for token in tokens:
            render(token)
        passes.append((time.perf_counter() - start) / len(tokens) * 1e3)
    return min(passes), statistics.median(passes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short run for a smoke check")
    parser.add_argument("--write", action="store_true", help="write the result into bench/RESULTS.md")
    args = parser.parse_args()
    count, repeats = (50, 3) if args.quick else (200, 5)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core

    key = SigningKey.generate()
    tokens = [issue(realistic_claims(i), key) for i in range(count)]
    for token in tokens:  # same symbol size both ways, and the fast PNG reads back
        image = cv2.imdecode(np.frombuffer(qr_png(token), np.uint8), cv2.IMREAD_GRAYSCALE)
        (result,) = zxingcpp.read_barcodes(
            image, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
        )
        assert result.text == token
        assert cast(dict[str, str], result.extra)["Version"] == str(make_qr(token).version)

    before = ms_per_call(segno_png, tokens, repeats)
    after = ms_per_call(qr_png, tokens, repeats)
    symbol = ms_per_call(zxing_symbol, tokens, repeats)
    gray = {t: zxing_symbol(t) for t in tokens}
    writer_best, writer_median = ms_per_call(
        lambda t: modules_png(gray[t], math.isqrt(len(gray[t])), scale=SCALE, margin=QUIET_ZONE),
        tokens,
        repeats,
    )
    size_before = statistics.mean(len(segno_png(t)) for t in tokens)
    size_after = statistics.mean(len(qr_png(t)) for t in tokens)
    versions = sorted({make_qr(t).version for t in tokens})

    rows = [
        ("before: segno symbol + segno PNG writer (ms a ticket)", f"{before[0]:.2f}", f"{before[1]:.2f}"),
        ("after: `qr_png` (ms a ticket)", f"{after[0]:.2f}", f"{after[1]:.2f}"),
        ("  of which zxing-cpp symbol", f"{symbol[0]:.2f}", f"{symbol[1]:.2f}"),
        ("  of which 1-bit PNG writer", f"{writer_best:.2f}", f"{writer_median:.2f}"),
        ("speed-up", f"{before[0] / after[0]:.1f}x", f"{before[1] / after[1]:.1f}x"),
    ]
    table = [
        "| measure | best | median |",
        "|---|---|---|",
        *[f"| {name} | {best} | {median} |" for name, best, median in rows],
    ]
    body = "\n".join(
        [
            machine_line(),
            f"Command: `python bench/qr_render.py{' --quick' if args.quick else ''}` "
            f"({count} realistic reserved-seat tokens, QR version {'/'.join(map(str, versions))}-M "
            "both ways, "
            f"scale {SCALE}, {repeats} passes, pinned to one core; Python {platform.python_version()}, "
            f"zxing-cpp {version('zxing-cpp')}, segno {version('segno')}).",
            "",
            *table,
            "",
            "The two parts are timed on their own, so they need not add up exactly. "
            f"PNG size: {size_before:.0f} bytes before, {size_after:.0f} bytes after (both 1-bit grayscale). "
            f"Load average at the end: {os.getloadavg()[0]:.2f} (other engineers share the machine).",
        ]
    )
    print(body)
    if args.write:
        replace_section(SECTION, body)


if __name__ == "__main__":
    main()
