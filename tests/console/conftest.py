"""The console tests run against the box office fixtures (SQLite and PostgreSQL, real HTTP)."""

from tests.box_office.conftest import server, smtp  # noqa: F401  (fixtures)
