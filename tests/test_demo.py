"""``encore demo`` as a new user runs it: it starts, takes scans, and Ctrl-C stops every process."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
ENCORE = [sys.executable, "-m", "encore"]


def port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_base() -> int:
    for _ in range(50):
        base = random.randrange(20_000, 40_000)
        if all(port_free(base + offset) for offset in (-75, 0, 50, 100, 201, 202)):
            return base
    raise RuntimeError("no free port range")


def wait(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def demo(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ENCORE, "demo", "--dir", str(root), *args], capture_output=True, text=True, timeout=60
    )


def test_demo_runs_a_concert_and_stops_cleanly(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    base = free_base()
    log = (tmp_path / "demo.log").open("w")
    process = subprocess.Popen(
        [*ENCORE, "demo", "--dir", str(root), "run", "--base-port", str(base)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 300
        while "Press Ctrl-C" not in (tmp_path / "demo.log").read_text():
            assert process.poll() is None, (tmp_path / "demo.log").read_text()
            assert time.monotonic() < deadline, "the demo did not come up"
            time.sleep(0.5)
        info = json.loads((root / "demo.json").read_text())
        assert len(info["concert"]["tickets"]) == 6
        assert len(list((root / "tickets").glob("*.png"))) == 6
        assert list((root / "mail").glob("*.eml")), "the buyers' e-mails are in the mailbox"
        gate_a = info["gates"]["A"]["display"]
        # the WeChat Pay emulator runs beside the sandbox bank, and the seat map offers it first
        providers = httpx.get(
            f"{info['box_office']}/api/sessions/{info['concert']['session_id']}/payment-providers", timeout=10
        ).json()
        assert [p["name"] for p in providers] == ["wechat", "sandbox"]
        assert httpx.get(f"http://127.0.0.1:{base + 50}/healthz", timeout=10).status_code == 200

        assert demo(root, "scan", "1", "--gate", "A").returncode == 0
        status = {}
        for _ in range(100):
            status = httpx.get(f"{gate_a}/api/status", timeout=5).json()
            if status["holding"]:
                break
            time.sleep(0.1)
        assert status["holding"], "a real-name ticket holds the lane"
        shown = demo(root, "show-id", "1", "--gate", "A")
        assert json.loads(shown.stdout)["verdict"] == "ok"
        assert demo(root, "scan", "1", "--gate", "B").returncode == 0
        assert demo(root, "refund", "3").returncode == 0
        assert demo(root, "scan", "hello", "--gate", "A").returncode == 0
        bad = demo(root, "scan", "99", "--gate", "A")
        assert bad.returncode == 2 and "ticket number" in bad.stderr

        def online() -> bool:
            return bool(httpx.get(f"{gate_a}/api/status", timeout=5).json()["online"])

        assert demo(root, "outage", "start").returncode == 0
        assert wait(lambda: not online(), 60), "gate A notices the sync server is gone"
        assert demo(root, "scan", "5", "--gate", "A").returncode == 0  # decided offline, journalled
        assert demo(root, "outage", "end").returncode == 0
        assert wait(online, 90), "gate A is back online"
        assert wait(lambda: httpx.get(f"{gate_a}/api/status", timeout=5).json()["backlog"] == 0, 60)

        process.send_signal(signal.SIGINT)
        assert process.wait(60) == 0
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()
    # Every service is gone: its port is free again.
    time.sleep(0.5)
    assert [
        p for p in (base, base + 50, base + 100, base + 201, base + 202, base - 75) if not port_free(p)
    ] == []
    text = (tmp_path / "demo.log").read_text()
    assert "stopping every process" in text and "Traceback" not in text
