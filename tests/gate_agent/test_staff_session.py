"""The staff session's rules (PIN hashing, lock-out, expiry) and the display's safe defaults."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest

from gate_agent._toml import ConfigError
from gate_agent.agent import Agent
from gate_agent.cli import main
from gate_agent.config import load_config
from gate_agent.display.staff import PinError, SignInRefused, StaffAuth, hash_pin, pin_matches
from gate_agent.store import GateStore


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_pins_are_hashed_and_checked() -> None:
    stored = hash_pin("482913")
    assert "482913" not in stored and stored.startswith("scrypt$")
    assert pin_matches("482913", stored) and not pin_matches("482914", stored)
    assert not pin_matches("482913", "garbage") and not pin_matches("482913", "md5$1$2$3$aa$bb")
    for bad in ("12345", "abcdef", "1" * 13, ""):
        with pytest.raises(PinError):
            hash_pin(bad)


def test_lockout_after_five_wrong_and_doubling() -> None:
    clock = Clock()
    auth = StaffAuth(hash_pin("482913"), clock=clock)
    assert auth.pairing_code is None and auth.method == "pin"
    for _ in range(4):
        with pytest.raises(SignInRefused) as refused:
            auth.sign_in("000000")
        assert refused.value.retry_after is None
    with pytest.raises(SignInRefused) as refused:
        auth.sign_in("000000")
    assert refused.value.retry_after == 300
    clock.now += 299
    with pytest.raises(SignInRefused):
        auth.sign_in("482913")  # locked, even for the right PIN
    clock.now += 1
    for _ in range(5):
        with pytest.raises(SignInRefused) as refused:
            auth.sign_in("111111")
    assert refused.value.retry_after == 600  # the second lock-out lasts twice as long
    clock.now += 600
    session = auth.sign_in("482913")
    assert auth.session(session.token) == session and auth.csrf_ok(session, session.csrf)
    assert not auth.csrf_ok(session, None) and not auth.csrf_ok(session, "x")


def test_sessions_expire_and_sign_out() -> None:
    clock = Clock()
    auth = StaffAuth(None, clock=clock, session_seconds=60)
    assert auth.pairing_code is not None and len(auth.pairing_code) == 6
    session = auth.sign_in(auth.pairing_code)
    assert auth.session(session.token) is not None and auth.session("other") is None
    clock.now += 61
    assert auth.session(session.token) is None
    again = auth.sign_in(auth.pairing_code)
    auth.sign_out(again.token)
    assert auth.session(again.token) is None


CONFIG = """
[gate]
id = "g"
event_id = "e"
[state]
dir = "{state}"
[display]
host = "{host}"
port = 0
{extra}
"""


def _config(tmp_path: Path, host: str, extra: str = "") -> Path:
    path = tmp_path / "gate.toml"
    path.write_text(CONFIG.format(state=tmp_path / "state", host=host, extra=extra))
    return path


def test_binding_beyond_loopback_must_be_asked_for(tmp_path: Path) -> None:
    assert load_config(_config(tmp_path, "127.0.0.1")).display.loopback
    with pytest.raises(ConfigError, match="allow_remote"):
        load_config(_config(tmp_path, "0.0.0.0"))
    with pytest.raises(ConfigError, match="language"):
        load_config(_config(tmp_path, "::1", 'language = "fr"'))
    remote = load_config(_config(tmp_path, "0.0.0.0", "allow_remote = true"))
    assert not remote.display.loopback and remote.display.allow_remote


async def test_a_remote_display_without_a_pin_does_not_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = load_config(_config(tmp_path, "0.0.0.0", "allow_remote = true"))
    with GateStore.open(config.database) as store:
        agent = Agent(config, store)
        with caplog.at_level(logging.ERROR):
            await agent._start_display()
        assert agent.display is None and "no staff PIN" in caplog.text
        store.set_staff_pin_hash(hash_pin("482913"))
        await agent._start_display()
        display = agent.display
        assert display is not None
        try:
            assert display.auth.method == "pin" and display.auth.pairing_code is None
        finally:
            await display.stop()


def test_staff_pin_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _config(tmp_path, "127.0.0.1")
    monkeypatch.setattr("sys.stdin", io.StringIO("482913\n"))
    assert main(["staff-pin", "--config", str(path), "--stdin"]) == 0
    with GateStore.open(tmp_path / "state" / "gate.sqlite") as store:
        stored = store.staff_pin_hash()
    assert stored is not None and pin_matches("482913", stored)
    monkeypatch.setattr("sys.stdin", io.StringIO("12\n"))
    assert main(["staff-pin", "--config", str(path), "--stdin"]) == 2
    assert main(["staff-pin", "--config", str(path), "--clear"]) == 0
    with GateStore.open(tmp_path / "state" / "gate.sqlite") as store:
        assert store.staff_pin_hash() is None
