"""JSON logs with a request id: each HTTP request gets an id (the caller's ``X-Request-ID`` when
it sends a sane one, else a new one), answered in the ``X-Request-ID`` header and carried by
every log record written while the request runs (``request_id``)."""

from __future__ import annotations

import contextvars
import logging
import re
import sys
import uuid
from typing import IO

from pythonjsonlogger.json import JsonFormatter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
_SANE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        rid = sent if _SANE.match(sent) else uuid.uuid4().hex
        token = request_id.set(rid)

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            request_id.reset(token)


def json_handler(stream: IO[str] | None = None) -> logging.Handler:
    """A handler writing one JSON object per line, with the request id of the record's request."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        JsonFormatter(
            "{asctime}{levelname}{name}{message}{request_id}",
            style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            json_ensure_ascii=True,
        )
    )
    handler.addFilter(RequestIdFilter())
    return handler


def setup(level: str = "INFO", stream: IO[str] | None = None) -> logging.Handler:
    """Send the box office's logs as JSON lines to ``stream`` (stderr)."""
    handler = json_handler(stream)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    return handler
