"""The servers' systemd units verify and keep their hardening (the gate's unit has its own test)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNITS = Path(__file__).resolve().parent.parent / "systemd"
HARDENING = [
    "NoNewPrivileges=yes",
    "ProtectSystem=strict",
    "ProtectHome=yes",
    "PrivateDevices=yes",
    "Restart=",
]


@pytest.mark.parametrize("name", ["box-office", "sync-server"])
def test_server_unit_is_hardened(name: str) -> None:
    text = (UNITS / f"{name}.service").read_text()
    assert [line for line in HARDENING if line not in text] == []
    assert f"StateDirectory={name}" in text


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
@pytest.mark.parametrize("name", ["box-office", "sync-server"])
def test_server_unit_verifies(name: str, tmp_path: Path) -> None:
    unit = tmp_path / f"{name}.service"
    bindir = str(Path(sys.executable).parent) + "/"
    unit.write_text((UNITS / f"{name}.service").read_text().replace("/opt/encore/.venv/bin/", bindir))
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
