"""QR codes for ticket tokens (segno).

Tokens are Base45, whose alphabet is exactly QR's alphanumeric mode, so segno
encodes them at 5.5 bits a character. The smallest version that fits at error
correction level M is used, and segno is told not to raise the level on its
own, so that the size budget in DESIGN.md (version 8-M for a reserved-seat
ticket) is what buyers actually get.
"""

from __future__ import annotations

import io
from pathlib import Path

import segno

ERROR_LEVEL = "m"
QUIET_ZONE = 4
"""Modules of white border; the standard asks for 4 and cheap scanners need it."""


def make_qr(token: str) -> segno.QRCode:
    """The QR symbol for ``token``: smallest version at ECC level M."""
    return segno.make_qr(token, error=ERROR_LEVEL, boost_error=False)


def qr_version(token: str) -> int:
    """The QR version (1-40) that ``token`` needs at ECC level M."""
    version = make_qr(token).version
    return int(version)


def qr_png(token: str, scale: int = 8) -> bytes:
    """PNG bytes of the QR code, ``scale`` pixels per module."""
    buffer = io.BytesIO()
    make_qr(token).save(buffer, kind="png", scale=scale, border=QUIET_ZONE)
    return buffer.getvalue()


def qr_svg(token: str, scale: int = 8) -> str:
    """SVG text of the QR code."""
    buffer = io.BytesIO()
    make_qr(token).save(buffer, kind="svg", scale=scale, border=QUIET_ZONE, xmldecl=False)
    return buffer.getvalue().decode("utf-8")


def save_qr(token: str, path: Path, scale: int = 8) -> None:
    """Write the QR code to ``path``; the suffix (.png or .svg) picks the format."""
    suffix = path.suffix.lower()
    if suffix not in (".png", ".svg"):
        raise ValueError(f"unsupported QR file type {suffix or '(none)'}: use .png or .svg")
    make_qr(token).save(str(path), scale=scale, border=QUIET_ZONE)
