"""The one device loop every hot-pluggable input runs: find, open, read until lost, retry.

Scanners are unplugged, kicked and re-plugged during a show; a serial port vanishes with its USB
adapter; a kernel answers EIO or ENODEV. Each input says only how to *find* its device and how to
*read* one session from it; this loop owns the rest, the same way for all of them: it waits
(``retry`` seconds, interruptible by :meth:`stop`) while nothing is found, logs a lost device
once as a warning (a device that fails the same way every second is not logged every second),
keeps ``connected`` true only while a session runs, and never lets a device
error end the thread.
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod

log = logging.getLogger("gate_agent.inputs")


class DeviceLoop(ABC):
    """Base of the HID and serial inputs (``hid.HidInput``, ``serial_input.SerialInput``).

    Subclasses implement :meth:`locate` and :meth:`session`; run :meth:`run` in a thread.
    """

    lost_errors: tuple[type[BaseException], ...] = (OSError,)
    """Errors that mean "the device is gone or unusable for now": logged, then retried."""

    def __init__(self, name: str, *, retry: float = 1.0) -> None:
        self.name = name
        self.retry = retry
        self.stop_event = threading.Event()
        self.connected = False
        self._last_error: str | None = None

    def stop(self) -> None:
        self.stop_event.set()

    @abstractmethod
    def locate(self) -> str | None:
        """The device path to open now, or None while it is absent (checked every ``retry`` s)."""

    @abstractmethod
    def session(self, path: str) -> None:
        """Open ``path``, set ``connected``, read until stopped or an error; close what it opened."""

    def run(self) -> None:
        while not self.stop_event.is_set():
            path = self.locate()
            if path is None:
                self.stop_event.wait(self.retry)
                continue
            try:
                self.session(path)
            except self.lost_errors as exc:  # unplugged, EIO, permission: wait and look again
                said = f"{path}: {exc}"
                level = logging.DEBUG if said == self._last_error else logging.WARNING
                log.log(level, "input %s at %s lost or cannot open: %s", self.name, path, exc)
                self._last_error = said  # the same failure every second is said once
            else:
                self._last_error = None
            finally:
                self.connected = False
            self.stop_event.wait(self.retry)
