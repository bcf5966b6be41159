"""What the test suites share about the machine's local services: free ports, fresh databases."""

from __future__ import annotations

import contextlib
import fcntl
import os
import random
import socket
import tempfile
from pathlib import Path

import psycopg
import pytest

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
PG_URL = "postgresql://postgres@127.0.0.1:5432/{name}"

PORT_LOCKS = Path(tempfile.gettempdir()) / "encore-test-ports"
"""One lock file per port handed out; the ``flock`` on it is held while this process lives."""
_held_locks: list[int] = []
_MAX_HELD = 400
"""A long run hands out a few hundred ports; past this the oldest reservation is let go (its
server is long gone), so the process never runs out of file descriptors."""


def running_under_ci() -> bool:
    """``CI`` set to any usual true value (``true``, ``1``, ``yes``, ``on``): then nothing that
    the machine should provide may be skipped."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes", "on"}


def _port_range() -> range:
    """Ports outside the kernel's ephemeral range: the kernel never picks one of these for an
    outgoing connection, so between our check and the server's bind only another explicit
    ``bind`` could take it, and every test process on this machine asks through the locks."""
    try:
        low, high = (int(x) for x in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    except (OSError, ValueError):
        low, high = 32768, 60999
    if low > 12000:
        return range(10000, low)
    return range(high + 1, 65536)


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A TCP port on loopback reserved for this process: nothing listens on it now, the kernel
    will not hand it out as an ephemeral port, and no other test process (this run's, another
    engineer's, CI's) gets it while this one lives (a lock file under ``/tmp``)."""
    PORT_LOCKS.mkdir(exist_ok=True)
    ports = _port_range()
    start = random.randrange(len(ports))
    for i in range(len(ports)):
        port = ports[(start + i) % len(ports)]
        fd = os.open(PORT_LOCKS / f"{port}.lock", os.O_CREAT | os.O_RDWR, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        if not _bindable(port):
            os.close(fd)  # closing the descriptor releases its lock
            continue
        _held_locks.append(fd)
        if len(_held_locks) > _MAX_HELD:
            with contextlib.suppress(OSError):
                os.close(_held_locks.pop(0))
        return port
    raise RuntimeError("no free TCP port on loopback outside the ephemeral range")


def fresh_postgres(name: str) -> str:
    """Drop and create database ``name``; skip (or fail under CI) if PostgreSQL is unreachable."""
    try:
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        if running_under_ci():
            pytest.fail(f"PostgreSQL on 127.0.0.1:5432 is required under CI: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    return PG_URL.format(name=name)
