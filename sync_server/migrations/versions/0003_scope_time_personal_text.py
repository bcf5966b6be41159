"""scope attempts, scan time flags, device clock offsets; raw scanned text scrubbed

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 18:00:00

- ``refused_requests``: out-of-scope attempts of devices, for the organisers' dashboard;
- ``scans.time_flag``: a scan whose own time lies outside the server's window (kept, flagged);
- ``devices.clock_offset``: how far the device's clock was off at its last upload;
- ``scans.details``: raw scanned text of scans that are not tickets is removed from what is
  already stored (the same rule as at ingest, ``sync_server.personal.scrub_details``).
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from sync_server.personal import scrub_details

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BATCH = 1000


def upgrade() -> None:
    op.create_table(
        "refused_requests",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(200)),
        sa.Column("device_id", sa.String(64)),
        sa.Column("gate_id", sa.String(200)),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("detail", sa.String(300), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
    )
    op.create_index("ix_refused_requests_event", "refused_requests", ["event_id", "id"])
    with op.batch_alter_table("scans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("time_flag", sa.String(10), nullable=True))
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("clock_offset", sa.Float(), nullable=True))
    scrub_stored_details()


def scrub_stored_details() -> None:
    """Rewrite every stored ``details`` that holds raw text, in keyset pages of scan ids."""
    conn = op.get_bind()
    scans = sa.table(
        "scans",
        sa.column("scan_id", sa.String),
        sa.column("ticket_id", sa.String),
        sa.column("details", sa.JSON),
    )
    last = ""
    while True:
        rows = conn.execute(
            sa.select(scans.c.scan_id, scans.c.ticket_id, scans.c.details)
            .where(scans.c.scan_id > last)
            .order_by(scans.c.scan_id)
            .limit(BATCH)
        ).fetchall()
        if not rows:
            return
        changes = []
        for row in rows:
            details = row.details if isinstance(row.details, dict) else json.loads(row.details or "{}")
            clean = scrub_details(details, is_ticket=row.ticket_id is not None)
            if clean != details:
                changes.append({"b_id": row.scan_id, "b_details": clean})
        if changes:
            conn.execute(
                sa.update(scans)
                .where(scans.c.scan_id == sa.bindparam("b_id"))
                .values(details=sa.bindparam("b_details")),
                changes,
            )
        last = rows[-1].scan_id


def downgrade() -> None:
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_column("clock_offset")
    with op.batch_alter_table("scans", schema=None) as batch_op:
        batch_op.drop_column("time_flag")
    op.drop_index("ix_refused_requests_event", table_name="refused_requests")
    op.drop_table("refused_requests")
