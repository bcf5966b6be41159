"""The box office fixtures (SQLite and PostgreSQL over real HTTP, SMTP sink) for the promotions tests."""

from tests.box_office.conftest import sandbox_for_served_box_offices, server, smtp

__all__ = ["sandbox_for_served_box_offices", "server", "smtp"]
