"""A real ``gate-agent run`` subprocess fed by a serial pty, with its JSON log lines collected."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def write_config(
    directory: Path,
    serial_link: Path,
    *,
    port: int | None = None,
    extra: str = "",
    repeat_window: float = 2.0,
) -> Path:
    display = f'[display]\nhost = "127.0.0.1"\nport = {port}\n' if port else "[display]\nenabled = false\n"
    text = f"""
[gate]
id = "north-1"
device_id = "pi-test"
event_id = "evt-1"
repeat_window = {repeat_window}

[state]
dir = "{directory / "state"}"

{display}
[[inputs]]
name = "serial0"
profile = "datalogic-magellan-serial"
device = "{serial_link}"
serial = {{ framing = "cr" }}
scan = {{ repeat_window = {repeat_window} }}
{extra}
"""
    path = directory / "gate.toml"
    path.write_text(text)
    return path


class Scanner:
    """The scanner side of a pty, reachable by the agent through a stable symlink."""

    def __init__(self, link: Path) -> None:
        self.master, self.slave = os.openpty()
        self.link = link
        if link.is_symlink():
            link.unlink()
        link.symlink_to(os.ttyname(self.slave))

    def scan(self, text: str) -> None:
        os.write(self.master, text.encode() + b"\r")

    def drain(self) -> None:
        """Discard what the agent may have written back (nothing expected, but keep the pty clear)."""
        import select

        while select.select([self.master], [], [], 0)[0]:
            try:
                os.read(self.master, 4096)
            except OSError:
                return

    def close(self) -> None:
        os.close(self.master)
        os.close(self.slave)
        self.link.unlink(missing_ok=True)


class AgentProcess:
    def __init__(self, config: Path, env: dict[str, str] | None = None) -> None:
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        self.log: list[dict[str, Any]] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gate_agent.cli", "run", "--config", str(config)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT,
            env={**os.environ, **(env or {})},
        )  # fmt: skip
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            try:
                data = json.loads(line)
            except json.JSONDecodeError:
                data = {"raw": line.rstrip()}
            self.lines.put(data)

    def wait_for(self, predicate: Any, timeout: float = 20.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"agent did not log the expected line; log so far: {self.log[-5:]}")
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            self.log.append(line)
            if predicate(line):
                return line

    def wait_ready(self) -> None:
        self.wait_for(lambda line: line.get("event") == "ready")

    def verdicts(self) -> list[dict[str, Any]]:
        """Every verdict logged so far (drains the queue)."""
        while True:
            try:
                self.log.append(self.lines.get_nowait())
            except queue.Empty:
                break
        return [line for line in self.log if line.get("event") == "verdict"]

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.reader.join(5)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.reader.join(5)
        return int(self.proc.returncode)
