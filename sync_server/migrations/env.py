"""Alembic environment of the sync server: the connection comes from ``sync_server.db.upgrade``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from sync_server.db import metadata

config = context.config
connectable = config.attributes.get("connection")


def run() -> None:
    if connectable is not None:
        context.configure(connection=connectable, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None
    engine = create_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run()
