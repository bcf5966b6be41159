"""The CLI end to end (as a subprocess), and the systemd side: unit file and notify protocol."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.gate_agent.agent_process import ROOT, AgentProcess, Scanner, write_config
from tests.gate_agent.conftest import Tickets

UNIT = ROOT / "systemd" / "gate-agent.service"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gate_agent.cli", *args], capture_output=True, text=True, cwd=ROOT
    )


def test_import_verify_status(tmp_path: Path, tickets: Tickets) -> None:
    token = tickets.new(seat="R2-S9")
    revoked = tickets.new(status="revoked")
    snapshot = tmp_path / "snapshot.jsonl"
    snapshot.write_text(tickets.snapshot_text(cursor="77"))
    config = write_config(tmp_path, tmp_path / "no-port")
    imported = cli("import-snapshot", str(snapshot), "--config", str(config))
    assert imported.returncode == 0, imported.stderr
    assert json.loads(imported.stdout) == {"imported": 2, "cursor": "77", "event_id": "evt-1"}

    first = cli("verify", token, "--config", str(config))
    result = json.loads(first.stdout)
    assert first.returncode == 0 and result["verdict"] == "ok" and result["admit"] is True
    assert result["ticket"]["seat"] == "R2-S9" and result["reason"]
    second = cli("verify", token, "--config", str(config))
    assert second.returncode == 1 and json.loads(second.stdout)["verdict"] == "already_used"
    assert json.loads(cli("verify", revoked, "--config", str(config)).stdout)["verdict"] == "revoked"
    assert json.loads(cli("verify", "garbage", "--config", str(config)).stdout)["verdict"] == "malformed"

    status = json.loads(cli("status", "--config", str(config)).stdout)
    assert status["backlog"] == 4 and status["counts"]["admitted"] == 1
    assert status["snapshot"]["cursor"] == "77" and status["integrity"] == "ok"


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, tickets: Tickets) -> None:
    tickets.new()
    config = write_config(tmp_path, tmp_path / "no-port")
    truncated = tmp_path / "cut.jsonl"
    truncated.write_text("".join(tickets.snapshot_text().splitlines(keepends=True)[:-1]))
    other_event = tmp_path / "other.jsonl"
    other_event.write_text(tickets.snapshot_text().replace('"event_id":"evt-1"', '"event_id":"evt-9"', 1))
    broken_config = tmp_path / "broken.toml"
    broken_config.write_text("[gate]\nid = 3\n")
    cases = [
        ("import-snapshot", str(truncated), "--config", str(config)),
        ("import-snapshot", str(other_event), "--config", str(config)),
        ("import-snapshot", str(tmp_path / "absent.jsonl"), "--config", str(config)),
        ("verify", "x", "--config", str(broken_config)),
        ("verify", "x", "--config", str(tmp_path / "absent.toml")),
        ("decode", str(tmp_path / "absent.png")),
    ]
    for args in cases:
        result = cli(*args)
        assert result.returncode == 2, args
        assert result.stderr.startswith("gate-agent: ") and result.stderr.count("\n") == 1, result.stderr
        assert "Traceback" not in result.stderr


def test_corrupt_profile_stops_the_start(tmp_path: Path) -> None:
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "datalogic-magellan-serial.toml").write_text(
        "[profile]\nname = 'datalogic-magellan-serial'\n"
    )
    config = write_config(tmp_path, tmp_path / "no-port", extra=f'[profiles]\ndirs = ["{profiles}"]\n')
    text = config.read_text()
    # [profiles] must come before [[inputs]] in TOML terms; move it to the top.
    config.write_text(
        f'[profiles]\ndirs = ["{profiles}"]\n' + text.replace(f'[profiles]\ndirs = ["{profiles}"]\n', "")
    )
    result = cli("run", "--config", str(config))
    assert result.returncode == 2
    assert "profile.model: missing" in result.stderr and "Traceback" not in result.stderr


def test_devices_lists_json_lines() -> None:
    result = cli("devices")
    assert result.returncode == 0
    for line in result.stdout.splitlines():
        assert {"kind", "path", "profile"} <= set(json.loads(line))


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_unit_file_verifies(tmp_path: Path) -> None:
    text = UNIT.read_text()
    needed = [
        "Type=notify",
        "WatchdogSec=",
        "Restart=on-failure",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "StateDirectory=gate-agent",
        "DeviceAllow=char-input",
        "DeviceAllow=char-ttyUSB",
        "DeviceAllow=char-video4linux",
        "DeviceAllow=char-gpiochip",
    ]
    assert [line for line in needed if line not in text] == []
    assert "PrivateDevices=yes" not in text  # would hide scanners, cameras and GPIO
    unit = tmp_path / "gate-agent.service"
    executable = Path(sys.executable).parent / "gate-agent"
    unit.write_text(text.replace("/opt/encore/.venv/bin/gate-agent", str(executable)))
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_agent_notifies_ready_and_feeds_the_watchdog(tmp_path: Path, tickets: Tickets) -> None:
    address = str(tmp_path / "notify.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(address)
    listener.settimeout(10)
    scanner = Scanner(tmp_path / "ttyScanner")
    agent = AgentProcess(
        write_config(tmp_path, scanner.link), env={"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "1000000"}
    )
    try:
        messages = [listener.recv(4096).decode() for _ in range(3)]
        assert any(m.startswith("READY=1") for m in messages)
        assert sum("WATCHDOG=1" in m for m in messages) >= 1
        agent.wait_ready()
    finally:
        assert agent.stop() == 0  # SIGTERM: a clean stop
        scanner.close()
        listener.close()
        os.unlink(address)
