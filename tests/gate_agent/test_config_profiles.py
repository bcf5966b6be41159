"""Config and device profiles: every shipped profile loads; bad files give one clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate_agent._toml import ConfigError
from gate_agent.config import load_config
from gate_agent.inputs.factory import prepare
from gate_agent.profiles import REPO_PROFILES, all_profiles, load_profile

GOOD = """
[gate]
id = "north-1"
event_id = "evt-1"
direction = "in"
allowed_zones = ["A", "B"]
reentry = "after_exit"
clock_skew = 120

[state]
dir = "state"

[gpio]
green = 17
red = 27
turnstile = 24
turnstile_active_high = false

[display]
port = 8099

[[inputs]]
profile = "honeywell-voyager-kbd"
device = "/dev/input/by-id/usb-Honeywell-event-kbd"

[[inputs]]
name = "fixed"
profile = "datalogic-magellan-serial"
device = "/dev/ttyUSB0"
serial = { baudrate = 115200 }

[sync]
url = "http://127.0.0.1:9000"
"""


def write(tmp_path: Path, text: str, name: str = "gate.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_shipped_profiles_cover_the_required_families() -> None:
    profiles = {p.name: p for p in all_profiles()}
    assert len(profiles) >= 6
    transports = {p.transport for p in profiles.values()}
    assert transports == {"hid", "serial", "camera"}
    assert profiles["honeywell-voyager-kbd"].usb_vendor == 0x0C2E
    assert profiles["honeywell-serial-trigger"].serial.trigger_on_open == b"\x16T\r"
    assert profiles["raspberry-pi-camera"].camera.backend == "gstreamer"
    assert profiles["mrz-passport-reader-serial"].id_reader is not None


def test_good_config(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    assert config.gate.allowed_zones == ("A", "B") and config.gate.clock_skew == 120.0
    assert config.state_dir == tmp_path / "state"
    assert config.gpio is not None and config.gpio.turnstile_active_high is False
    assert config.sync == {"url": "http://127.0.0.1:9000"}
    assert "reentry" in config.gate.explicit and "allowed_ticket_types" not in config.gate.explicit
    prepared = prepare(config.inputs)
    assert prepared[1].profile.serial.baudrate == 115200  # the input's override
    assert prepared[0].profile.hid.terminator == "enter"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('direction = "in"', 'direction = "sideways"'), "gate.direction: must be one of in, out"),
        (("clock_skew = 120", 'clock_skew = "lots"'), "gate.clock_skew: must be a number"),
        (('reentry = "after_exit"', 're_entry = "any"'), "gate.re_entry: unknown key"),
        (('id = "north-1"\n', ""), "gate.id: missing"),
        (("red = 27", "red = 17"), "two outputs share one GPIO pin"),
        (("port = 8099", "port = 70000"), "display.port: must be at most 65535"),
        (("[gate]", "[gate\n"), "not valid TOML"),
        (("baudrate = 115200", 'baudrate = "fast"'), "serial.baudrate"),
    ],
)
def test_bad_config_names_the_key(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    path = write(tmp_path, GOOD.replace(*change))
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")) as info:
        config = load_config(path)
        prepare(config.inputs)
    assert "\n" not in str(info.value).strip() or "TOML" in str(info.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[profile]\nname = \"bad\"\nmodel = \"x\"\ntransport = \"usb\"\n", "profile.transport"),
        ("[profile]\nname = \"bad\"\nmodel = \"x\"\n[hid]\nlayout = \"klingon\"\n", "hid.layout"),
        ("[profile]\nname = \"bad\"\nmodel = \"x\"\ntransport = \"serial\"\n[serial]\nframing = \"stx\"\n",
         "serial.framing"),
        ("[profile]\nname = \"bad\"\nmodel = \"x\"\n[serial]\nbaudrate = 9600\n", "does not fit transport"),
        ("[profile]\nname = \"bad\"\nmodel = \"x\"\nrole = \"identity\"\n", "needs an \\[id_reader\\]"),
        ("[profile]\nname = \"other\"\nmodel = \"x\"\n", "must equal the file name"),
        ("\x00\x01garbage", "not valid TOML"),
        ("[profile]\nname = \"bad\"\nmodel = \"x\"\n[match]\nusb_products = [\"0x1\"]\n", "usb_products"),
    ],
)  # fmt: skip
def test_corrupt_profile_is_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text, "bad.toml")
    with pytest.raises(ConfigError, match=message):
        load_profile(path)


def test_missing_profile(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD.replace("honeywell-voyager-kbd", "no-such-scanner")))
    with pytest.raises(ConfigError, match="device profile 'no-such-scanner' not found"):
        prepare(config.inputs)


def test_repo_profiles_dir_exists() -> None:
    assert REPO_PROFILES.is_dir()
