"""tickets.identity_sealed replaces the holder digests in clear; scan details lose raw text

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 18:00:00

Contract 3: a real-name ticket's holder digests reach the venue sealed under the ticket's own
signature, so neither a gate nor this server can test name guesses against them. The clear
``id_digest``/``name_digest`` columns are dropped (the seals arrive with the next feed entry of
each ticket); ``scans.details`` loses the ``text`` sample that gates of the first release
uploaded for non-ticket scans (often an ID number typed by staff), keeping only its length.
``scans.conflict_cleared_at``: when the box office was told that an admitted conflict became a
legitimate re-entry (an exit between the two admissions arrived late).
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("conflict_cleared_at", sa.Float(), nullable=True))
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("identity_sealed", sa.String(length=200), nullable=True))
        batch_op.drop_column("id_digest")
        batch_op.drop_column("name_digest")
    scans = sa.table("scans", sa.column("scan_id", sa.String), sa.column("details", sa.JSON))
    conn = op.get_bind()
    as_text = sa.cast(scans.c.details, sa.Text)
    rows = conn.execute(sa.select(scans.c.scan_id, scans.c.details).where(as_text.like('%"text"%'))).all()
    for scan_id, details in rows:
        if isinstance(details, str):
            details = json.loads(details)
        if not isinstance(details, dict) or "text" not in details:
            continue
        text = details.pop("text")
        if isinstance(text, str):
            details["sample"] = {"length": len(text)}
        conn.execute(sa.update(scans).where(scans.c.scan_id == scan_id).values(details=details))


def downgrade() -> None:
    with op.batch_alter_table("scans", schema=None) as batch_op:
        batch_op.drop_column("conflict_cleared_at")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_digest", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("id_digest", sa.String(length=200), nullable=True))
        batch_op.drop_column("identity_sealed")
