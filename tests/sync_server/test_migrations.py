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
