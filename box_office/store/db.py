"""Engines and transactions for SQLite and PostgreSQL.

Why the SQLite set-up: several worker processes write one file. Python's sqlite3 starts
transactions lazily and upgrades read locks to write locks, which is where "database is
locked" errors come from under contention. Here every write transaction begins with
``BEGIN IMMEDIATE`` (it takes the write lock up front and waits for it, up to the busy
timeout), reads use WAL snapshots and never block, so no request fails for lock contention.

On PostgreSQL transactions are READ COMMITTED; correctness comes from conditional UPDATEs,
and a deadlock or serialization failure is retried by :func:`write`.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import Connection, CursorResult, Result
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import sessionmaker

T = TypeVar("T")
_RETRYABLE_PG = {"40001", "40P01"}
_MAX_ATTEMPTS = 8


def changed(result: Result[Any]) -> int:
    """Rows changed by an UPDATE/INSERT/DELETE: how a conditional write tells it won."""
    return int(cast(CursorResult[Any], result).rowcount)


class Database:
    """One engine plus session factories for reading and writing."""

    def __init__(self, url: str, *, pool_size: int = 16) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            self.engine = _sqlite_engine(url)
        else:
            if url.startswith("postgresql://"):
                url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
            # No pre-ping: it costs a round trip per transaction; stale connections are recycled
            # instead, and a dropped one fails that transaction, which the client retries.
            # A fixed pool and no overflow: an overflow connection is closed when given back, and
            # under an on-sale spike that meant a new PostgreSQL backend (a fork) every few
            # requests: measured, a fifth of the machine's CPU in the kernel. Threads beyond the
            # pool wait for a connection (admission control keeps that short) instead of
            # opening more: a few processes must stay under PostgreSQL's max_connections (100
            # by default). The pool only grows to what is used at once, so idle processes hold few.
            self.engine = create_engine(url, pool_size=pool_size, max_overflow=0, pool_recycle=300)
        self._writer = sessionmaker(self.engine.execution_options(encore_write=True), expire_on_commit=False)
        self._reader = sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one writer at a time anyway. Queueing writers on a lock (a thread lock in
        # this process, then an flock shared by every process on the same file) instead of
        # letting them spin in SQLite's busy handler, which sleeps up to 100 ms between tries,
        # hands the write lock over the moment it is free.
        self._write_lock: _WriterQueue | None = _WriterQueue(_sqlite_path(url)) if self.is_sqlite else None

    @contextmanager
    def read(self) -> Iterator[OrmSession]:
        """A read-only transaction (a consistent snapshot on both databases)."""
        with self._reader() as session, session.begin():
            yield session

    def write(self, work: Callable[[OrmSession], T]) -> T:
        """Run ``work`` in one write transaction, retrying deadlocks and busy errors.

        ``work`` must be safe to run again from scratch: all its effects are in the
        transaction, which is rolled back before a retry.
        """
        for attempt in range(_MAX_ATTEMPTS):
            try:
                if self._write_lock is None:
                    with self._writer() as session, session.begin():
                        return work(session)
                with self._write_lock, self._writer() as session, session.begin():
                    return work(session)
            except OperationalError as exc:
                if attempt == _MAX_ATTEMPTS - 1 or not self._retryable(exc):
                    raise
            except DBAPIError as exc:
                if attempt == _MAX_ATTEMPTS - 1 or not self._retryable(exc):
                    raise
            time.sleep(0.01 * (2**attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def _retryable(self, exc: DBAPIError) -> bool:
        if self.is_sqlite:
            return "locked" in str(exc.orig) or "busy" in str(exc.orig)
        return getattr(exc.orig, "sqlstate", None) in _RETRYABLE_PG

    def lock_subjects(self, session: OrmSession, keys: list[str]) -> None:
        """Serialise transactions that touch the same subjects (purchase-limit counting).

        SQLite needs nothing (BEGIN IMMEDIATE already serialises writers); PostgreSQL takes
        transaction-scoped advisory locks, in sorted order so two orders cannot deadlock.
        """
        if self.is_sqlite:
            return
        for key in sorted(set(keys)):
            number = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
            session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": number})

    def ping(self) -> None:
        """Raise unless the database answers (the health check)."""
        with self.read() as session:
            session.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_path(url: str) -> str:
    return url.split("///", 1)[1] if "///" in url else ""


class _WriterQueue:
    """Serialise SQLite writers: threads of this process, then processes, without busy-waiting."""

    def __init__(self, path: str) -> None:
        self._thread_lock = threading.Lock()
        self._lock_path = path + ".writelock" if path and path != ":memory:" else None
        self._fd: int | None = None

    def __enter__(self) -> None:
        self._thread_lock.acquire()
        if self._lock_path is not None:
            if self._fd is None:
                self._fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._fd, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._thread_lock.release()


def _sqlite_engine(url: str) -> Engine:
    path = _sqlite_path(url)
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False}, pool_size=20)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("encore_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine
