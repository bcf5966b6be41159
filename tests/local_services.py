"""What the test suites share about the machine's local services: free ports, fresh databases."""

from __future__ import annotations

import os
import socket

import psycopg
import pytest

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
PG_URL = "postgresql://postgres@127.0.0.1:5432/{name}"


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fresh_postgres(name: str) -> str:
    """Drop and create database ``name``; skip (or fail under CI) if PostgreSQL is unreachable."""
    try:
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL on 127.0.0.1:5432 is required under CI: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    return PG_URL.format(name=name)
