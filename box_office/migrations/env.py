"""Alembic environment: the URL comes from the caller (``box_office.store.migrate``)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from box_office.payments import refund_table as _refund_table  # noqa: F401  (its table is in the metadata)
from box_office.payments.sandbox import table as _sandbox_table  # noqa: F401  (its table is in the metadata)
from box_office.promotions import tables as _promotion_tables  # noqa: F401  (their tables are in the metadata)
from box_office.store.models import Base

config = context.config
url = config.get_main_option("sqlalchemy.url")
assert url is not None
connectable = config.attributes.get("connection")


def run() -> None:
    if connectable is not None:
        context.configure(connection=connectable, target_metadata=Base.metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(str(url))
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run()
