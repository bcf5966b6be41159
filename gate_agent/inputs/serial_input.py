"""Serial scanners (RS-232, USB CDC-ACM) through pyserial.

:class:`Framer` is pure: bytes in (in any split), scans out, framed by CR, LF, CRLF, any line
end, or silence. :class:`SerialInput` is the device loop: open the port with the profile's
baud and framing, send the optional trigger command, read, and reopen when the device vanishes.
Binary noise never crashes it: bytes that are not text are dropped from the scan, and a frame
longer than the limit is cut.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass

import serial

from gate_agent.inputs import Emit, ScanEvent, strip_affixes
from gate_agent.inputs.device_loop import DeviceLoop

log = logging.getLogger("gate_agent.inputs.serial")

FRAMINGS = ("cr", "lf", "crlf", "any", "timeout")
MAX_FRAME = 8192


@dataclass(frozen=True, slots=True)
class SerialSettings:
    baudrate: int = 9600
    bytesize: int = 8
    parity: str = "N"
    stopbits: float = 1
    rtscts: bool = False
    framing: str = "cr"
    timeout: float = 0.1
    """Silence (s) that ends a frame with ``framing = "timeout"``, or discards a partial one."""
    encoding: str = "utf-8"
    prefixes: tuple[str, ...] = ()
    suffixes: tuple[str, ...] = ()
    trigger_on_open: bytes = b""
    """Sent once after opening, e.g. Honeywell's SYN T CR to arm a scanner in serial-trigger mode."""
    trigger_interval: float = 0.0
    """If > 0, the trigger is re-sent this often (presentation scanners that time out)."""


class Framer:
    """Cuts a byte stream into scans."""

    def __init__(self, settings: SerialSettings) -> None:
        if settings.framing not in FRAMINGS:
            raise ValueError(f"unknown framing {settings.framing!r} (known: {', '.join(FRAMINGS)})")
        self.settings = settings
        self._buffer = bytearray()
        self._last: float | None = None
        self._overflow = False
        """Set when a frame outgrew MAX_FRAME: its rest, up to the next frame end, is dropped too."""

    def feed(self, data: bytes, now: float) -> list[str]:
        scans = self.flush_if_idle(now)
        if not data:
            return scans
        self._last = now
        self._buffer += data
        framing = self.settings.framing
        if framing == "timeout":
            self._limit()
            return scans
        while True:
            frame = self._next_frame(framing)
            if frame is None:
                break
            if self._overflow or len(frame) > MAX_FRAME:
                self._overflow = False
                log.warning("serial frame longer than %d bytes: discarded", MAX_FRAME)
                continue
            text = self._text(frame)
            if text:
                scans.append(text)
        self._limit()
        return scans

    def _next_frame(self, framing: str) -> bytes | None:
        buffer = self._buffer
        if framing == "crlf":
            index, skip = buffer.find(b"\r\n"), 2
        elif framing == "cr":
            index, skip = buffer.find(b"\r"), 1
        elif framing == "lf":
            index, skip = buffer.find(b"\n"), 1
        else:  # any: CR, LF or CRLF all end a frame; empty frames between them are skipped
            cr, lf = buffer.find(b"\r"), buffer.find(b"\n")
            ends = [i for i in (cr, lf) if i >= 0]
            index, skip = (min(ends), 1) if ends else (-1, 1)
        if index < 0:
            return None
        frame = bytes(buffer[:index])
        del buffer[: index + skip]
        return frame

    def _limit(self) -> None:
        if len(self._buffer) > MAX_FRAME:
            log.warning("serial frame longer than %d bytes: discarded", MAX_FRAME)
            self._buffer.clear()
            self._overflow = True

    def flush_if_idle(self, now: float) -> list[str]:
        """Ends a frame after silence (timeout framing); otherwise drops a stale fragment."""
        if not self._buffer or self._last is None or now - self._last < self.settings.timeout:
            return []
        frame = bytes(self._buffer)
        self._buffer.clear()
        if self._overflow:
            self._overflow = False
            return []
        if self.settings.framing == "timeout":
            text = self._text(frame)
            return [text] if text else []
        if frame.strip(b"\r\n"):
            log.warning("discarding %d bytes without a line end", len(frame))
        return []

    def _text(self, frame: bytes) -> str:
        text = frame.decode(self.settings.encoding, errors="ignore")
        text = "".join(ch for ch in text if ch.isprintable() or ch in "\r\n")  # MRZ lines
        return strip_affixes(text.strip(), self.settings.prefixes, self.settings.suffixes)


class SerialInput(DeviceLoop):
    """Device loop for one serial scanner or ID reader; run :meth:`run` in a thread."""

    lost_errors = (serial.SerialException, OSError, ValueError)

    def __init__(
        self,
        name: str,
        port: str,
        settings: SerialSettings,
        emit: Emit,
        *,
        kind: str = "ticket",
        parse: object = None,
        repeat_window: float | None = None,
        retry: float = 1.0,
    ) -> None:
        super().__init__(name, retry=retry)
        self.port = port
        self.settings = settings
        self.emit = emit
        self.kind = kind
        self.parse = parse
        self.repeat_window = repeat_window

    def open(self) -> serial.Serial:
        s = self.settings
        return serial.Serial(
            self.port, baudrate=s.baudrate, bytesize=s.bytesize, parity=s.parity, stopbits=s.stopbits,
            rtscts=s.rtscts, timeout=min(0.05, s.timeout),
        )  # fmt: skip

    def locate(self) -> str | None:
        return self.port if os.path.exists(self.port) else None

    def session(self, path: str) -> None:
        port = self.open()
        try:
            self._read(port)
        finally:
            port.close()

    def _read(self, port: serial.Serial) -> None:
        self.connected = True
        log.info("serial scanner %s open at %s", self.name, self.port)
        framer = Framer(self.settings)
        trigger = self.settings.trigger_on_open
        last_trigger = 0.0
        while not self.stop_event.is_set():
            now = time.monotonic()
            if trigger and (last_trigger == 0.0 or 0 < self.settings.trigger_interval <= now - last_trigger):
                port.write(trigger)
                last_trigger = now
            data = port.read(max(1, port.in_waiting))
            if not data and port.fd is not None:
                self._check_alive(port)
            for text in framer.feed(data, time.monotonic()):
                self.emit(self._event(text))

    def _check_alive(self, port: serial.Serial) -> None:
        """A pty or USB device that vanished reads as empty forever on some kernels: probe it."""
        if not os.path.exists(self.port):
            raise serial.SerialException(f"{self.port} disappeared")
        _ = port.in_waiting  # raises OSError (EIO) when the other side is gone

    def _event(self, text: str) -> ScanEvent:
        if self.kind == "identity" and callable(self.parse):
            identity = self.parse(text)
            return ScanEvent(text, self.name, kind="identity", identity=identity)
        return ScanEvent(text, self.name, repeat_window=self.repeat_window)
