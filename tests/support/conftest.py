"""Fixtures of the support tests: the box office fixtures (SQLite and PostgreSQL over real HTTP)."""

from tests.box_office.conftest import sandbox_for_served_box_offices, server, smtp

__all__ = ["sandbox_for_served_box_offices", "server", "smtp"]
