"""Rendered QR codes read back with a real decoder (zxing-cpp via OpenCV)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import zxingcpp

from ticket_format import SigningKey, TicketClaims, issue
from ticket_format.qr import qr_png, qr_svg, save_qr


def test_png_reads_back_as_the_same_token(signing_key: SigningKey, reserved_claims: TicketClaims):
    token = issue(reserved_claims, signing_key)
    image = cv2.imdecode(np.frombuffer(qr_png(token, scale=4), np.uint8), cv2.IMREAD_GRAYSCALE)
    results = zxingcpp.read_barcodes(image)
    assert [r.text for r in results] == [token]


def test_svg_and_file_output(signing_key: SigningKey, reserved_claims: TicketClaims, tmp_path: Path):
    token = issue(reserved_claims, signing_key)
    assert qr_svg(token).startswith("<svg")
    save_qr(token, tmp_path / "t.png")
    image = cv2.imread(str(tmp_path / "t.png"), cv2.IMREAD_GRAYSCALE)
    assert [r.text for r in zxingcpp.read_barcodes(image)] == [token]
    with pytest.raises(ValueError, match="unsupported"):
        save_qr(token, tmp_path / "t.jpg")
