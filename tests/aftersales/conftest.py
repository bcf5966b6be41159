"""The box office fixtures of tests/box_office (a real server on SQLite and on PostgreSQL,
real SMTP, captured SMS), shared with the after-sales tests."""

from tests.box_office.conftest import sandbox_for_served_box_offices, server, smtp  # noqa: F401
