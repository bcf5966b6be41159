"""Migration 0003 (contract 3): holder digests in clear and raw scan samples leave the server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from sync_server.db import alembic_config
from tests.sync_server.conftest import drop_postgres, fresh_postgres

TYPED_ID = "11010519491231002X"


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_0003_drops_clear_digests_and_scrubs_scan_text(backend: str, tmp_path: Path) -> None:
    url = fresh_postgres() if backend == "postgres" else f"sqlite:///{tmp_path / 'sync.sqlite'}"
    try:
        config = alembic_config(url)
        command.upgrade(config, "0002")
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO tickets (ticket_id, event_id, version, status, real_name, id_digest,"
                    " name_digest, seq) VALUES ('T-1', 'E', 1, 'valid', true, 'aa11', 'bb22', 1)"
                )
            )
            for scan_id, details in (("s-1", {"text": TYPED_ID, "x": 1}), ("s-2", {"used_gate": "n"})):
                conn.execute(
                    sa.text(
                        "INSERT INTO scans (scan_id, event_id, device_id, gate, device, direction, at,"
                        " received_at, verdict, reason, source, details, outcome)"
                        " VALUES (:id, 'E', 'd', 'g', 'd', 'in', 1, 1, 'malformed', '', '', :details,"
                        " 'refused')"
                    ),
                    {"id": scan_id, "details": json.dumps(details)},
                )
        command.upgrade(config, "head")
        with engine.begin() as conn:
            columns = {c["name"] for c in sa.inspect(conn).get_columns("tickets")}
            rows = dict(conn.execute(sa.text("SELECT scan_id, details FROM scans")).all())
        engine.dispose()
        assert "identity_sealed" in columns and not columns & {"id_digest", "name_digest"}
        details = {k: json.loads(v) if isinstance(v, str) else v for k, v in rows.items()}
        assert details == {"s-1": {"x": 1, "sample": {"length": 18}}, "s-2": {"used_gate": "n"}}
    finally:
        if backend == "postgres":
            drop_postgres(url)
