"""Shared by the sync benchmarks: a real sync-server process on loopback and bulk test data."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sync_server.store import ServerStore
from ticket_format import Keyring, SigningKey
from wire.snapshot import TicketRecord

EVENT = "bench-event"
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def records(count: int, event: str = EVENT) -> Iterator[TicketRecord]:
    zones = ("A", "B", "C", "D")
    for i in range(count):
        yield TicketRecord(
            ticket_id=str(uuid.UUID(int=i + 1)),
            version=1,
            event_id=event,
            zone=zones[i % 4],
            seat=f"R{i // 40 % 50}-S{i % 40}",
            ticket_type="standard",
        )


def prepare(db: Path, tickets: int, key: SigningKey | None = None) -> ServerStore:
    store = ServerStore.open(f"sqlite:///{db}")
    store.set_event(EVENT, Keyring([(key or SigningKey.generate()).trusted()]).to_json())
    store.upsert_tickets(records(tickets), batch_size=20_000)
    return store


class ServerProcess:
    """``sync-server serve`` as its own process, so its CPU and memory are its own."""

    def __init__(self, db: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [
                str(BIN / "sync-server"),
                "--db",
                str(db),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "WARNING",
            ],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1):
                    return
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.stop()
                    raise RuntimeError("sync-server did not start") from None
                time.sleep(0.1)

    def cpu_seconds(self) -> float:
        """User + system CPU time the server process has used so far (noise-proof cost)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def peak_rss_mib(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=15)


def peak_rss_self_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_note() -> str:
    load = os.getloadavg()
    return f"load average at the end {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (1/5/15 min)"
