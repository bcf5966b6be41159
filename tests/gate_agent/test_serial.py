"""Serial scanners over a real pty pair: the test is the scanner, SerialInput reads the slave."""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gate_agent.inputs import ScanEvent
from gate_agent.inputs.idreader import IdParser, IdReaderSettings
from gate_agent.inputs.serial_input import Framer, SerialInput, SerialSettings
from tests.gate_agent.conftest import Tickets
from tests.gate_agent.test_idreader import TD3


class FakeScannerPort:
    """A pty whose slave is reached through a stable symlink, like /dev/serial/by-id/..."""

    def __init__(self, link: Path) -> None:
        self.link = link
        self.master: int | None = None
        self.slave: int | None = None
        self.plug()

    def plug(self) -> None:
        self.master, self.slave = os.openpty()
        if self.link.is_symlink():
            self.link.unlink()
        self.link.symlink_to(os.ttyname(self.slave))

    def unplug(self) -> None:
        self.link.unlink()
        assert self.master is not None and self.slave is not None
        os.close(self.master)
        os.close(self.slave)
        self.master = self.slave = None

    def write(self, data: bytes) -> None:
        assert self.master is not None
        os.write(self.master, data)

    def read(self, timeout: float = 2.0) -> bytes:
        assert self.master is not None
        import select

        ready, _, _ = select.select([self.master], [], [], timeout)
        return os.read(self.master, 1024) if ready else b""

    def close(self) -> None:
        if self.master is not None:
            self.unplug()


@pytest.fixture
def port(tmp_path: Path) -> Iterator[FakeScannerPort]:
    fake = FakeScannerPort(tmp_path / "ttyScanner")
    yield fake
    fake.close()


def start(
    port: FakeScannerPort, settings: SerialSettings, **kwargs: object
) -> tuple[SerialInput, queue.Queue]:
    events: queue.Queue[ScanEvent] = queue.Queue()
    reader = SerialInput("serial0", str(port.link), settings, events.put, retry=0.1, **kwargs)  # type: ignore[arg-type]
    thread = threading.Thread(target=reader.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 5
    while not reader.connected and time.monotonic() < deadline:
        time.sleep(0.01)
    assert reader.connected
    return reader, events


def take(events: queue.Queue[ScanEvent], n: int, timeout: float = 5.0) -> list[str]:
    return [events.get(timeout=timeout).text for _ in range(n)]


def test_split_writes_noise_and_line_ends(port: FakeScannerPort, tickets: Tickets) -> None:
    token = tickets.new(seat="R1-S1")
    reader, events = start(port, SerialSettings(framing="any", prefixes=("]Q1",)))
    try:
        for i in range(0, len(token), 7):  # the scanner's bytes arrive in pieces
            port.write(token[i : i + 7].encode())
            time.sleep(0.002)
        port.write(b"\r\n")
        port.write(b"\x00\xff\xfe\x1b[2J garbage \x07\r")  # binary noise on the line
        port.write(b"]Q1" + token.encode() + b"\n")
        port.write(b"\rLF-ONLY\n\r\nCR-ONLY\r")
        assert take(events, 4) == [token, "[2J garbage", token, "LF-ONLY"]
        assert take(events, 1) == ["CR-ONLY"]
    finally:
        reader.stop()


@pytest.mark.parametrize(("framing", "ending"), [("cr", b"\r"), ("lf", b"\n"), ("crlf", b"\r\n")])
def test_each_framing(port: FakeScannerPort, framing: str, ending: bytes) -> None:
    reader, events = start(port, SerialSettings(framing=framing))
    try:
        port.write(b"ONE" + ending + b"TW")
        port.write(b"O" + ending)
        assert take(events, 2) == ["ONE", "TWO"]
    finally:
        reader.stop()


def test_timeout_framing_and_trigger_command(port: FakeScannerPort) -> None:
    settings = SerialSettings(framing="timeout", timeout=0.1, trigger_on_open=b"\x16T\r")
    reader, events = start(port, settings)
    try:
        assert port.read() == b"\x16T\r"  # the host armed the scanner
        port.write(b"NO-TERMINATOR")
        assert take(events, 1) == ["NO-TERMINATOR"]
    finally:
        reader.stop()


def test_device_vanishes_and_comes_back(port: FakeScannerPort) -> None:
    reader, events = start(port, SerialSettings(framing="cr"))
    try:
        port.write(b"BEFORE\r")
        assert take(events, 1) == ["BEFORE"]
        port.unplug()
        deadline = time.monotonic() + 5
        while reader.connected and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not reader.connected
        time.sleep(0.3)
        port.plug()  # a new device node behind the same by-id link
        deadline = time.monotonic() + 5
        while not reader.connected and time.monotonic() < deadline:
            time.sleep(0.01)
        port.write(b"AFTER\r")
        assert take(events, 1) == ["AFTER"]
    finally:
        reader.stop()


def test_mrz_reader_over_serial(port: FakeScannerPort) -> None:
    settings = SerialSettings(framing="timeout", timeout=0.2)
    parser = IdParser(IdReaderSettings(format="mrz", match_name=False))
    reader, events = start(port, settings, kind="identity", parse=parser)
    try:
        for line in TD3.split("\n"):
            port.write(line.encode() + b"\r")
        event = events.get(timeout=5)
        assert event.kind == "identity" and event.identity == {
            "id_type": "passport",
            "id_number": "L898902C3",
        }
    finally:
        reader.stop()


def test_framer_limits_and_fragments() -> None:
    framer = Framer(SerialSettings(framing="cr", timeout=0.1))
    assert framer.feed(b"x" * 10000, 0.0) == []  # longer than a frame may be: dropped
    assert framer.feed(b"rest of it\r", 0.01) == []  # ... up to its end
    assert framer.feed(b"OK\r", 0.02) == ["OK"]
    assert framer.feed(b"fragment", 1.0) == []
    assert framer.feed(b"NEXT\r", 2.0) == ["NEXT"]  # the stale fragment was dropped, not glued on
    with pytest.raises(ValueError, match="framing"):
        Framer(SerialSettings(framing="stx"))


def test_ten_kilobyte_barcode_then_a_good_scan(port: FakeScannerPort, tickets: Tickets) -> None:
    token = tickets.new()
    reader, events = start(port, SerialSettings(framing="cr"))
    try:
        port.write(b"Q" * 10_240 + b"\r")  # a 10 kB "barcode": dropped by the framer, logged
        port.write(token.encode() + b"\r")
        assert take(events, 1) == [token]
    finally:
        reader.stop()
