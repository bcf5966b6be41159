"""tickets.bound_payload: the signed bytes of a ticket bound to the buyer's phone

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 21:10:00

Issue 16: the phone shows a compact live code (``EN3:``) that carries only the ticket id,
version, time step and two signatures; the gates verify the box office's signature over the
ticket's COSE protected header and payload, which reach them in the snapshot and deltas as
``bound_payload`` (base64url, nothing personal). Empty until the box office feeds the ticket
again (every binding and re-issue does).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bound_payload", sa.String(length=1200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_column("bound_payload")
