"""Decoder stages: blurred, small and dark-mode codes through real video files and the real chain."""

from __future__ import annotations

import queue
import threading
import uuid
from pathlib import Path

import cv2
import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gate_agent.config import DECODER_NAMES, parse_config
from gate_agent.inputs import ScanEvent
from gate_agent.inputs.camera import DEFAULT_ORDER, CameraInput, CameraSettings, DecoderChain, decode_source
from gate_agent.inputs.decoders import DECODERS, textured_region
from gate_agent.inputs.factory import build, prepare
from ticket_format import SigningKey, TicketClaims, issue
from ticket_format.qr import make_qr

KEY = SigningKey(Ed25519PrivateKey.from_private_bytes(bytes(range(32))))


def ticket(number: int) -> str:
    """A reserved-seat ticket (QR 8-M) that is the same on every run: Ed25519 signatures are
    deterministic, so these tests see the very same codes each time (decoding near the limit of
    blur depends on the exact module pattern)."""
    claims = TicketClaims(
        ticket_id=str(uuid.UUID(int=number, version=4)), event_id=412, session_id=1003, zone="VIP-A",
        seat=f"B-12-{number:02d}", ticket_type="adult", valid_from=1_795_000_000, valid_until=1_795_030_000,
    )  # fmt: skip
    return issue(claims, KEY)


def code_frame(
    token: str, *, module: float, sigma: float, noise: float, angle: float, seed: int, inverted: bool = False
) -> np.ndarray:
    """A 640x480 grey frame: the ticket's code at ``module`` px per module, turned by ``angle``,
    defocused (Gaussian ``sigma``) with sensor noise, as a fixed-focus camera sees it."""
    rng = np.random.default_rng(seed)
    matrix = np.array([[0 if bit else 255 for bit in row] for row in make_qr(token).matrix], np.uint8)
    matrix = cv2.copyMakeBorder(matrix, 4, 4, 4, 4, cv2.BORDER_CONSTANT, value=255)
    fine = cv2.resize(matrix, None, fx=8, fy=8, interpolation=cv2.INTER_NEAREST)
    side = int(matrix.shape[0] * module)
    code = cv2.resize(fine, (side, side), interpolation=cv2.INTER_AREA).astype(np.float32)
    if inverted:
        code = 255 - code
    frame = np.full((480, 640), 120, np.float32)
    y, x = (480 - side) // 2, (640 - side) // 2
    frame[y : y + side, x : x + side] = 30 + code * 0.75
    turn = cv2.getRotationMatrix2D((320, 240), angle, 1)
    frame = cv2.warpAffine(frame, turn, (640, 480), borderValue=120)
    frame = cv2.GaussianBlur(frame, (0, 0), sigma) + rng.normal(0, noise, frame.shape)
    return np.clip(frame, 0, 255).astype(np.uint8)


def write_video(path: Path, frames: list[np.ndarray]) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (640, 480))
    assert writer.isOpened()
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
    writer.release()


def test_names_config_and_registry_agree(tmp_path: Path) -> None:
    assert tuple(DECODERS) == DECODER_NAMES
    assert set(DEFAULT_ORDER) <= set(DECODER_NAMES)
    config = parse_config({"gate": {"id": "north", "event_id": 1}, "state": {"dir": str(tmp_path)}})
    assert config.decoders == DEFAULT_ORDER  # the agent runs the measured chain unless told otherwise


@pytest.mark.parametrize("name", DECODER_NAMES)
def test_every_stage_reads_a_sharp_code_and_nothing_in_an_empty_frame(name: str) -> None:
    token = ticket(1)
    decode = DECODERS[name]()
    sharp = code_frame(token, module=5, sigma=0.6, noise=2, angle=10, seed=1)
    assert decode(cv2.cvtColor(sharp, cv2.COLOR_GRAY2BGR)) == [token]  # BGR from a camera
    empty = np.clip(np.random.default_rng(2).normal(130, 8, (480, 640)), 0, 255).astype(np.uint8)
    assert decode(empty) == []


def test_blurred_small_codes_in_a_video_file(tmp_path: Path) -> None:
    """Defocused codes with 3-3.5 px modules: plain zxing-cpp reads none, the default chain all."""
    tokens = [ticket(10 + i) for i in range(4)]
    frames = [
        code_frame(
            token, module=3.5 - 0.5 * (i % 2), sigma=1.6 - 0.2 * (i % 2), noise=6, angle=20 + 17 * i, seed=i
        )
        for i, token in enumerate(tokens)
    ]
    path = tmp_path / "blurred.avi"
    write_video(path, frames)
    assert list(decode_source(str(path), ("zxing",))) == []
    found = list(decode_source(str(path)))
    assert [f["text"] for f in found] == tokens
    assert {f["decoder"] for f in found} <= set(DEFAULT_ORDER[1:])  # the later stages earned them


def test_deconvolution_reads_codes_sharpening_cannot(tmp_path: Path) -> None:
    """Blur of ~0.57 module (sigma 2 px on 3.5 px modules) leaves the finest pattern a fifth of its
    contrast: the sharpening stages read few of these codes, the Wiener stage most of them.
    (At this blur reading depends on each code's pattern, hence counts rather than every code.)"""
    tokens = [ticket(20 + i) for i in range(8)]
    frames = [
        code_frame(token, module=3.5, sigma=2.0, noise=4, angle=20 + 17 * i, seed=i)
        for i, token in enumerate(tokens)
    ]
    path = tmp_path / "defocused.avi"
    write_video(path, frames)
    sharpened = [f["text"] for f in decode_source(str(path), ("zxing_denoise", "zxing_sharp", "zxing_roi"))]
    deblurred = [f["text"] for f in decode_source(str(path), ("zxing_deblur",))]
    assert set(sharpened + deblurred) <= set(tokens)  # nothing misread
    assert len(sharpened) <= 2
    assert len(deblurred) >= 6


def test_dark_mode_code_through_the_camera_input(tmp_path: Path) -> None:
    token = ticket(2)
    frames = [code_frame(token, module=4, sigma=1.0, noise=4, angle=33, seed=5, inverted=True)] * 3
    path = tmp_path / "dark.avi"
    write_video(path, frames)
    events: queue.Queue[ScanEvent] = queue.Queue()
    camera = CameraInput("cam0", CameraSettings(source=str(path)), events.put)
    thread = threading.Thread(target=camera.run)
    thread.start()
    thread.join(30)
    assert not thread.is_alive()
    assert [events.get_nowait().text for _ in range(events.qsize())] == [token]  # once, not per frame


def test_textured_region_finds_the_code() -> None:
    token = ticket(3)
    frame = code_frame(token, module=3.5, sigma=0.8, noise=4, angle=0, seed=3)
    crop = textured_region(frame)
    assert crop.shape[0] < 480 and crop.shape[1] < 640  # a region, not the frame
    assert crop.shape[0] >= 57 * 3.5 and crop.shape[1] >= 57 * 3.5  # the whole symbol
    assert DECODERS["zxing"]()(crop) == [token]
    flat = np.full((480, 640), 90, np.uint8)
    assert textured_region(flat).shape == flat.shape  # nothing textured: the whole frame
    tiny = frame[:40, :50]
    assert textured_region(tiny).shape == tiny.shape
    assert all(DECODERS[name]()(tiny) == [] for name in DECODER_NAMES)  # no stage trips on it


def test_a_failing_stage_does_not_stop_the_chain() -> None:
    token = ticket(3)
    chain = DecoderChain(("zxing_roi", "zxing"))
    chain.decoders[0] = ("zxing_roi", lambda frame: [][frame.size])  # a stage that raises
    frame = code_frame(token, module=5, sigma=0.6, noise=2, angle=0, seed=4)
    assert chain.decode(frame) == ("zxing", [token])


@pytest.mark.parametrize("profile", ["video-file", "usb-webcam-uvc", "raspberry-pi-camera"])
def test_shipped_camera_profiles_run_the_default_chain(profile: str, tmp_path: Path) -> None:
    """A profile that pinned the old chain would silently keep the agent off the measured one."""
    config = parse_config(
        {
            "gate": {"id": "north", "event_id": 1},
            "state": {"dir": str(tmp_path)},
            "inputs": [{"name": "cam", "profile": profile, "device": str(tmp_path / "none.avi")}],
        }
    )
    (prepared,) = prepare(config.inputs, config.profile_dirs)
    camera = build(prepared, lambda event: None, config.decoders)
    assert camera.settings.decoders == DEFAULT_ORDER
    assert camera.chain.order == DEFAULT_ORDER
