"""A camera watching an image folder: each new image is read once, half-written files never."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from gate_agent.inputs import ScanEvent
from gate_agent.inputs.camera import CameraInput, CameraSettings
from ticket_format.qr import save_qr


def wait_until(condition, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_new_images_in_a_watched_folder_are_scanned_once(tmp_path: Path) -> None:
    events: list[ScanEvent] = []
    camera = CameraInput(
        "watch", CameraSettings(source=str(tmp_path), watch_folder=True, repeat_window=0.0), events.append
    )
    thread = threading.Thread(target=camera.run, daemon=True)
    thread.start()
    try:
        save_qr("EN1:FIRST", tmp_path / "001.png", scale=4)
        assert wait_until(lambda: [e.text for e in events] == ["EN1:FIRST"])
        save_qr("EN1:HIDDEN", tmp_path / ".002.png", scale=4)  # being written: skipped
        save_qr("EN1:SECOND", tmp_path / "003.png", scale=4)
        assert wait_until(lambda: [e.text for e in events] == ["EN1:FIRST", "EN1:SECOND"])
        (tmp_path / ".002.png").rename(tmp_path / "002.png")
        assert wait_until(lambda: len(events) == 3)
        time.sleep(0.3)  # files already read are not read again
        assert [e.text for e in events] == ["EN1:FIRST", "EN1:SECOND", "EN1:HIDDEN"]
        assert camera.connected
    finally:
        camera.stop()
        thread.join(5)
    assert not thread.is_alive()
