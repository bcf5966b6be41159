"""A small PNG writer for black-and-white images: 1 bit a pixel, grayscale.

Why our own: segno's PNG writer works pixel by pixel in Python (about 3.5 ms for
a ticket's QR code, paid for every ticket the box office e-mails), and Pillow is
not a dependency. A bilevel image needs only the four mandatory chunks (PNG
specification, section 5): the signature, IHDR, one IDAT and IEND. ``zlib``
compresses in C; the scaling below is done with ``bytes.translate`` and
``bytes.replace`` on whole rows of modules, so Python only loops once per
row of modules, never per pixel.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence

SIGNATURE = b"\x89PNG\r\n\x1a\n"
_BIT_DEPTH = 1
_COLOR_GRAYSCALE = 0
_FILTER_NONE = b"\x00"
"""Each scanline starts with its filter type; rows of a scaled code repeat, which
zlib finds on its own, so no filter is worth its time here."""
_ZLIB_LEVEL = 6
"""Measured on a ticket's code: level 6 gives ~700 bytes in 0.15 ms; level 9 gives
slightly *more* bytes and takes 2.2 ms, its long match chains lost in the repeated rows."""

_DARK, _LIGHT = b"D", b"L"
_DARK_OR_LIGHT = bytes(_DARK[0] if value < 128 else _LIGHT[0] for value in range(256))
"""``bytes.translate`` table: an 8-bit gray value to a dark or light marker."""


def _chunk(kind: bytes, data: bytes) -> bytes:
    """Length, type, data, then the CRC-32 of type and data (specification 5.3)."""
    crc = zlib.crc32(data, zlib.crc32(kind))
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def bilevel_png(rows: Sequence[bytes], width: int) -> bytes:
    """PNG of packed 1-bit scanlines: most significant bit first, 0 black, 1 white.

    Each row holds ``ceil(width / 8)`` bytes; bits past ``width`` are ignored by readers.
    """
    if width < 1 or not rows:
        raise ValueError("a PNG needs at least one pixel")
    header = struct.pack(">IIBBBBB", width, len(rows), _BIT_DEPTH, _COLOR_GRAYSCALE, 0, 0, 0)
    pixels = zlib.compress(b"".join(_FILTER_NONE + row for row in rows), _ZLIB_LEVEL)
    return SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", pixels) + _chunk(b"IEND", b"")


def modules_png(gray: bytes, columns: int, scale: int, margin: int) -> bytes:
    """PNG of a grid of square modules, ``scale`` pixels a side, framed by ``margin`` light modules.

    ``gray`` holds one byte a module, row by row, as zxing-cpp's images do: below
    128 is dark. Each module row becomes one packed scanline, repeated ``scale`` times.
    """
    if scale < 1 or margin < 0:
        raise ValueError(f"scale must be at least 1 and margin at least 0, not {scale} and {margin}")
    if columns < 1 or len(gray) % columns:
        raise ValueError(f"{len(gray)} modules do not make rows of {columns}")
    width = (columns + 2 * margin) * scale
    row_bytes = (width + 7) // 8
    padding = b"0" * (row_bytes * 8 - width)
    dark_pixels, light_pixels = b"0" * scale, b"1" * scale

    def scanline(markers: bytes) -> bytes:
        bits = markers.replace(_DARK, dark_pixels).replace(_LIGHT, light_pixels) + padding
        return int(bits, 2).to_bytes(row_bytes, "big")

    side = _LIGHT * margin
    light_row = scanline(_LIGHT * (columns + 2 * margin))
    rows = [light_row] * (margin * scale)
    for start in range(0, len(gray), columns):
        markers = side + gray[start : start + columns].translate(_DARK_OR_LIGHT) + side
        rows += [scanline(markers)] * scale
    rows += [light_row] * (margin * scale)
    return bilevel_png(rows, width)
