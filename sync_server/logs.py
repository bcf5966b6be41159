"""Structured logs: one JSON object per line, every field escaped by the JSON encoder.

A value a device sent (a scan id, an error message) can hold a newline or anything else; as a
JSON string it stays inside its field and can never forge a line of its own. python-json-logger
is the formatter; ``extra={...}`` fields become keys of the object.
"""

from __future__ import annotations

import logging
import sys
from typing import IO

from pythonjsonlogger.json import JsonFormatter

FIELDS = "{asctime}{levelname}{name}{message}"


def json_formatter() -> logging.Formatter:
    return JsonFormatter(
        FIELDS,
        style="{",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        json_ensure_ascii=True,
    )


def setup(level: str = "INFO", stream: IO[str] | None = None) -> logging.Handler:
    """Send every log record to ``stream`` (stderr) as a JSON line; returns the handler."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(json_formatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    return handler
