"""The services of one venue as real processes on loopback, for end-to-end tests."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np

from encore.demo.supervisor import Service, Supervisor
from tests.local_services import free_port
from ticket_format.qr import qr_png

BIN = Path(sys.executable).parent


def run(*argv: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [str(BIN / argv[0]), *argv[1:]],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, **(env or {})},
    )
    assert result.returncode == 0, f"{argv}: {result.stderr}"
    return result.stdout


def wait_for(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {last!r})")


def qr_frame(token: str, size: int = 640) -> np.ndarray:
    """A 640x480 camera frame with the ticket's QR code held up in the middle."""
    code = cv2.imdecode(np.frombuffer(qr_png(token, scale=5), np.uint8), cv2.IMREAD_GRAYSCALE)
    frame = np.full((480, size), 200, np.uint8)
    h, w = code.shape
    top, left = (480 - h) // 2, (size - w) // 2
    frame[top : top + h, left : left + w] = code
    return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)


def write_video(path: Path, tokens: list[str], fps: int = 10) -> None:
    """A video file as a gate camera records it: empty frames, then each ticket held up for a second."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (640, 480))
    assert writer.isOpened()
    blank = np.full((480, 640, 3), 180, np.uint8)
    for token in tokens:
        for _ in range(fps // 2):
            writer.write(blank)
        frame = qr_frame(token)
        for _ in range(fps):
            writer.write(frame)
    for _ in range(fps):
        writer.write(blank)
    writer.release()


class Gate:
    """One gate agent process, its config and its staff display API."""

    def __init__(self, name: str, config: Path, display_port: int) -> None:
        self.name = name
        self.config = config
        self.display = f"http://127.0.0.1:{display_port}"

    def status(self) -> dict[str, Any]:
        answer: dict[str, Any] = httpx.get(f"{self.display}/api/status", timeout=10).json()
        return answer

    def _local(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        """Read the gate's own SQLite store (read-only): what this gate knows right now."""
        path = self.config.parent / "state" / "gate.sqlite"
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        try:
            return conn.execute(sql, args).fetchall()
        finally:
            conn.close()

    def remote_admissions(self, ticket_id: str) -> list[str]:
        """The other gates' admissions of this ticket that the sync server has fed to this gate."""
        rows = self._local("SELECT gate FROM remote_scans WHERE ticket_id = ? AND verdict = 'ok'", ticket_id)
        return [row[0] for row in rows]

    def ticket_status(self, ticket_id: str) -> str | None:
        rows = self._local("SELECT status FROM tickets WHERE ticket_id = ?", ticket_id)
        return rows[0][0] if rows else None

    def journal(self, recent: int = 200) -> list[dict[str, Any]]:
        out = run("gate-agent", "status", "--config", str(self.config), "--recent", str(recent))
        scans: list[dict[str, Any]] = json.loads(out)["recent"]
        return scans

    def verdicts_for(self, ticket_id: str) -> list[str]:
        return [
            s["verdict"]
            for s in sorted(self.journal(), key=lambda s: s["seq"])
            if s.get("ticket_id") == ticket_id
        ]

    def present_id(self, id_type: str, id_number: str, name: str) -> dict[str, Any]:
        from gate_agent.display.client import StaffClient  # signs in as staff on the device

        status, body = StaffClient(self.display).call(
            "POST", "/api/identity", {"id_type": id_type, "id_number": id_number, "name": name}
        )
        assert status < 500, body
        return body


class Venue:
    """Box office, sync server and gates, started and stopped as real processes."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.supervisor = Supervisor()
        self.bo_port, self.sync_port = free_port(), free_port()
        self.box_office = f"http://127.0.0.1:{self.bo_port}"
        self.sync_url = f"http://127.0.0.1:{self.sync_port}"
        self.sync_db = f"sqlite:///{root / 'sync.sqlite'}"
        self.organiser = ("organiser", "correct horse battery")

    def start_box_office(self, smtp_port: int) -> None:
        self.supervisor.start(
            Service(
                "box office",
                [
                    str(BIN / "box-office"),
                    "serve",
                    "--port",
                    str(self.bo_port),
                    "--state-dir",
                    str(self.root / "bo"),
                ],
                self.root / "logs" / "box-office.log",
                health_url=f"{self.box_office}/healthz",
                env={
                    "BOX_OFFICE_SMTP_HOST": "127.0.0.1",
                    "BOX_OFFICE_SMTP_PORT": str(smtp_port),
                    "BOX_OFFICE_SANDBOX": "on",  # the tests pay through the sandbox bank
                },
            ),
            120,
        )

    def start_sync_server(self, feed_token: str) -> None:
        token_file = self.root / "feed-token"
        token_file.write_text(feed_token)
        if not (self.root / "sync.sqlite").exists():
            run("sync-server", "--db", self.sync_db, "organiser", self.organiser[0],
                env={"SYNC_SERVER_PASSWORD": self.organiser[1]})  # fmt: skip
        self.supervisor.start(
            Service(
                "sync server",
                [str(BIN / "sync-server"), "--db", self.sync_db, "serve", "--host", "127.0.0.1", "--port",
                 str(self.sync_port), "--feed-url", self.box_office, "--feed-token-file", str(token_file)],
                self.root / "logs" / "sync-server.log",
                health_url=f"{self.sync_url}/healthz",
            ),
            120,
        )  # fmt: skip

    def stop_sync_server(self) -> None:
        self.supervisor.stop("sync server")

    def stats(self) -> dict[str, Any]:
        answer: dict[str, Any] = httpx.get(
            f"{self.sync_url}/api/stats", auth=self.organiser, timeout=10
        ).json()
        return answer

    def enrol_gate(self, name: str, event_id: int, inputs: str) -> Gate:
        code = run(
            "sync-server", "--db", self.sync_db, "enrol-code", "--event", str(event_id), "--gate", name
        )
        config = self.root / f"gate-{name}" / "gate.toml"
        run("gate-agent", "enrol", self.sync_url, code.strip().splitlines()[0], "--config", str(config),
            "--state-dir", str(self.root / f"gate-{name}" / "state"), "--name", f"e2e-{name}")  # fmt: skip
        port = free_port()
        with config.open("a") as handle:
            handle.write(f'\n[display]\nhost = "127.0.0.1"\nport = {port}\n\n{inputs.strip()}\n')
        run("gate-agent", "sync-now", "--config", str(config))
        return Gate(name, config, port)

    def start_gate(self, gate: Gate) -> None:
        self.supervisor.start(
            Service(
                f"gate {gate.name}",
                [str(BIN / "gate-agent"), "run", "--config", str(gate.config)],
                self.root / "logs" / f"gate-{gate.name}.log",
                health_url=f"{gate.display}/api/status",
            ),
            120,
        )

    def stop(self) -> None:
        self.supervisor.stop_all()
