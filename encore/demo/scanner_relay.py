"""A simulated serial scanner for the demo: a real pty, fed through a Unix socket.

The gate agent opens the pty's slave side exactly as it opens a real serial
scanner's /dev/ttyACM0. ``encore demo scan`` connects to the relay's socket
and sends a code; the relay writes it into the pty's master side with the
scanner's suffix (CR LF), exactly as the scanner's firmware would.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import tty
from pathlib import Path


class ScannerRelay:
    """Owns a pty pair and a listening Unix socket; each connection's text becomes one scan."""

    def __init__(self, socket_path: Path, suffix: bytes = b"\r\n") -> None:
        self.master_fd, slave_fd = os.openpty()
        tty.setraw(slave_fd)
        self.slave_path = os.ttyname(slave_fd)
        # Keep our slave fd open so the pty survives the gate reopening it.
        self._slave_fd = slave_fd
        self.suffix = suffix
        self.socket_path = socket_path
        with contextlib.suppress(FileNotFoundError):
            socket_path.unlink()
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(str(socket_path))
        self._server.listen(8)
        self._thread = threading.Thread(target=self._serve, name=f"relay:{socket_path.name}", daemon=True)
        self._thread.start()
        self._drain = threading.Thread(target=self._drain_master, daemon=True)
        self._drain.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._server.accept()
            except OSError:
                return
            with connection:
                chunks = []
                while chunk := connection.recv(65536):
                    chunks.append(chunk)
                code = b"".join(chunks).strip()
                if code:
                    os.write(self.master_fd, code + self.suffix)

    def _drain_master(self) -> None:
        """Read and drop what the gate writes back (trigger commands), so the pty never fills."""
        while True:
            try:
                if not os.read(self.master_fd, 1024):
                    return
            except OSError:
                return

    def close(self) -> None:
        self._server.close()
        with contextlib.suppress(OSError):
            os.close(self.master_fd)
        with contextlib.suppress(OSError):
            os.close(self._slave_fd)
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()


def send_scan(socket_path: Path, code: str) -> None:
    """Send one code to a running relay (what ``encore demo scan --gate A`` does)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.connect(str(socket_path))
        client.sendall(code.encode("utf-8"))
        client.shutdown(socket.SHUT_WR)
