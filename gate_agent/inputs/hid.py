"""USB HID keyboard-wedge scanners through evdev.

:class:`KeyDecoder` is pure: evdev key events in, finished scans out. :class:`HidInput` is the
device loop the agent runs in a thread: it finds the scanner (a by-id path or the profile's USB
vendor/product id), grabs it so its keystrokes never reach the console, feeds the decoder, and
when the scanner is unplugged waits for it to come back, without restarting the agent.
"""

from __future__ import annotations

import contextlib
import fnmatch
import logging
import os
import select
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from evdev import InputDevice, InputEvent, ecodes, list_devices

from gate_agent.inputs import Emit, ScanEvent, strip_affixes
from gate_agent.inputs.device_loop import DeviceLoop
from gate_agent.inputs.keymaps import LAYOUTS, Layout

log = logging.getLogger("gate_agent.inputs.hid")

TERMINATORS = {"enter": (ecodes.KEY_ENTER, ecodes.KEY_KPENTER), "tab": (ecodes.KEY_TAB,), "none": ()}
_SHIFTS = (ecodes.KEY_LEFTSHIFT, ecodes.KEY_RIGHTSHIFT)
MAX_SCAN = 8192
"""Characters kept for one scan; a runaway stream is cut (and refused as malformed)."""


@dataclass(frozen=True, slots=True)
class HidSettings:
    layout: str = "us"
    terminator: str = "enter"
    inter_key_timeout: float = 0.2
    """Silence (s) that ends a scan when there is no terminator, or discards a partial one."""
    prefixes: tuple[str, ...] = ()
    suffixes: tuple[str, ...] = ()


class KeyDecoder:
    """Turns key events into scan text with the scanner's layout, Shift, Caps Lock and AltGr."""

    def __init__(self, settings: HidSettings) -> None:
        if settings.layout not in LAYOUTS:
            raise ValueError(f"unknown keyboard layout {settings.layout!r} (known: {', '.join(LAYOUTS)})")
        if settings.terminator not in TERMINATORS:
            raise ValueError(f"unknown terminator {settings.terminator!r}")
        self.settings = settings
        self.layout: Layout = LAYOUTS[settings.layout]
        self._ends = TERMINATORS[settings.terminator]
        self._buffer: list[str] = []
        self._shift: set[int] = set()
        self._altgr = False
        self._caps = False
        self._last: float | None = None

    def feed(self, event: InputEvent) -> str | None:
        """Process one event; returns the scan text when this event finished a scan."""
        stamp = event.timestamp()
        finished = self.timeout(stamp)
        if event.type == ecodes.EV_SYN and event.code == ecodes.SYN_DROPPED:
            self.reset()  # the kernel dropped events: this scan is unreliable
            return finished
        if event.type != ecodes.EV_KEY:
            return finished
        code, value = event.code, event.value
        if code in _SHIFTS:
            (self._shift.add if value else self._shift.discard)(code)
            return finished
        if code == ecodes.KEY_RIGHTALT:
            self._altgr = value != 0
            return finished
        if value != 1:  # key up (0) and autorepeat (2) type nothing
            return finished
        if code == ecodes.KEY_CAPSLOCK:
            self._caps = not self._caps
            return finished
        self._last = stamp
        if code in self._ends:
            return self._finish() or finished
        char = self.layout.char(code, shift=bool(self._shift), caps=self._caps, altgr=self._altgr)
        if char is not None and len(self._buffer) < MAX_SCAN:
            self._buffer.append(char)
        return finished

    def timeout(self, now: float) -> str | None:
        """Call with the current time when idle: ends a terminator-less scan after the gap."""
        if self._last is None or now - self._last < self.settings.inter_key_timeout or not self._buffer:
            return None
        if self._ends:  # a scanner with a terminator never stops mid-code: discard the fragment
            log.warning("discarding %d characters without terminator", len(self._buffer))
            self.reset()
            return None
        return self._finish()

    def reset(self) -> None:
        self._buffer.clear()
        self._last = None

    def _finish(self) -> str | None:
        text = "".join(self._buffer)
        self.reset()
        text = strip_affixes(text, self.settings.prefixes, self.settings.suffixes)
        return text or None


def decode_events(events: Iterable[InputEvent], settings: HidSettings) -> list[str]:
    """Every scan in a stream of events (the device loop's decoding, for tests and tools)."""
    decoder = KeyDecoder(settings)
    scans = [text for text in map(decoder.feed, events) if text is not None]
    last = decoder._last
    if last is not None:
        tail = decoder.timeout(last + settings.inter_key_timeout + 0.001)
        if tail:
            scans.append(tail)
    return scans


def find_device(
    device: str | None, vendor: int | None, products: tuple[int, ...], name: str | None
) -> str | None:
    """The event device path matching a configured path (glob allowed) or a USB id / name pattern."""
    if device:
        if any(ch in device for ch in "*?["):
            import glob

            matches = sorted(glob.glob(device))
            return matches[0] if matches else None
        return device if os.path.exists(device) else None
    for path in list_devices():
        try:
            candidate = InputDevice(path)
        except OSError:
            continue
        try:
            info = candidate.info
            if vendor is not None and info.vendor != vendor:
                continue
            if products and info.product not in products:
                continue
            if name and not fnmatch.fnmatch(candidate.name, name):
                continue
            if ecodes.EV_KEY not in candidate.capabilities():
                continue
            return path
        finally:
            candidate.close()
    return None


class HidInput(DeviceLoop):
    """Device loop for one keyboard-wedge scanner; run :meth:`run` in a thread."""

    def __init__(
        self,
        name: str,
        settings: HidSettings,
        emit: Emit,
        *,
        device: str | None = None,
        vendor: int | None = None,
        products: tuple[int, ...] = (),
        name_pattern: str | None = None,
        repeat_window: float | None = None,
        retry: float = 1.0,
        opener: Callable[[str], Any] = InputDevice,
    ) -> None:
        super().__init__(name, retry=retry)
        self.opener = opener
        """Opens an event device; tests pass a synthetic device (there is no /dev/uinput here)."""
        self.settings = settings
        self.emit = emit
        self.device = device
        self.vendor = vendor
        self.products = products
        self.name_pattern = name_pattern
        self.repeat_window = repeat_window

    def locate(self) -> str | None:
        return find_device(self.device, self.vendor, self.products, self.name_pattern)

    def session(self, path: str) -> None:
        self._read(path)

    def _read(self, path: str) -> None:
        device = self.opener(path)
        try:
            device.grab()  # keystrokes must not reach the console or the kiosk browser
            self.connected = True
            log.info("scanner %s connected at %s (%s)", self.name, path, device.name)
            decoder = KeyDecoder(self.settings)
            while not self.stop_event.is_set():
                ready, _, _ = select.select([device.fd], [], [], 0.05)
                texts = []
                if ready:
                    texts = [decoder.feed(event) for event in device.read()]
                else:
                    texts = [decoder.timeout(time.time())]
                for text in texts:
                    if text:
                        self.emit(ScanEvent(text, self.name, repeat_window=self.repeat_window))
        finally:
            with contextlib.suppress(OSError):
                device.ungrab()
            device.close()
