"""The ASGI application built from environment settings, for ``uvicorn box_office.asgi:app``
(``box-office serve`` uses it so that several worker processes can each build their own)."""

from __future__ import annotations

from box_office.api.app import create_app
from box_office.config import load_settings

app = create_app(load_settings())
