"""Rendered QR codes read back with real decoders (OpenCV and zxing-cpp).

The PNG comes from zxing-cpp's encoder and our own PNG writer, so these tests
check what segno used to guarantee: the same version and level M, the quiet
zone, a PNG that independent readers accept, and the exact token back.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import cast

import cv2
import numpy as np
import pytest
import segno.consts
import zxingcpp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ticket_format import SigningKey, TicketClaims, issue
from ticket_format.png import SIGNATURE, bilevel_png, modules_png
from ticket_format.qr import (
    DATA_CODEWORDS_M,
    alphanumeric_version,
    make_qr,
    qr_png,
    qr_svg,
    save_qr,
)

QUIET_MODULES = 4
"""The quiet zone ISO/IEC 18004 asks for, in modules; written out here so that the test can fail."""


FIXED_KEY = SigningKey(
    Ed25519PrivateKey.from_private_bytes(
        bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
    )
)
"""RFC 8032's first test key, as in tests/vectors: Ed25519 signatures are deterministic, so the
QR codes below are the same on every run. With a fresh random key each run, OpenCV's detector
missed about one code in ten runs, and the test failed now and then for no fault of ours."""


@pytest.fixture()
def tokens(reserved_claims: TicketClaims, ga_claims: TicketClaims) -> list[str]:
    """Real tokens: reserved seat, general admission, a re-issued real-name ticket, a child seat,
    signed by :data:`FIXED_KEY`."""
    real_name = reserved_claims._replace(
        ticket_id="9a0b7c1d-2e3f-4a5b-8c6d-7e8f9a0b1c2d", zone="A", seat="A-01-01", version=3
    )
    child = reserved_claims._replace(zone="C", seat="F-03-11", ticket_type="child", version=1)
    return [issue(claims, FIXED_KEY) for claims in (reserved_claims, ga_claims, real_name, child)]


def decode_png(png: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert image is not None, "OpenCV could not decode the PNG"
    return image


def read_qr(image: np.ndarray) -> list[zxingcpp.Barcode]:
    """QR codes only: with every format on, zxing-cpp now and then also "finds" a short
    ITF barcode inside a QR code's modules (about 1 ticket in 500, segno's PNGs too)."""
    return zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode))


def symbol_version(result: zxingcpp.Barcode) -> str:
    """The version the reader found, from its untyped ``extra`` mapping."""
    return str(cast(dict[str, str], result.extra)["Version"])


def modules_across(token: str) -> int:
    return int(make_qr(token).symbol_size(border=0)[0])


def test_png_reads_back_as_the_same_token(tokens: list[str]) -> None:
    for token in tokens:
        for scale in (3, 8):
            image = decode_png(qr_png(token, scale=scale))
            assert [r.text for r in read_qr(image)] == [token]
            text, _points, _straight = cv2.QRCodeDetector().detectAndDecode(image)
            assert text == token


def test_same_version_and_level_as_segno(tokens: list[str]) -> None:
    """DESIGN.md budgets version 8-M; the fast encoder must not pick another size."""
    for token in tokens:
        reference = make_qr(token)
        (result,) = read_qr(decode_png(qr_png(token, scale=4)))
        assert symbol_version(result) == str(reference.version)
        assert result.ec_level == "M" == reference.error
        assert alphanumeric_version(token) == reference.version


def test_reserved_seat_ticket_is_version_8_m(tokens: list[str]) -> None:
    (result,) = read_qr(decode_png(qr_png(tokens[0])))
    assert (symbol_version(result), result.ec_level) == ("8", "M")


def test_image_size_and_quiet_zone(tokens: list[str]) -> None:
    for token, scale in zip(tokens, (1, 4, 8, 5), strict=True):
        image = decode_png(qr_png(token, scale=scale))
        side = (modules_across(token) + 2 * QUIET_MODULES) * scale
        assert image.shape == (side, side)
        assert set(np.unique(image)) == {0, 255}
        border = QUIET_MODULES * scale
        inner = image[border:-border, border:-border]
        assert (image[:border] == 255).all() and (image[-border:] == 255).all()
        assert (image[:, :border] == 255).all() and (image[:, -border:] == 255).all()
        # The finder pattern starts right at the quiet zone: its corner is dark.
        assert inner[0, 0] == 0 and inner[-1, 0] == 0 and inner[0, -1] == 0


def test_pixels_match_segnos_modules(tokens: list[str]) -> None:
    """Same symbol module for module where the mask agrees; at least the function patterns do."""
    token = tokens[1]
    scale = 2
    image = decode_png(qr_png(token, scale=scale))
    border = QUIET_MODULES * scale
    ours = image[border:-border:scale, border:-border:scale] == 0
    reference = np.array(make_qr(token).matrix, dtype=bool)
    assert ours.shape == reference.shape
    assert (ours[:7, :7] == reference[:7, :7]).all()  # finder pattern
    assert (ours[6, 8:-8] == reference[6, 8:-8]).all()  # timing pattern


def test_png_chunks_are_well_formed(tokens: list[str]) -> None:
    png = qr_png(tokens[0], scale=8)
    assert png.startswith(SIGNATURE)
    offset, kinds = len(SIGNATURE), []
    while offset < len(png):
        (length,) = struct.unpack_from(">I", png, offset)
        kind, data = png[offset + 4 : offset + 8], png[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack_from(">I", png, offset + 8 + length)
        assert crc == zlib.crc32(kind + data), kind
        kinds.append(kind)
        offset += 12 + length
    assert kinds == [b"IHDR", b"IDAT", b"IEND"]
    width, height, depth, color = struct.unpack_from(">IIBB", png, len(SIGNATURE) + 8)
    side = (modules_across(tokens[0]) + 2 * QUIET_MODULES) * 8
    assert (width, height, depth, color) == (side, side, 1, 0)
    assert len(png) < 2000, "a 1-bit ticket code should stay small in an e-mail"


def test_png_writer_bits_land_where_they_should() -> None:
    """A 2x3 checkerboard at scale 3 with a 1-module margin, read back pixel by pixel."""
    gray = bytes([0, 255, 0, 255, 0, 255])
    image = decode_png(modules_png(gray, 3, scale=3, margin=1))
    assert image.shape == (12, 15)
    expected = np.kron(np.pad(np.array([[0, 1, 0], [1, 0, 1]]), 1, constant_values=1), np.ones((3, 3)))
    assert (image == expected * 255).all()


def test_png_writer_refuses_bad_shapes() -> None:
    with pytest.raises(ValueError, match="rows of 3"):
        modules_png(bytes(7), 3, scale=2, margin=0)
    with pytest.raises(ValueError, match="scale"):
        modules_png(bytes(9), 3, scale=0, margin=0)
    with pytest.raises(ValueError, match="pixel"):
        bilevel_png([], 8)
    with pytest.raises(ValueError, match="scale"):
        qr_png("EN1:ABC", scale=0)


def test_capacity_table_matches_segno() -> None:
    capacity = cast(dict[int, dict[int, int]], segno.consts.SYMBOL_CAPACITY)
    expected = [capacity[v][segno.consts.ERROR_LEVEL_M] // 8 for v in range(1, 41)]
    assert list(DATA_CODEWORDS_M) == expected


@pytest.mark.parametrize("version", [1, 8, 9, 10, 26])
def test_version_boundaries_match_segno(version: int) -> None:
    """The longest text that fits a version, and one character more, against segno."""
    longest = 1
    while alphanumeric_version("A" * (longest + 1)) <= version:
        longest += 1
    assert alphanumeric_version("A" * longest) == version == make_qr("A" * longest).version
    assert alphanumeric_version("A" * (longest + 1)) == version + 1 == make_qr("A" * (longest + 1)).version


def test_too_long_or_not_alphanumeric_text() -> None:
    with pytest.raises(ValueError, match="do not fit"):
        alphanumeric_version("A" * 5000)
    with pytest.raises(ValueError, match="alphanumeric"):
        alphanumeric_version("en1:lower")
    # Other text still renders (through segno) and reads back.
    url = "https://encore.example/t/abc"
    assert [r.text for r in read_qr(decode_png(qr_png(url, scale=4)))] == [url]


def test_svg_and_file_output(tokens: list[str], tmp_path: Path) -> None:
    token = tokens[0]
    assert qr_svg(token).startswith("<svg")
    save_qr(token, tmp_path / "t.png")
    assert (tmp_path / "t.png").read_bytes() == qr_png(token)
    image = decode_png((tmp_path / "t.png").read_bytes())
    assert [r.text for r in read_qr(image)] == [token]
    save_qr(token, tmp_path / "t.svg")
    assert "<svg" in (tmp_path / "t.svg").read_text(encoding="utf-8")
    with pytest.raises(ValueError, match="unsupported"):
        save_qr(token, tmp_path / "t.jpg")
