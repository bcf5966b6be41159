"""QR codes for ticket tokens.

Tokens are Base45, whose alphabet is exactly QR's alphanumeric mode, so they
are encoded at 5.5 bits a character. The smallest version that fits at error
correction level M is used, and the level is never raised on its own, so that
the size budget in DESIGN.md (version 8-M for a reserved-seat ticket) is what
buyers actually get.

Two encoders, one symbol size:

- :func:`qr_png` (the box office e-mails one per ticket, so it is on the hot
  path of every purchase) builds the symbol with zxing-cpp, in C++, and writes
  a 1-bit PNG with :mod:`ticket_format.png`: about 0.6 ms against segno's 9 ms.
  zxing-cpp optimises mixed modes and could in rare cases choose a smaller
  version than segno, so the version is computed here and passed explicitly.
- :func:`make_qr` / :func:`qr_svg` keep segno, whose symbol object the gate's
  tests and benchmarks read module by module, and whose SVG writer is fine.
"""

from __future__ import annotations

import io
from pathlib import Path

import segno
import zxingcpp

from ticket_format.png import modules_png

ERROR_LEVEL = "m"
QUIET_ZONE = 4
"""Modules of white border; the standard asks for 4 and cheap scanners need it."""

ALPHANUMERIC = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
"""QR's alphanumeric mode (ISO/IEC 18004 table 5), which Base45 shares."""

DATA_CODEWORDS_M = (
    16, 28, 44, 64, 86, 108, 124, 154, 182, 216, 254, 290, 334, 365, 415, 453, 507, 563, 627, 669,
    714, 782, 860, 914, 1000, 1062, 1128, 1193, 1267, 1373, 1455, 1541, 1631, 1725, 1812, 1914, 1992,
    2102, 2216, 2334,
)  # fmt: skip
"""Data codewords of versions 1-40 at level M (ISO/IEC 18004 table 7; the tests check it against segno)."""


def make_qr(token: str) -> segno.QRCode:
    """The QR symbol for ``token`` built by segno: smallest version at ECC level M."""
    return segno.make_qr(token, error=ERROR_LEVEL, boost_error=False)


def qr_version(token: str) -> int:
    """The QR version (1-40) that ``token`` needs at ECC level M."""
    version = make_qr(token).version
    return int(version)


def alphanumeric_version(text: str) -> int:
    """The smallest version holding ``text`` in one alphanumeric segment at level M.

    Segment bits: 4 for the mode, the character count (9, 11 or 13 bits by version
    range), then 11 bits a pair of characters and 6 for an odd last one.
    """
    if not ALPHANUMERIC.issuperset(text):
        raise ValueError("text has characters outside QR's alphanumeric mode")
    payload = 11 * (len(text) // 2) + 6 * (len(text) % 2)
    for version, codewords in enumerate(DATA_CODEWORDS_M, start=1):
        count_bits = 9 if version <= 9 else 11 if version <= 26 else 13
        if 4 + count_bits + payload <= 8 * codewords:
            return version
    raise ValueError(f"{len(text)} characters do not fit a QR code at level M")


def qr_png(token: str, scale: int = 8) -> bytes:
    """PNG bytes of the QR code, ``scale`` pixels a module, with the 4-module quiet zone.

    Ticket tokens take the fast path (zxing-cpp and our PNG writer); any other text
    (never a ticket) is left to segno, so its byte-mode encoding stays segno's choice.
    """
    if scale < 1:
        raise ValueError(f"scale must be at least 1 pixel a module, not {scale}")
    if not ALPHANUMERIC.issuperset(token):
        buffer = io.BytesIO()
        make_qr(token).save(buffer, kind="png", scale=scale, border=QUIET_ZONE)
        return buffer.getvalue()
    symbol = zxingcpp.create_barcode(
        token, zxingcpp.BarcodeFormat.QRCode, ec_level="M", version=alphanumeric_version(token)
    )
    modules = symbol.to_image(scale=1, add_quiet_zones=False)  # one 8-bit gray pixel a module
    columns: int = modules.shape[1]
    gray = bytes(modules)  # type: ignore[call-overload]  # the stub omits Image's buffer protocol
    return modules_png(gray, columns, scale=scale, margin=QUIET_ZONE)


def qr_svg(token: str, scale: int = 8) -> str:
    """SVG text of the QR code."""
    buffer = io.BytesIO()
    make_qr(token).save(buffer, kind="svg", scale=scale, border=QUIET_ZONE, xmldecl=False)
    return buffer.getvalue().decode("utf-8")


def save_qr(token: str, path: Path, scale: int = 8) -> None:
    """Write the QR code to ``path``; the suffix (.png or .svg) picks the format."""
    suffix = path.suffix.lower()
    if suffix == ".png":
        path.write_bytes(qr_png(token, scale))
    elif suffix == ".svg":
        make_qr(token).save(str(path), scale=scale, border=QUIET_ZONE)
    else:
        raise ValueError(f"unsupported QR file type {suffix or '(none)'}: use .png or .svg")
