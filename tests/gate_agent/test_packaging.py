"""``gate-agent devices`` from a wheel: the device profiles travel inside the package."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from gate_agent.profiles import PACKAGED_PROFILES

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow]


def test_profiles_come_from_the_installed_wheel(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    build = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "-q",
        "-w",
        str(wheels),
    ]
    subprocess.run([*build, str(ROOT)], check=True, cwd=tmp_path, timeout=300)
    (wheel,) = wheels.glob("encore-*.whl")
    shipped = {
        Path(n).name for n in zipfile.ZipFile(wheel).namelist() if n.startswith("gate_agent/device_profiles/")
    }
    expected = {p.name for p in PACKAGED_PROFILES.glob("*.toml")}
    assert expected and expected <= shipped
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True, timeout=300,
    )  # fmt: skip
    outside = tmp_path / "elsewhere"  # no checkout in sight: not the cwd, not on the path
    outside.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}
    env.pop("GATE_AGENT_PROFILES", None)
    run = subprocess.run(
        [sys.executable, "-P", "-c",
         "import sys, gate_agent.cli as c; print(c.__file__, file=sys.stderr);"
         " sys.exit(c.main(['devices', '--profiles']))"],
        cwd=outside, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert run.stderr.strip().startswith(str(target))  # the installed copy ran, not the checkout
    found = [json.loads(line) for line in run.stdout.splitlines()]
    from_wheel = {Path(p["path"]).name for p in found if p["path"].startswith(str(target))}
    assert from_wheel == expected
