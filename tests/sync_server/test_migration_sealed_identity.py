"""Migration 0004 (contract 3): holder digests in clear leave the server."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from sync_server.db import alembic_config
from tests.sync_server.conftest import drop_postgres, fresh_postgres


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_0004_drops_clear_digests(backend: str, tmp_path: Path) -> None:
    url = fresh_postgres() if backend == "postgres" else f"sqlite:///{tmp_path / 'sync.sqlite'}"
    try:
        config = alembic_config(url)
        command.upgrade(config, "0003")
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO tickets (ticket_id, event_id, version, status, real_name, id_digest,"
                    " name_digest, seq) VALUES ('T-1', 'E', 1, 'valid', true, 'aa11', 'bb22', 1)"
                )
            )
        command.upgrade(config, "head")
        with engine.begin() as conn:
            columns = {c["name"] for c in sa.inspect(conn).get_columns("tickets")}
            sealed = conn.execute(sa.text("SELECT identity_sealed FROM tickets")).scalar_one()
        engine.dispose()
        assert "identity_sealed" in columns and not columns & {"id_digest", "name_digest"}
        assert sealed is None  # sealed anew from the next feed entry, never derived from the digests
    finally:
        if backend == "postgres":
            drop_postgres(url)
