"""What every part of the store shares: the engine, the dialect's upsert, the change cursor.

Synchronous SQLAlchemy Core; the web app runs store calls in one worker thread so the event
loop never blocks on the database and SQLite sees one writer at a time.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.dialects import postgresql, sqlite

from sync_server import db

SEQ = "ticket_seq"
"""The counter every ticket change takes its cursor value from."""


class Database:
    """The engine plus the few helpers every table module needs."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        with engine.begin() as conn:
            if conn.execute(select(db.counters.c.value).where(db.counters.c.name == SEQ)).first() is None:
                conn.execute(db.counters.insert().values(name=SEQ, value=0))

    def insert(self, table: Any) -> Any:
        """INSERT that can update on primary-key conflict, for both dialects."""
        return (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(table)

    @staticmethod
    def next_seq(conn: Connection, count: int) -> int:
        """Reserve ``count`` cursor values; returns the first. The row lock orders writers."""
        last = conn.execute(
            update(db.counters)
            .where(db.counters.c.name == SEQ)
            .values(value=db.counters.c.value + count)
            .returning(db.counters.c.value)
        ).scalar_one()
        return int(last) - count + 1

    @staticmethod
    def head(conn: Connection) -> int:
        return int(conn.execute(select(db.counters.c.value).where(db.counters.c.name == SEQ)).scalar_one())

    def cursor(self) -> int:
        with self.engine.connect() as conn:
            return self.head(conn)
