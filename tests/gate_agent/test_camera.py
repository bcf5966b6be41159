"""Cameras: real video files written with OpenCV and read back through cv2.VideoCapture."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from gate_agent.inputs import ScanEvent
from gate_agent.inputs.camera import (
    DEFAULT_ORDER,
    CameraInput,
    CameraSettings,
    DecoderChain,
    RepeatFilter,
    decode_source,
)
from tests.gate_agent.conftest import Tickets
from ticket_format.qr import qr_png


def frame_with(token: str | None, seed: int) -> np.ndarray:
    """A 640x480 grey frame with sensor noise and, optionally, the ticket's QR code in it."""
    rng = np.random.default_rng(seed)
    frame = np.clip(rng.normal(150, 12, (480, 640)), 0, 255).astype(np.uint8)
    if token is not None:
        code = cv2.imdecode(np.frombuffer(qr_png(token, scale=4), np.uint8), cv2.IMREAD_GRAYSCALE)
        h, w = code.shape
        y, x = (480 - h) // 2, (640 - w) // 2 + (seed % 5) * 10 - 20
        frame[y : y + h, x : x + w] = code
    return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)


def write_video(path: Path, plan: list[str | None]) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (640, 480))
    assert writer.isOpened()
    for index, token in enumerate(plan):
        writer.write(frame_with(token, index))
    writer.release()


Video = tuple[Path, list[str], list[str | None]]


@pytest.fixture
def video(tmp_path: Path, tickets: Tickets) -> tuple[Path, list[str], list[str | None]]:
    a, b = tickets.new(seat="R1-S1"), tickets.new(seat="R1-S2")
    plan: list[str | None] = [None] * 5 + [a] * 4 + [None] * 6 + [b] * 3 + [None] * 4
    path = tmp_path / "gate.avi"
    write_video(path, plan)
    return path, [a, b], plan


def test_decode_source_reports_every_frame(video: tuple[Path, list[str], list[str | None]]) -> None:
    path, (a, b), plan = video
    found = list(decode_source(str(path)))
    frames_with_codes = [i for i, token in enumerate(plan) if token]
    assert [f["frame"] for f in found] == frames_with_codes
    assert {f["text"] for f in found} == {a, b}
    assert all(f["decoder"] == DEFAULT_ORDER[0] for f in found)


def test_camera_input_counts_consecutive_frames_once(video: tuple[Path, list[str], list[str | None]]) -> None:
    path, tokens, plan = video
    events: queue.Queue[ScanEvent] = queue.Queue()
    camera = CameraInput("cam0", CameraSettings(source=str(path), repeat_window=2.0), events.put)
    thread = threading.Thread(target=camera.run)
    thread.start()
    thread.join(30)
    assert not thread.is_alive()
    got = [events.get_nowait().text for _ in range(events.qsize())]
    assert got == tokens
    assert camera.frames == len(plan)


def test_chain_order_and_pyzbar_alone(tickets: Tickets) -> None:
    token = tickets.new()
    frame = frame_with(token, 3)
    assert DecoderChain(("pyzbar", "zxing")).decode(frame) == ("pyzbar", [token])
    assert DecoderChain(("zxing",)).decode(frame_with(None, 1)) == (None, [])
    with pytest.raises(ValueError, match="unknown decoder"):
        DecoderChain(("quirc",))


def test_repeat_filter_window() -> None:
    window = RepeatFilter(window=2.0)
    assert window.fresh(["A"], 0.0) == ["A"]
    assert window.fresh(["A"], 1.0) == []
    assert window.fresh(["A", "B"], 2.5) == ["B"]  # A stayed in view: still the same scan
    assert window.fresh(["A"], 5.0) == ["A"]


def test_camera_that_is_missing_does_not_crash(tmp_path: Path) -> None:
    events: queue.Queue[ScanEvent] = queue.Queue()
    camera = CameraInput("cam9", CameraSettings(source="/dev/video99"), events.put, retry=0.05)
    thread = threading.Thread(target=camera.run)
    thread.start()
    threading.Event().wait(0.3)
    camera.stop()
    thread.join(5)
    assert not thread.is_alive() and not camera.connected
    broken = tmp_path / "broken.avi"
    broken.write_bytes(b"\x00not a video" * 100)
    CameraInput("cam8", CameraSettings(source=str(broken)), events.put).run()  # returns, no exception
    assert events.empty()


def test_cli_decode_image_folder_and_video(
    tmp_path: Path, video: tuple[Path, list[str], list[str | None]]
) -> None:
    path, (a, b), _ = video
    folder = tmp_path / "frames"
    folder.mkdir()
    cv2.imwrite(str(folder / "000.png"), frame_with(None, 0))
    cv2.imwrite(str(folder / "001.png"), frame_with(b, 1))
    run = [sys.executable, "-m", "gate_agent.cli", "decode"]
    out = subprocess.run([*run, str(folder)], capture_output=True, text=True, check=True).stdout
    expected = [{"text": b, "frame": 1, "decoder": DEFAULT_ORDER[0]}]
    assert [json.loads(line) for line in out.splitlines()] == expected
    out = subprocess.run(
        [*run, str(path), "--decoders", "pyzbar"], capture_output=True, text=True, check=True
    )
    assert {json.loads(line)["text"] for line in out.stdout.splitlines()} == {a, b}
    bad = subprocess.run([*run, str(tmp_path / "nothing.mp4")], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
