"""The ASGI application built from environment settings, for ``uvicorn box_office.asgi:app``
(``box-office serve`` uses it so that several worker processes can each build their own)."""

from __future__ import annotations

import os

from box_office.api.app import create_app
from box_office.config import load_settings

# ``box-office serve`` runs sweeps and delivery in its own background process and says so here.
app = create_app(load_settings(), background=os.environ.get("BOX_OFFICE_BACKGROUND", "on") != "off")

# JSON log lines with the request id of each record (box_office/observability/logs.py).
if os.environ.get("BOX_OFFICE_JSON_LOGS", "on") != "off":
    from box_office.observability import logs

    logs.setup(os.environ.get("BOX_OFFICE_LOG_LEVEL", "INFO").upper())
