"""The Alembic migrations build exactly the schema the code uses, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command

from sync_server.db import alembic_config, make_engine
from tests.sync_server.conftest import drop_postgres, fresh_postgres


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_migrated_schema_matches_the_tables(backend: str, tmp_path: Path) -> None:
    url = fresh_postgres() if backend == "postgres" else f"sqlite:///{tmp_path / 'sync.sqlite'}"
    try:
        engine = make_engine(url)  # runs the migrations
        engine.dispose()
        make_engine(url).dispose()  # a second start finds the schema current and changes nothing
        command.check(alembic_config(url))  # raises if the tables and the migrations differ
    finally:
        if backend == "postgres":
            drop_postgres(url)


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_migration_0003_scrubs_raw_text_already_held_in_scan_details(backend: str, tmp_path: Path) -> None:
    """Raw scanned text stored before the personal-text rule is removed by the migration."""
    import json

    from sqlalchemy import create_engine, text

    url = fresh_postgres() if backend == "postgres" else f"sqlite:///{tmp_path / 'sync.sqlite'}"
    try:
        command.upgrade(alembic_config(url), "0002")
        old = create_engine(url)
        rows = [
            ("s1", None, {"text": "13800138000"}),
            ("s2", "t-1", {"text": "EN1:junk", "used_gate": "north"}),
            ("s3", "t-2", {"identity_source": "staff"}),
        ]
        with old.begin() as conn:
            for scan_id, ticket_id, details in rows:
                conn.execute(
                    text(
                        "INSERT INTO scans (scan_id, event_id, device_id, gate, device, direction, at,"
                        " received_at, verdict, admit, reason, source, ticket_id, details, outcome)"
                        " VALUES (:id, 'e', 'd', 'g', 'd', 'in', 1, 1, 'malformed', false, '', '', :t, :d,"
                        " 'refused')"
                    ),
                    {"id": scan_id, "t": ticket_id, "d": json.dumps(details)},
                )
        old.dispose()
        engine = make_engine(url)  # runs 0003
        with engine.connect() as conn:
            found = {r.scan_id: r.details for r in conn.execute(text("SELECT scan_id, details FROM scans"))}
        engine.dispose()
        found = {k: v if isinstance(v, dict) else json.loads(v) for k, v in found.items()}
        assert found == {
            "s1": {"scrubbed": ["text"]},
            "s2": {"used_gate": "north", "scrubbed": ["text"]},
            "s3": {"identity_source": "staff"},
        }
    finally:
        if backend == "postgres":
            drop_postgres(url)
