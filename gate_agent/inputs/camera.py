"""Cameras through OpenCV, with a chain of QR decoder stages (see :mod:`gate_agent.inputs.decoders`).

Sources: a device index (``0``), a ``/dev/video*`` path, a video file, an image file, an image
folder, or a GStreamer pipeline (the Raspberry Pi camera via ``libcamerasrc``). The decoder
chain tries each stage in order and stops at the first that finds a code; the default order
(zxing-cpp on a denoised frame, then on the textured region enlarged and sharpened, then on
that region deblurred) is the one ``bench/gate_camera.py`` measured best (see bench/RESULTS.md).
A code seen in consecutive frames is reported once per repeat window.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from gate_agent.inputs import Emit, ScanEvent, strip_affixes
from gate_agent.inputs.decoder_names import DEFAULT_ORDER
from gate_agent.inputs.decoders import DECODERS, Decoder

__all__ = ["DECODERS", "DEFAULT_ORDER", "CameraInput", "CameraSettings", "Decoder", "DecoderChain"]

log = logging.getLogger("gate_agent.inputs.camera")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".pgm", ".ppm", ".tif", ".tiff", ".webp")


class DecoderChain:
    """Tries decoders in order; the first one that finds anything wins for that frame."""

    def __init__(self, order: tuple[str, ...] = DEFAULT_ORDER) -> None:
        if not order:
            raise ValueError("the decoder chain is empty")
        unknown = [name for name in order if name not in DECODERS]
        if unknown:
            raise ValueError(f"unknown decoder {unknown[0]!r} (known: {', '.join(DECODERS)})")
        self.order = order
        self.decoders = [(name, DECODERS[name]()) for name in order]

    def decode(self, frame: np.ndarray) -> tuple[str | None, list[str]]:
        """(decoder name, texts) for the first decoder that reads something, else (None, [])."""
        for name, decoder in self.decoders:
            try:
                texts = decoder(frame)
            except Exception as exc:  # a decoder bug must not stop the gate
                log.warning("decoder %s failed on a frame: %s", name, exc)
                continue
            if texts:
                return name, texts
        return None, []


@dataclass(slots=True)
class RepeatFilter:
    """Reports a code once while it stays in view (or reappears within ``window`` seconds)."""

    window: float = 2.0
    _seen: dict[str, float] = field(default_factory=dict)

    def fresh(self, texts: list[str], now: float) -> list[str]:
        result = [text for text in texts if now - self._seen.get(text, -1e18) > self.window]
        for text in texts:
            self._seen[text] = now
        if len(self._seen) > 256:
            self._seen = {t: s for t, s in self._seen.items() if now - s <= self.window}
        return result


def open_capture(source: str | int, backend: str | None = None) -> Any:
    """A ``cv2.VideoCapture`` for an index, a device or file path, or a GStreamer pipeline."""
    if isinstance(source, str) and source.isdigit():
        source = int(source)
    if backend == "gstreamer":
        return cv2.VideoCapture(str(source), cv2.CAP_GSTREAMER)
    if isinstance(source, int) or str(source).startswith("/dev/video"):
        return cv2.VideoCapture(source, cv2.CAP_V4L2)
    return cv2.VideoCapture(str(source))


def iter_frames(source: str | int, backend: str | None = None) -> Iterator[np.ndarray]:
    """Frames of an image file, an image folder (sorted) or any VideoCapture source, until it ends."""
    path = Path(str(source))
    if isinstance(source, str) and path.is_dir():
        for item in sorted(path.iterdir()):
            if item.suffix.lower() in IMAGE_SUFFIXES:
                image = cv2.imread(str(item), cv2.IMREAD_GRAYSCALE)
                if image is not None:
                    yield image
        return
    if isinstance(source, str) and path.suffix.lower() in IMAGE_SUFFIXES:
        image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if image is None:
            raise ValueError(f"{path}: not a readable image")
        yield image
        return
    capture = open_capture(source, backend)
    if not capture.isOpened():
        raise ValueError(f"{source}: cannot open as a camera or video")
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                return
            yield frame
    finally:
        capture.release()


def decode_source(source: str | int, order: tuple[str, ...] = DEFAULT_ORDER) -> Iterator[dict[str, Any]]:
    """Every code in every frame (no repeat filter): ``{"text", "frame", "decoder"}`` per code."""
    chain = DecoderChain(order)
    for index, frame in enumerate(iter_frames(source)):
        name, texts = chain.decode(frame)
        for text in texts:
            yield {"text": text, "frame": index, "decoder": name}


@dataclass(frozen=True, slots=True)
class CameraSettings:
    source: str = "0"
    backend: str | None = None
    width: int | None = None
    height: int | None = None
    decoders: tuple[str, ...] = DEFAULT_ORDER
    repeat_window: float = 2.0
    prefixes: tuple[str, ...] = ()
    suffixes: tuple[str, ...] = ()
    loop_file: bool = False
    """Files end; live cameras do not. A file source stops the input at its end unless looped."""
    watch_folder: bool = False
    """An image folder that is watched: each new image is one frame, read once, in name order.
    Files whose names start with a dot are skipped, so a writer can create ``.x.png`` and rename
    it into place (the camera never sees half a file)."""


class CameraInput:
    """Device loop for one camera; run :meth:`run` in a thread. Reopens a camera that vanished."""

    def __init__(self, name: str, settings: CameraSettings, emit: Emit, *, retry: float = 1.0) -> None:
        self.name = name
        self.settings = settings
        self.emit = emit
        self.retry = retry
        self.chain = DecoderChain(settings.decoders)
        self.filter = RepeatFilter(settings.repeat_window)
        self.stop_event = threading.Event()
        self.connected = False
        self.frames = 0

    def stop(self) -> None:
        self.stop_event.set()

    def _is_file(self) -> bool:
        source = self.settings.source
        return not source.isdigit() and not source.startswith("/dev/") and self.settings.backend is None

    def run(self) -> None:
        if self.settings.watch_folder:
            self._watch_folder(Path(self.settings.source))
            return
        while not self.stop_event.is_set():
            try:
                for frame in iter_frames(self.settings.source, self.settings.backend):
                    self.connected = True
                    self._frame(frame)
                    if self.stop_event.is_set():
                        return
            except (ValueError, cv2.error, OSError) as exc:
                log.warning("camera %s: %s", self.name, exc)
            self.connected = False
            if self._is_file() and not self.settings.loop_file:
                log.info("camera %s: end of %s", self.name, self.settings.source)
                return
            self.stop_event.wait(self.retry)  # a live camera that stopped giving frames: reopen

    def _watch_folder(self, folder: Path, poll: float = 0.05) -> None:
        seen: set[str] = set()
        while not self.stop_event.is_set():
            try:
                names = sorted(
                    item.name
                    for item in folder.iterdir()
                    if item.suffix.lower() in IMAGE_SUFFIXES and not item.name.startswith(".")
                )
                self.connected = True
            except OSError as exc:
                log.warning("camera %s: %s", self.name, exc)
                self.connected = False
                names = []
            for name in names:
                if name in seen:
                    continue
                seen.add(name)
                image = cv2.imread(str(folder / name), cv2.IMREAD_GRAYSCALE)
                if image is not None:
                    self._frame(image)
            self.stop_event.wait(poll)

    def _frame(self, frame: np.ndarray) -> None:
        self.frames += 1
        _, texts = self.chain.decode(frame)
        if not texts:
            return
        for text in self.filter.fresh(texts, time.monotonic()):
            text = strip_affixes(text, self.settings.prefixes, self.settings.suffixes)
            self.emit(ScanEvent(text, self.name, repeat_window=self.settings.repeat_window))
