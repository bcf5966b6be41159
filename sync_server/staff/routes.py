"""HTTP routes of the staff phone app (``/staff/``).

The app is a gate device like any other (DESIGN contract 4): it enrols with a one-time code
through ``POST /api/enrol``, holds its own bearer credential (a browser can hold a bearer token,
so no second kind of credential is needed: ``sync-server devices`` lists it, revoking it cuts
it off at its next request and closes its push channel), and uses ``/api/snapshot``,
``/api/deltas`` and ``/api/scans`` unchanged.

Only the push channel needs help: a browser's ``WebSocket`` cannot send an ``Authorization``
header. The app first asks ``POST /staff/api/push-ticket`` (with its bearer credential) for a
one-time ticket valid for 30 seconds, then opens ``GET /staff/api/push?ticket=...``; the server
swaps the ticket for the credential and hands the request to the gates' own push handler. The
credential itself never appears in a URL or a log line.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

STATIC = Path(__file__).parent / "static"
PUSH_TICKET_TTL = 30.0
MAX_PUSH_TICKETS = 10_000
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".wasm": "application/wasm",
    ".webmanifest": "application/manifest+json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".txt": "text/plain; charset=utf-8",
}
CSP = (
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; "
    "img-src 'self' data: blob:; media-src 'self' blob: mediastream:; style-src 'self'; "
    "manifest-src 'self'; worker-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Authenticator = Callable[[web.Request], Awaitable[object]]


@dataclass
class PushTickets:
    """One-time, short-lived tickets that stand for a device credential on the WebSocket URL."""

    tickets: dict[str, tuple[str, float]] = field(default_factory=dict)

    def issue(self, credential: str, now: float) -> str:
        if len(self.tickets) >= MAX_PUSH_TICKETS:
            self.tickets = {k: v for k, v in self.tickets.items() if v[1] > now}
            if len(self.tickets) >= MAX_PUSH_TICKETS:
                raise web.HTTPTooManyRequests(reason="too many open push tickets; try again shortly")
        ticket = secrets.token_urlsafe(24)
        self.tickets[ticket] = (credential, now + PUSH_TICKET_TTL)
        return ticket

    def redeem(self, ticket: str, now: float) -> str | None:
        entry = self.tickets.pop(ticket, None)
        if entry is None or entry[1] < now:
            return None
        return entry[0]


PUSH_TICKETS: web.AppKey[PushTickets] = web.AppKey("staff_push_tickets", PushTickets)


def _files() -> dict[str, Path]:
    """Every file the app serves, by its path under /staff/ (nothing outside ``static/``)."""
    return {
        path.relative_to(STATIC).as_posix(): path
        for path in sorted(STATIC.rglob("*"))
        if path.is_file() and path.suffix in CONTENT_TYPES
    }


def _service_worker(files: dict[str, Path]) -> bytes:
    """sw.js with its cache named after a hash of every file of the app.

    Any change to the app changes the service worker's bytes, so the browser installs the new
    worker, which caches the whole new version at once before it takes over: a phone never
    runs a mix of old and new modules, and never needs the network to start.
    """
    digest = hashlib.sha256()
    for name, path in files.items():
        digest.update(name.encode() + b"\0" + path.read_bytes())
    text = files["sw.js"].read_text(encoding="utf-8")
    return text.replace('"encore-staff-dev"', f'"encore-staff-{digest.hexdigest()[:16]}"').encode()


def _json_error(status: int, message: str, code: str) -> web.Response:
    return web.json_response({"detail": message, "code": code, "error": message}, status=status)


def add_staff_routes(app: web.Application, *, push: Handler, authenticate: Authenticator) -> None:
    """Serve the app under ``/staff/`` and add its push-ticket exchange.

    ``push`` is the gates' WebSocket handler; ``authenticate`` checks a request's bearer
    credential (raising 401/403 like every gate route) so a revoked device gets no ticket.
    """
    files = _files()
    worker = _service_worker(files)
    app[PUSH_TICKETS] = PushTickets()

    async def index(request: web.Request) -> web.StreamResponse:
        return _serve(files["index.html"])

    async def asset(request: web.Request) -> web.StreamResponse:
        if request.match_info["path"] == "sw.js":
            return web.Response(
                body=worker,
                content_type="text/javascript",
                charset="utf-8",
                headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
            )
        path = files.get(request.match_info["path"])
        if path is None:
            return _json_error(404, "no such file in the staff app", "not_found")
        return _serve(path)

    async def push_ticket(request: web.Request) -> web.Response:
        await authenticate(request)
        credential = request.headers["Authorization"][7:].strip()
        ticket = request.app[PUSH_TICKETS].issue(credential, time.monotonic())
        return web.json_response({"ticket": ticket, "expires_in": PUSH_TICKET_TTL})

    async def staff_push(request: web.Request) -> web.StreamResponse:
        credential = request.app[PUSH_TICKETS].redeem(request.query.get("ticket", ""), time.monotonic())
        if credential is None:
            return _json_error(401, "unknown or expired push ticket", "push_ticket")
        headers = request.headers.copy()
        headers["Authorization"] = f"Bearer {credential}"
        return await push(request.clone(headers=headers))

    async def redirect(request: web.Request) -> web.StreamResponse:
        raise web.HTTPMovedPermanently("/staff/")

    app.add_routes(
        [
            web.get("/staff", redirect),
            web.get("/staff/", index),
            web.post("/staff/api/push-ticket", push_ticket),
            web.get("/staff/api/push", staff_push),
            web.get("/staff/{path:.+}", asset),
        ]
    )


def _serve(path: Path) -> web.StreamResponse:
    """A static file with its type, revalidated on every load (the service worker caches it)."""
    response = web.FileResponse(path)
    response.content_type = CONTENT_TYPES[path.suffix].split(";")[0]
    if "charset" in CONTENT_TYPES[path.suffix]:
        response.charset = "utf-8"
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Content-Type-Options"] = "nosniff"
    if path.suffix == ".html":
        response.headers["Content-Security-Policy"] = CSP
        response.headers["Referrer-Policy"] = "no-referrer"
    return response
