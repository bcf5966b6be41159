"""The shared device loop: absent, lost and failing devices are retried; the thread never ends."""

from __future__ import annotations

import logging

import pytest

from gate_agent.inputs.device_loop import DeviceLoop
from gate_agent.inputs.hid import HidInput
from gate_agent.inputs.serial_input import SerialInput


class Scripted(DeviceLoop):
    """A device that is absent, then fails twice the same way, then reads once and is stopped."""

    def __init__(self) -> None:
        super().__init__("scripted", retry=0)
        self.plan: list[str | None] = [None, "/dev/x", "/dev/x", "/dev/x"]
        self.sessions: list[tuple[str, bool]] = []

    def locate(self) -> str | None:
        return self.plan.pop(0)

    def session(self, path: str) -> None:
        self.connected = True
        self.sessions.append((path, self.connected))
        if len(self.sessions) < 3:
            raise OSError(19, "No such device")
        self.stop()


def test_the_loop_retries_and_says_a_repeated_failure_once(caplog: pytest.LogCaptureFixture) -> None:
    loop = Scripted()
    with caplog.at_level(logging.DEBUG, logger="gate_agent.inputs"):
        loop.run()
    assert loop.sessions == [("/dev/x", True)] * 3 and not loop.connected
    levels = [r.levelno for r in caplog.records if "lost" in r.getMessage()]
    assert levels == [logging.WARNING, logging.DEBUG]


def test_hid_and_serial_share_it() -> None:
    assert issubclass(HidInput, DeviceLoop) and issubclass(SerialInput, DeviceLoop)
    assert "run" not in vars(HidInput) and "run" not in vars(SerialInput)
