"""Start, watch and stop the demo's service processes.

Each service runs as its own process (as in production), with its output in a
log file. Start-up waits until the service answers HTTP; shut-down sends
SIGTERM to everyone, waits, then SIGKILLs stragglers, so Ctrl-C always leaves
nothing running.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

STOP_GRACE_SECONDS = 8.0


class ServiceFailed(RuntimeError):
    """A service exited or never became ready; the message names it and its log."""


@dataclass
class Service:
    name: str
    argv: list[str]
    log_path: Path
    health_url: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


class Supervisor:
    """A group of service processes that start in order and stop together."""

    def __init__(self) -> None:
        self.services: list[Service] = []

    def start(self, service: Service, ready_timeout: float = 60.0) -> Service:
        service.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = service.log_path.open("ab")
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **service.env}
        service.process = subprocess.Popen(
            service.argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,  # Ctrl-C reaches only us; we stop the children in order
        )
        log.close()
        self.services.append(service)
        if service.health_url:
            self.wait_ready(service, ready_timeout)
        return service

    def wait_ready(self, service: Service, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        assert service.process is not None and service.health_url is not None
        while time.monotonic() < deadline:
            if service.process.poll() is not None:
                raise ServiceFailed(
                    f"{service.name} exited with status {service.process.returncode} while starting; "
                    f"its log ({service.log_path}) ends:\n{service.log_tail()}"
                )
            try:
                with urllib.request.urlopen(service.health_url, timeout=2) as response:
                    if response.status < 500:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise ServiceFailed(f"{service.name} did not answer {service.health_url} within {timeout:.0f} s")

    def check_alive(self) -> None:
        """Raise if any service has exited on its own."""
        for service in self.services:
            if service.process is not None and service.process.poll() is not None:
                raise ServiceFailed(
                    f"{service.name} stopped unexpectedly (status {service.process.returncode}); "
                    f"its log ({service.log_path}) ends:\n{service.log_tail()}"
                )

    def stop(self, name: str) -> None:
        for service in self.services:
            if service.name == name:
                _stop([service])
        self.services = [s for s in self.services if s.name != name]

    def stop_all(self) -> None:
        _stop(list(reversed(self.services)))
        self.services.clear()


def _stop(services: list[Service]) -> None:
    running = [s for s in services if s.process is not None and s.process.poll() is None]
    for service in running:
        assert service.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(service.process.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for service in running:
        assert service.process is not None
        try:
            service.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(service.process.pid, signal.SIGKILL)
            service.process.wait()
