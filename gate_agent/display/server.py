"""aiohttp app for the staff display.

- ``GET /``: the page (display/index.html), in Chinese and English.
- ``GET /ws``: WebSocket; the server sends ``{"type": "status", ...}`` and
  ``{"type": "verdict", ...}`` messages; nothing is expected from the page. Read-only, like
  ``GET /api/status``: verdicts carry ticket ids and seats, never personal data.
- ``GET /api/session``: ``{"signed_in", "csrf", "method", "pairing_code"}`` (the pairing code
  only to a browser on the device itself: loopback peer and loopback ``Host``).
- ``POST /api/session`` ``{"secret"}``: sign in with the PIN or pairing code (see
  ``staff.py``); sets the session cookie, answers the CSRF token; 401 wrong, 429 locked.
- Actions, each needing the session cookie (else 401) and its ``X-CSRF-Token`` header (else
  403); a cross-origin ``Origin`` is refused (403):
  ``POST /api/scan`` ``{"text"}`` (a ticket code typed by staff),
  ``POST /api/identity`` ``{"id_type", "id_number", "name"}`` (the ID for the held ticket),
  ``POST /api/release`` (let the held ticket go undecided), ``DELETE /api/session``.
Errors are ``{"detail": str, "code": str}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import weakref
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any

from aiohttp import WSMsgType, web

from gate_agent.display.staff import SignInRefused, StaffAuth, StaffSession
from gate_agent.pipeline import Outcome
from gate_agent.status import AgentStatus

log = logging.getLogger("gate_agent.display")

Identity = Callable[[dict[str, str]], Awaitable[Outcome]]
ManualScan = Callable[[str], Awaitable[Outcome]]
Release = Callable[[], Awaitable[bool]]
COOKIE = "gate_staff"
CSRF_HEADER = "X-CSRF-Token"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
STATUS_KEY = web.AppKey("status", AgentStatus)
SOCKETS_KEY: web.AppKey[weakref.WeakSet[web.WebSocketResponse]] = web.AppKey("sockets")


class Display:
    """Holds the app and the connected pages; :meth:`publish` pushes a message to all of them."""

    def __init__(
        self,
        status: AgentStatus,
        on_identity: Identity,
        on_scan: ManualScan,
        on_release: Release | None = None,
        *,
        auth: StaffAuth | None = None,
        language: str = "zh",
    ) -> None:
        self.status = status
        self.on_identity = on_identity
        self.on_scan = on_scan
        self.on_release = on_release
        self.auth = auth if auth is not None else StaffAuth(None)
        self.language = language
        self.sockets: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()
        self.app = web.Application(client_max_size=64 * 1024)
        self.app.add_routes(
            [
                web.get("/", self.page),
                web.get("/ws", self.websocket),
                web.get("/api/status", self.api_status),
                web.get("/api/session", self.api_session),
                web.post("/api/session", self.api_sign_in),
                web.delete("/api/session", self.staff(self.api_sign_out)),
                web.post("/api/identity", self.staff(self.api_identity)),
                web.post("/api/scan", self.staff(self.api_scan)),
                web.post("/api/release", self.staff(self.api_release)),
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
        html = html.replace('data-default-lang="zh"', f'data-default-lang="{self.language}"', 1)
        return web.Response(
            text=html,
            content_type="text/html",
            headers={
                "Content-Security-Policy": "default-src 'self'; script-src 'unsafe-inline'; "
                "style-src 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'",
                "X-Frame-Options": "DENY",
                "Referrer-Policy": "no-referrer",
            },
        )

    # ------------------------------------------------------------ staff session

    def _on_device(self, request: web.Request) -> bool:
        """A browser on the device itself: loopback peer, and a loopback name in ``Host`` (so a
        page that rebinds its own DNS name to 127.0.0.1 is not "on the device")."""
        try:
            loopback = request.remote is not None and ipaddress.ip_address(request.remote).is_loopback
        except ValueError:
            loopback = False
        host = request.host.rsplit(":", 1)[0] if not request.host.endswith("]") else request.host
        return loopback and host in LOOPBACK_NAMES

    def _session(self, request: web.Request) -> StaffSession | None:
        return self.auth.session(request.cookies.get(COOKIE))

    async def api_session(self, request: web.Request) -> web.Response:
        session = self._session(request)
        data: dict[str, Any] = {
            "signed_in": session is not None,
            "csrf": None if session is None else session.csrf,
            "method": self.auth.method,
            "locked_for": round(self.auth.locked_for()),
        }
        if self.auth.pairing_code is not None and self._on_device(request):
            data["pairing_code"] = self.auth.pairing_code
        return web.json_response(data, headers={"Cache-Control": "no-store"})

    async def api_sign_in(self, request: web.Request) -> web.Response:
        if not self._same_origin(request):
            return _error(403, "cross-origin request refused", "cross_origin")
        data = await self._json(request)
        try:
            session = await asyncio.to_thread(self.auth.sign_in, data.get("secret", "").strip())
        except SignInRefused as exc:
            if exc.retry_after is not None:
                response = _error(429, str(exc), "locked")
                response.headers["Retry-After"] = str(max(1, round(exc.retry_after)))
                return response
            return _error(401, str(exc), "wrong_secret")
        response = web.json_response({"signed_in": True, "csrf": session.csrf})
        response.set_cookie(
            COOKIE, session.token, httponly=True, samesite="Strict", path="/",
            max_age=int(self.auth.session_seconds), secure=request.secure,
        )  # fmt: skip
        return response

    async def api_sign_out(self, request: web.Request) -> web.Response:
        self.auth.sign_out(request.cookies.get(COOKIE))
        response = web.json_response({"signed_in": False})
        response.del_cookie(COOKIE, path="/")
        return response

    @staticmethod
    def _same_origin(request: web.Request) -> bool:
        origin = request.headers.get("Origin")
        return origin is None or origin.split("://", 1)[-1] == request.host

    def staff(
        self, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        """Wrap an action: 401 without a live session, 403 without its CSRF token or cross-origin."""

        async def guarded(request: web.Request) -> web.StreamResponse:
            session = self._session(request)
            if session is None:
                return _error(401, "sign in with the staff PIN or pairing code", "staff_session_required")
            if not self._same_origin(request):
                return _error(403, "cross-origin request refused", "cross_origin")
            if not self.auth.csrf_ok(session, request.headers.get(CSRF_HEADER)):
                return _error(403, f"missing or wrong {CSRF_HEADER}", "csrf")
            return await handler(request)

        return guarded

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
            raise _bad_request("expected a JSON object of text fields")
        return data

    async def api_identity(self, request: web.Request) -> web.Response:
        data = await self._json(request)
        fields = {k: data[k].strip() for k in ("id_type", "id_number", "name") if data.get(k, "").strip()}
        try:
            outcome = await self.on_identity(fields)
        except ValueError as exc:
            if "waiting" in str(exc):
                return _error(409, str(exc), "no_hold")
            return _error(400, str(exc), "bad_identity")
        return web.json_response(outcome.to_json())

    async def api_scan(self, request: web.Request) -> web.Response:
        data = await self._json(request)
        text = data.get("text", "")
        if not text.strip():
            return _error(400, "empty code", "empty")
        outcome = await self.on_scan(text)
        return web.json_response(outcome.to_json())

    async def api_release(self, request: web.Request) -> web.Response:
        if self.on_release is None or not await self.on_release():
            return _error(409, "no ticket is waiting for an ID check", "no_hold")
        return web.json_response({"released": True})


async def _send(ws: web.WebSocketResponse, text: str) -> None:
    with contextlib.suppress(ConnectionError, RuntimeError):
        await ws.send_str(text)


def _error(status: int, detail: str, code: str) -> web.Response:
    return web.json_response({"detail": detail, "code": code}, status=status)


def _bad_request(message: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(
        text=json.dumps({"detail": message, "code": "bad_request"}), content_type="application/json"
    )
