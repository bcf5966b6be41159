"""The per-process copy of session facts: a write through this process clears it at commit; a
write by another process is seen once the copy is older than its TTL; failed writes clear
nothing; GA stock changes (every GA hold) do not clear it."""

from __future__ import annotations

import contextlib

from sqlalchemy import update

from box_office.catalog.cache import TTL, CatalogCache
from box_office.context import Context
from box_office.store.db import Database
from box_office.store.models import SessionGa, Zone
from box_office.vault import Vault
from tests.box_office.conftest import Server
from tests.box_office.helpers import Concert, grid


def _context(server: Server, clock: list[float]) -> Context:
    return Context(
        settings=server.settings,
        db=Database(server.settings.database_url),
        vault=Vault(server.settings.secret_key),
        catalog=CatalogCache(clock=lambda: clock[0]),
    )


def _price(ctx: Context, session_id: int, code: str) -> int:
    with ctx.db.read() as db:
        zone = ctx.catalog.session(db, session_id).zone_by_code(code)
        assert zone is not None
        return zone.price_cents


def test_local_writes_clear_the_copy_and_remote_ones_age_out(server: Server) -> None:
    concert = Concert(server, layout=grid(ga=10))
    clock = [1000.0]
    here, elsewhere = _context(server, clock), _context(server, clock)
    try:
        assert _price(here, concert.session_id, "A") == 20000

        def set_price(cents: int):  # type: ignore[no-untyped-def]
            return lambda db: db.execute(
                update(Zone)
                .where(Zone.event_id == concert.event_id, Zone.code == "A")
                .values(price_cents=cents)
            )

        here.db.write(set_price(21000))  # through this process: seen at once
        assert _price(here, concert.session_id, "A") == 21000
        # also when written on the session's connection, below the ORM
        here.db.write(
            lambda db: db.connection().execute(
                update(Zone)
                .where(Zone.event_id == concert.event_id, Zone.code == "A")
                .values(price_cents=21500)
            )
        )
        assert _price(here, concert.session_id, "A") == 21500

        elsewhere.db.write(set_price(22000))  # another process: the copy here is still fresh
        assert _price(here, concert.session_id, "A") == 21500
        clock[0] += TTL + 0.01
        assert _price(here, concert.session_id, "A") == 22000

        def failing(db):  # type: ignore[no-untyped-def]
            set_price(23000)(db)
            raise RuntimeError("rolled back")

        with here.db.read() as db:
            facts = here.catalog.session(db, concert.session_id)
        with contextlib.suppress(RuntimeError):
            here.db.write(failing)
        with here.db.read() as db:
            assert here.catalog.session(db, concert.session_id) is facts, "a rolled-back write cleared it"
        here.db.write(lambda db: db.execute(update(SessionGa).values(held=SessionGa.held)))
        with here.db.read() as db:
            assert here.catalog.session(db, concert.session_id) is facts, "GA stock writes must not clear it"
    finally:
        here.db.dispose()
        elsewhere.db.dispose()
