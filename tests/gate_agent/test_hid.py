"""Keyboard-wedge decoding from synthetic evdev.InputEvent streams (no /dev/uinput here).

The events go through KeyDecoder, the exact object the device loop feeds from the real device.
"""

from __future__ import annotations

import errno
import os
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from evdev import InputEvent, ecodes

from gate_agent.inputs import ScanEvent
from gate_agent.inputs.hid import HidInput, HidSettings, KeyDecoder, decode_events
from gate_agent.inputs.keymaps import KEYPAD, LAYOUTS
from tests.gate_agent.conftest import Tickets

E = ecodes


class Typist:
    """Produces the events a scanner set to ``layout`` sends for some text, with timestamps."""

    def __init__(self, layout: str = "us", gap: float = 0.004, start: float = 1000.0) -> None:
        self.layout = LAYOUTS[layout]
        self.t = start
        self.gap = gap
        self.events: list[InputEvent] = []

    def key(self, code: int, value: int) -> None:
        sec = int(self.t)
        self.events.append(InputEvent(sec, int((self.t - sec) * 1e6), E.EV_KEY, code, value))
        self.events.append(InputEvent(sec, int((self.t - sec) * 1e6), E.EV_SYN, E.SYN_REPORT, 0))
        self.t += self.gap

    def press(self, code: int, *, shift: bool = False, altgr: bool = False) -> None:
        if shift:
            self.key(E.KEY_LEFTSHIFT, 1)
        if altgr:
            self.key(E.KEY_RIGHTALT, 1)
        self.key(code, 1)
        self.key(code, 0)
        if altgr:
            self.key(E.KEY_RIGHTALT, 0)
        if shift:
            self.key(E.KEY_LEFTSHIFT, 0)

    def type(self, text: str, end: int | None = E.KEY_ENTER) -> Typist:
        for char in text:
            for code, (plain, shifted) in self.layout.keys.items():
                if char == plain:
                    self.press(code)
                    break
                if char == shifted:
                    self.press(code, shift=True)
                    break
            else:
                altgr = [code for code, c in self.layout.altgr.items() if c == char]
                assert altgr, f"cannot type {char!r}"
                self.press(altgr[0], altgr=True)
        if end is not None:
            self.press(end)
        return self

    def pause(self, seconds: float) -> Typist:
        self.t += seconds
        return self


def test_real_token_us_layout(tickets: Tickets) -> None:
    token = tickets.new(seat="R12-S3")
    assert decode_events(Typist("us").type(token).events, HidSettings()) == [token]


def test_german_layout_swaps_y_z_and_symbols(tickets: Tickets) -> None:
    text = "EN1:Yz-/:%*+$ 9"
    events = Typist("de").type(text).events
    assert decode_events(events, HidSettings(layout="de")) == [text]
    # Decoding a German scanner's keys with the US table gives the wrong text: the layout matters.
    assert decode_events(events, HidSettings(layout="us")) != [text]
    token = tickets.new()
    assert decode_events(Typist("de").type(token).events, HidSettings(layout="de")) == [token]
    assert decode_events(Typist("de").type("a@b{}").events, HidSettings(layout="de")) == ["a@b{}"]


def test_keypad_caps_lock_and_autorepeat() -> None:
    typist = Typist("us")
    for code in (E.KEY_KP1, E.KEY_KP2, E.KEY_KPDOT, E.KEY_KPMINUS):
        typist.press(code, shift=True)  # keypad ignores Shift
    typist.press(E.KEY_CAPSLOCK)
    typist.press(E.KEY_A)
    typist.press(E.KEY_B, shift=True)  # Shift undoes Caps Lock for letters
    typist.press(E.KEY_1)  # Caps Lock does not shift digits
    typist.key(E.KEY_C, 1)
    typist.key(E.KEY_C, 2)  # autorepeat must not type twice
    typist.key(E.KEY_C, 0)
    typist.press(E.KEY_KPENTER)
    assert decode_events(typist.events, HidSettings()) == ["12.-Ab1C"]
    assert all(ch in "0123456789.+-*/,=" for ch in KEYPAD.values())


def test_tab_terminator_and_several_scans() -> None:
    events = Typist().type("FIRST", E.KEY_TAB).pause(0.5).type("SECOND", E.KEY_TAB).events
    assert decode_events(events, HidSettings(terminator="tab")) == ["FIRST", "SECOND"]


def test_no_terminator_ends_on_silence() -> None:
    events = Typist().type("ONE", None).pause(0.5).type("TWO", None).events
    assert decode_events(events, HidSettings(terminator="none", inter_key_timeout=0.15)) == ["ONE", "TWO"]


def test_partial_scan_without_terminator_is_discarded() -> None:
    events = Typist().type("BROKEN", None).pause(1.0).type("GOOD").events
    assert decode_events(events, HidSettings(terminator="enter", inter_key_timeout=0.2)) == ["GOOD"]


def test_syn_dropped_discards_the_scan_and_prefix_is_stripped() -> None:
    typist = Typist().type("]Q1LOST", None)
    typist.events.append(InputEvent(int(typist.t), 0, E.EV_SYN, E.SYN_DROPPED, 0))
    typist.type("]Q1KEPT")
    assert decode_events(typist.events, HidSettings(prefixes=("]Q1",))) == ["KEPT"]


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="layout"):
        KeyDecoder(HidSettings(layout="dvorak"))
    with pytest.raises(ValueError, match="terminator"):
        KeyDecoder(HidSettings(terminator="esc"))


def test_runaway_stream_is_cut() -> None:
    events = Typist(gap=0.0001).type("A" * 9000).events
    [text] = decode_events(events, HidSettings())
    assert len(text) == 8192


class SyntheticDevice:
    """Stands in for evdev.InputDevice: a pipe makes it selectable, events come from the test."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.read_fd, self.write_fd = os.pipe()
        self.fd = self.read_fd
        self.name = "Synthetic Scanner"
        self.pending: list[InputEvent] = []
        self.unplugged = False
        self.grabbed = False
        self.lock = threading.Lock()

    def send(self, events: list[InputEvent]) -> None:
        with self.lock:
            self.pending += events
        os.write(self.write_fd, b"x")

    def unplug(self) -> None:
        self.unplugged = True
        os.write(self.write_fd, b"x")

    def read(self) -> list[InputEvent]:
        os.read(self.read_fd, 4096)
        if self.unplugged:
            raise OSError(errno.ENODEV, "No such device")
        with self.lock:
            events, self.pending = self.pending, []
        return events

    def grab(self) -> None:
        self.grabbed = True

    def ungrab(self) -> None:
        self.grabbed = False

    def close(self) -> None:
        os.close(self.read_fd)
        os.close(self.write_fd)


def test_device_loop_grabs_and_survives_unplug(tmp_path: Path, tickets: Tickets) -> None:
    node = tmp_path / "usb-Scanner-event-kbd"
    node.touch()
    opened: list[SyntheticDevice] = []

    def opener(path: str) -> SyntheticDevice:
        opened.append(SyntheticDevice(path))
        return opened[-1]

    events: queue.Queue[ScanEvent] = queue.Queue()
    loop = HidInput("hid0", HidSettings(), events.put, device=str(node), retry=0.05, opener=opener)
    thread = threading.Thread(target=loop.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: loop.connected)
        assert opened[0].grabbed  # keystrokes must not reach the console
        first, second = tickets.new(), tickets.new()
        opened[0].send(Typist(start=time.time()).type(first).events)
        assert events.get(timeout=5).text == first
        node.unlink()
        opened[0].unplug()
        wait_until(lambda: not loop.connected)
        time.sleep(0.2)
        assert len(opened) == 1  # nothing to open while unplugged
        node.touch()  # plugged back in
        wait_until(lambda: loop.connected and len(opened) == 2)
        opened[1].send(Typist(start=time.time()).type(second).events)
        assert events.get(timeout=5).text == second
    finally:
        loop.stop()
        thread.join(5)
    assert not opened[1].grabbed  # released on stop


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)
