"""aiohttp app for the staff display.

- ``GET /``: the page (display/index.html).
- ``GET /ws``: WebSocket; the server sends ``{"type": "status", ...}`` and
  ``{"type": "verdict", ...}`` messages; nothing is expected from the page.
- ``POST /api/identity`` ``{"id_type", "id_number", "name"}``: the ID typed by staff for the held
  real-name ticket; answers the outcome, or 400/409 with ``{"error": ...}``.
- ``POST /api/scan`` ``{"text"}``: a ticket code typed by staff (the printed fallback).
- ``GET /api/status``: the status as JSON.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import weakref
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any

from aiohttp import WSMsgType, web

from gate_agent.pipeline import Outcome
from gate_agent.status import AgentStatus

log = logging.getLogger("gate_agent.display")

Identity = Callable[[dict[str, str]], Awaitable[Outcome]]
ManualScan = Callable[[str], Awaitable[Outcome]]
STATUS_KEY = web.AppKey("status", AgentStatus)
SOCKETS_KEY: web.AppKey[weakref.WeakSet[web.WebSocketResponse]] = web.AppKey("sockets")


class Display:
    """Holds the app and the connected pages; :meth:`publish` pushes a message to all of them."""

    def __init__(self, status: AgentStatus, on_identity: Identity, on_scan: ManualScan) -> None:
        self.status = status
        self.on_identity = on_identity
        self.on_scan = on_scan
        self.sockets: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()
        self.app = web.Application(client_max_size=64 * 1024)
        self.app.add_routes(
            [
                web.get("/", self.page),
                web.get("/ws", self.websocket),
                web.get("/api/status", self.api_status),
                web.post("/api/identity", self.api_identity),
                web.post("/api/scan", self.api_scan),
            ]
        )
        self._pending: set[asyncio.Future[None]] = set()
        self.runner: web.AppRunner | None = None
        self.port: int | None = None
        status.listeners.append(self._status_changed)

    async def start(self, host: str, port: int) -> int:
        self.runner = web.AppRunner(self.app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, host, port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else port
        log.info("staff display on http://%s:%s/", host, self.port)
        return self.port

    async def stop(self) -> None:
        for ws in list(self.sockets):
            await ws.close()
        if self.runner is not None:
            await self.runner.cleanup()

    def _status_changed(self) -> None:
        self.publish({"type": "status", **self.status.to_json()})

    def publish(self, message: dict[str, Any]) -> None:
        text = json.dumps(message, default=str)
        for ws in list(self.sockets):
            if not ws.closed:
                task = asyncio.ensure_future(_send(ws, text))
                self._pending.add(task)
                task.add_done_callback(self._pending.discard)

    async def page(self, request: web.Request) -> web.Response:
        html = resources.files("gate_agent.display").joinpath("index.html").read_text(encoding="utf-8")
        return web.Response(text=html, content_type="text/html")

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=20)
        await ws.prepare(request)
        self.sockets.add(ws)
        await ws.send_str(json.dumps({"type": "status", **self.status.to_json()}, default=str))
        if self.status.last is not None:
            await ws.send_str(json.dumps({"type": "verdict", **self.status.last}, default=str))
        async for message in ws:
            if message.type == WSMsgType.ERROR:
                break
        self.sockets.discard(ws)
        return ws

    async def api_status(self, request: web.Request) -> web.Response:
        return web.json_response(self.status.to_json())

    async def _json(self, request: web.Request) -> dict[str, Any]:
        try:
            data = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise _bad_request("body is not JSON") from None
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise web.HTTPBadRequest(
                text=json.dumps({"error": "expected a JSON object of text fields"}),
                content_type="application/json",
            )
        return data

    async def api_identity(self, request: web.Request) -> web.Response:
        data = await self._json(request)
        fields = {k: data[k].strip() for k in ("id_type", "id_number", "name") if data.get(k, "").strip()}
        try:
            outcome = await self.on_identity(fields)
        except ValueError as exc:
            status = 409 if "waiting" in str(exc) else 400
            return web.json_response({"error": str(exc)}, status=status)
        return web.json_response(outcome.to_json())

    async def api_scan(self, request: web.Request) -> web.Response:
        data = await self._json(request)
        text = data.get("text", "")
        if not text.strip():
            return web.json_response({"error": "empty code"}, status=400)
        outcome = await self.on_scan(text)
        return web.json_response(outcome.to_json())


async def _send(ws: web.WebSocketResponse, text: str) -> None:
    with contextlib.suppress(ConnectionError, RuntimeError):
        await ws.send_str(text)


def _bad_request(message: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=json.dumps({"error": message}), content_type="application/json")
