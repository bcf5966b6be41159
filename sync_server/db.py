"""The sync server's tables (SQLAlchemy Core) and engine: SQLite by default, PostgreSQL at scale.

Core rather than the ORM: every access is a bulk insert or a keyset page, and the ingest path
must move thousands of scans a second.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
)

metadata = MetaData()

events = Table(
    "events",
    metadata,
    Column("event_id", String(200), primary_key=True),
    Column("session_id", String(200)),
    Column("keyring", JSON, nullable=False),
    Column("identity_key", String(200)),
    Column("rules", JSON, nullable=False, default=dict),
    Column("name", String(200)),
)

tickets = Table(
    "tickets",
    metadata,
    Column("ticket_id", String(200), primary_key=True),
    Column("event_id", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("session_id", String(200)),
    Column("zone", String(200)),
    Column("seat", String(200)),
    Column("ticket_type", String(200)),
    Column("status", String(20), nullable=False),
    Column("real_name", Boolean, nullable=False, default=False),
    Column("identity_sealed", String(200)),  # holder digests sealed per ticket (contract 3)
    Column("used_at", Float),
    Column("used_gate", String(200)),
    Column("revoked_at", Float),
    Column("bound_payload", String(1200)),  # signed bytes of a phone-bound ticket (EN3 codes)
    Column("seq", Integer, nullable=False),
    Index("ix_tickets_seq", "seq"),
    Index("ix_tickets_event", "event_id", "ticket_id"),
)

counters = Table(
    "counters",
    metadata,
    Column("name", String(50), primary_key=True),
    Column("value", Integer, nullable=False),
)

enrol_codes = Table(
    "enrol_codes",
    metadata,
    Column("code_hash", String(64), primary_key=True),
    Column("event_id", String(200), nullable=False),
    Column("gate_id", String(200), nullable=False),
    Column("direction", String(3), nullable=False),
    Column("zones", JSON, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("used_at", Float),
    Column("device_id", String(64)),
)

devices = Table(
    "devices",
    metadata,
    Column("device_id", String(64), primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("event_id", String(200), nullable=False),
    Column("gate_id", String(200), nullable=False),
    Column("direction", String(3), nullable=False),
    Column("zones", JSON, nullable=False),
    Column("name", String(200)),
    Column("created_at", Float, nullable=False),
    Column("revoked_at", Float),
    Column("last_seen", Float),
    Column("cursor", String(50)),
    Column("backlog", Integer),
    Column("software_version", String(200)),
    Column("clock_offset", Float),
)

scans = Table(
    "scans",
    metadata,
    Column("scan_id", String(64), primary_key=True),
    Column("event_id", String(200), nullable=False),
    Column("device_id", String(64), nullable=False),
    Column("gate", String(200), nullable=False),
    Column("device", String(200), nullable=False),
    Column("direction", String(3), nullable=False),
    Column("at", Float, nullable=False),
    Column("received_at", Float, nullable=False),
    Column("time_flag", String(10)),
    Column("verdict", String(30), nullable=False),
    Column("admit", Boolean),
    Column("reason", Text, nullable=False, default=""),
    Column("source", String(100), nullable=False, default=""),
    Column("ticket_id", String(200)),
    Column("ticket_version", Integer),
    Column("details", JSON, nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("conflict_kind", String(40)),
    Column("conflicts_with", String(64)),
    Column("reported_at", Float),
    Column("conflict_reported_at", Float),
    Column("conflict_cleared_at", Float),  # when the box office was told the conflict is one no more
    Index("ix_scans_ticket", "ticket_id"),
    Index("ix_scans_unreported", "reported_at", "outcome"),
    Index("ix_scans_event_at", "event_id", "at"),
    Index("ix_scans_event_outcome", "event_id", "outcome"),
)

refused_requests = Table(
    "refused_requests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(200)),
    Column("device_id", String(64)),
    Column("gate_id", String(200)),
    Column("at", Float, nullable=False),
    Column("kind", String(30), nullable=False),
    Column("detail", String(300), nullable=False),
    Column("count", Integer, nullable=False),
    Index("ix_refused_requests_event", "event_id", "id"),
)

organisers = Table(
    "organisers",
    metadata,
    Column("username", String(100), primary_key=True),
    Column("password_hash", String(300), nullable=False),
    Column("created_at", Float, nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("username", String(100), nullable=False),
    Column("expires_at", Float, nullable=False),
)


def make_engine(url: str) -> Engine:
    """An engine for ``url`` (``sqlite:///path`` or ``postgresql+psycopg://...``), schema migrated.

    SQLite runs in WAL mode with ``synchronous=FULL``: an acknowledged scan must survive a
    power cut, since the gate deletes nothing but may prune acknowledged scans later.
    """
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cur = dbapi_connection.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

    upgrade(engine)
    return engine


MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url)
    return config


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest schema (Alembic), on the engine's own connection."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
