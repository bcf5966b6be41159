"""The sync server's HTTP and WebSocket interface (aiohttp): gates, organisers, Prometheus.

Gates authenticate with their own bearer credential and act only within their enrolment's
scope (``scope``); organisers with a session cookie from ``/login`` (or HTTP Basic on the JSON
API and ``/metrics``, for scripts and Prometheus), throttled against guessing, and protected
against cross-site requests (``origin``). Every database call runs in one worker thread
(:class:`ServerStore` is synchronous); password checks run on threads of their own. Live
updates go to each WebSocket client through its own bounded queue (``fanout``).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import WSMsgType, web

from sync_server import auth
from sync_server.fanout import FanOut, Subscriber
from sync_server.feed import FeedPuller, FeedSettings
from sync_server.metrics import render_metrics
from sync_server.origin import cross_site
from sync_server.settings import ServerSettings
from sync_server.staff.routes import add_staff_routes
from sync_server.store import Device, EnrolError, NotFound, OutOfScope, ServerStore
from sync_server.throttle import Throttle
from wire.snapshot import SnapshotError, dumps_line, ticket_line
from wire.sync_api import (
    MAX_BODY,
    MAX_DELTA_PAGE,
    BatchTooLarge,
    EnrolRequest,
    ScanBatch,
    StatusMessage,
    WireError,
    parse_cursor,
)

log = logging.getLogger("sync_server")
T = TypeVar("T")
HERE = Path(__file__).parent
SESSION_COOKIE = "encore_session"
PUSH_INTERVAL = 0.25
"""How often the change watcher looks for ticket changes written by other processes (import)."""
MAX_USERNAME = 100
MAX_PASSWORD = 1024
MAX_QUERY_TEXT = 200
MAX_WS_MESSAGE = 64 * 1024

STORE: web.AppKey[ServerStore] = web.AppKey("store", ServerStore)
STATE: web.AppKey[State] = web.AppKey("state", object)  # type: ignore[arg-type]


@dataclass
class State:
    """What the running server holds in memory: live clients, throttles, counters for /metrics."""

    settings: ServerSettings
    executor: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1, "db"))
    password_executor: ThreadPoolExecutor = field(init=False)
    gates: FanOut = field(init=False)
    dashboards: FanOut = field(init=False)
    pushed_cursor: int = 0
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    dashboard_dirty: set[str] = field(default_factory=set)
    counters: dict[str, float] = field(default_factory=dict)
    basic_cache: dict[str, tuple[str, float]] = field(default_factory=dict)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    feed: FeedPuller | None = None
    login_users: Throttle = field(init=False)
    login_addresses: Throttle = field(init=False)
    enrol_addresses: Throttle = field(init=False)

    def __post_init__(self) -> None:
        s = self.settings
        self.password_executor = ThreadPoolExecutor(s.password_threads, "password")
        self.gates = FanOut(s.push_queue, on_drop=self._dropped("push_dropped"))
        self.dashboards = FanOut(s.dashboard_queue, on_drop=self._dropped("dashboard_dropped"))
        self.login_users = Throttle(free=s.login_free_per_user, cap=s.login_lock_cap, clock=s.clock)
        self.login_addresses = Throttle(free=s.login_free_per_address, cap=s.login_lock_cap, clock=s.clock)
        self.enrol_addresses = Throttle(free=s.enrol_free_per_address, cap=s.login_lock_cap, clock=s.clock)

    def _dropped(self, counter: str) -> Callable[[Subscriber, str], None]:
        def note(sub: Subscriber, reason: str) -> None:
            self.count(counter)
            log.warning("live client dropped", extra={"client": sub.owner, "reason": reason, "kind": counter})

        return note

    def count(self, name: str, amount: float = 1) -> None:
        self.counters[name] = self.counters.get(name, 0) + amount

    def online_ids(self) -> set[str]:
        return {sub.owner for sub in self.gates.subscribers()}


async def run_db(
    request_or_app: web.Request | web.Application, fn: Callable[..., T], *args: Any, **kwargs: Any
) -> T:
    app = request_or_app.app if isinstance(request_or_app, web.Request) else request_or_app
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(app[STATE].executor, lambda: fn(*args, **kwargs))


def error(status: int, message: str, code: str, headers: dict[str, str] | None = None) -> web.Response:
    """The error body of every refusal: ``detail`` and ``code`` (``error`` too, for older gates)."""
    return web.json_response(
        {"detail": message, "code": code, "error": message}, status=status, headers=headers
    )


_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    429: "too_many_attempts",
}


# ---------------------------------------------------------------- middleware


@web.middleware
async def errors_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Bad input -> 4xx with a message and a code; an unexpected failure -> 500, logged."""
    try:
        return await handler(request)
    except web.HTTPRequestEntityTooLarge:
        return error(413, f"request body larger than {MAX_BODY} bytes", "too_large")
    except web.HTTPException as exc:
        if exc.status >= 400 and exc.content_type != "application/json":
            headers = {k: v for k, v in exc.headers.items() if k in ("Retry-After", "WWW-Authenticate")}
            return error(exc.status, exc.reason, _CODES.get(exc.status, "error"), headers)
        raise
    except BatchTooLarge as exc:
        return error(413, str(exc), exc.code)
    except (WireError, SnapshotError) as exc:
        return error(400, str(exc), getattr(exc, "code", "invalid"))
    except Exception:
        log.exception("unexpected error", extra={"method": request.method, "path": request.path})
        return error(500, "internal error; the server logged the details", "internal")


async def read_json(request: web.Request) -> Any:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_BODY, actual_size=request.content_length)
    body = await request.read()
    try:
        return json.loads(body)
    except RecursionError:
        raise WireError("body is nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise WireError(f"body is not valid JSON: {exc}") from None


def query_text(request: web.Request, name: str) -> str | None:
    value = request.query.get(name) or None
    if value is not None and (len(value) > MAX_QUERY_TEXT or "\x00" in value):
        raise WireError(f"{name!r} must be text of at most {MAX_QUERY_TEXT} characters")
    return value


def client_address(request: web.Request) -> str:
    return request.remote or "unknown"


async def device_of(request: web.Request) -> Device:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        raise web.HTTPUnauthorized(reason="missing device credential (Authorization: Bearer ...)")
    device = await run_db(request, request.app[STORE].authenticate, header[7:].strip())
    if device is None:
        raise web.HTTPUnauthorized(reason="unknown device credential")
    if device.revoked:
        raise web.HTTPForbidden(reason="this device was revoked; enrol it again with a new code")
    return device


# ---------------------------------------------------------------- organisers' credentials


def refuse_cross_site(request: web.Request) -> None:
    """403 for an organiser's state-changing request (or dashboard socket) from another site."""
    own = f"{request.scheme}://{request.host}"
    why = cross_site(
        request.headers.get("Origin"),
        request.headers.get("Referer"),
        own,
        request.app[STATE].settings.allowed_origins,
    )
    if why is not None:
        request.app[STATE].count("cross_site_refused")
        raise web.HTTPForbidden(reason=why)


def _throttled(seconds: float) -> web.HTTPTooManyRequests:
    wait = max(1, math.ceil(seconds))
    return web.HTTPTooManyRequests(
        reason=f"too many failed attempts; try again in {wait} s", headers={"Retry-After": str(wait)}
    )


async def check_password(request: web.Request, username: str, password: str) -> bool:
    """Whether the organiser's password is right, throttled per user name and per address.

    The stored hash is read on the database thread; scrypt runs on the password threads, so
    guessing never slows the gates. An unknown user costs the same scrypt work as a known one.
    A locked user name or address gets 429 with ``Retry-After`` before any work is done.
    """
    state = request.app[STATE]
    user_key, address = f"user:{username}", client_address(request)
    wait = max(state.login_users.retry_after(user_key), state.login_addresses.retry_after(address))
    if wait > 0:
        state.count("login_throttled")
        raise _throttled(wait)
    # counted as failed before the slow check, so concurrent guesses are limited too
    state.login_users.failed(user_key)
    state.login_addresses.failed(address)
    stored = await run_db(request, request.app[STORE].organisers.password_hash, username)
    loop = asyncio.get_running_loop()
    ok = await loop.run_in_executor(state.password_executor, auth.verify_password, password, stored)
    if ok:
        state.login_users.succeeded(user_key)
        state.login_addresses.forgive(address)
        return True
    state.count("login_failed")
    log.info("organiser login failed", extra={"username": username, "address": address})
    return False


async def organiser_of(request: web.Request) -> str | None:
    """The logged-in organiser (session cookie, or HTTP Basic for scripts and Prometheus)."""
    store = request.app[STORE]
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        user = await run_db(request, store.session_user, token)
        if user:
            return user
    header = request.headers.get("Authorization", "")
    if header.startswith("Basic "):
        cache = request.app[STATE].basic_cache
        key = hashlib.sha256(header.encode()).hexdigest()
        hit = cache.get(key)
        if hit and hit[1] > time.time():
            return hit[0]
        try:
            username, _, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        if len(username) > MAX_USERNAME or len(password) > MAX_PASSWORD or "\x00" in username:
            return None
        if await check_password(request, username, password):
            cache[key] = (username, time.time() + 60)
            return username
    return None


async def require_organiser(request: web.Request) -> str:
    user = await organiser_of(request)
    if user is None:
        raise web.HTTPUnauthorized(reason="organiser login required", headers={"WWW-Authenticate": "Basic"})
    return user


# ---------------------------------------------------------------- gates


async def enrol(request: web.Request) -> web.Response:
    state = request.app[STATE]
    address = client_address(request)
    wait = state.enrol_addresses.retry_after(address)
    if wait > 0:
        state.count("enrol_throttled")
        raise _throttled(wait)
    req = EnrolRequest.parse(await read_json(request))
    try:
        enrolment = await run_db(
            request, request.app[STORE].enrol, req.code, req.device_name, req.software_version
        )
    except EnrolError as exc:
        state.count("enrol_refused")
        state.enrol_addresses.failed(address)
        return error(exc.status, str(exc), exc.code)
    log.info("device enrolled", extra={"device_id": enrolment.device_id, "gate_id": enrolment.gate_id})
    return web.json_response(enrolment.to_json(), status=201)


async def snapshot(request: web.Request) -> web.StreamResponse:
    """Stream the event's snapshot as JSON Lines; ``?after=ID`` resumes after a ticket id."""
    device = await device_of(request)
    store = request.app[STORE]
    after = query_text(request, "after")
    try:
        header = await run_db(request, store.snapshot_header, device.event_id)
    except NotFound as exc:
        return error(404, str(exc), "not_found")
    total = await run_db(request, store.ticket_count, device.event_id, after)
    response = web.StreamResponse(
        headers={
            "Content-Type": "application/x-ndjson",
            "X-Snapshot-Cursor": header.cursor,
            "X-Snapshot-Tickets": str(total),  # for the agent's progress display (approximate)
        }
    )
    response.enable_compression()
    await response.prepare(request)
    await response.write(dumps_line(header.to_json()).encode())
    pages = store.iter_tickets(device.event_id, after)
    count = 0

    def next_chunk() -> list[str]:
        lines = []
        for record in pages:
            lines.append(ticket_line(record))
            if len(lines) >= 2000:
                break
        return lines

    while True:
        lines = await run_db(request, next_chunk)
        if not lines:
            break
        count += len(lines)
        await response.write("".join(lines).encode())
    await response.write(dumps_line({"type": "footer", "count": count, "cursor": header.cursor}).encode())
    await response.write_eof()
    request.app[STATE].count("snapshots")
    return response


async def deltas(request: web.Request) -> web.Response:
    device = await device_of(request)
    after = parse_cursor(request.query.get("after", "0"), "after") or 0
    limit_text = request.query.get("limit", "1000")
    if not (limit_text.isascii() and limit_text.isdigit() and len(limit_text) <= 6):
        raise WireError(f"'limit' must be an integer from 1 to {MAX_DELTA_PAGE}")
    limit = min(max(int(limit_text), 1), MAX_DELTA_PAGE)
    page = await run_db(request, request.app[STORE].deltas, device.event_id, after, limit)
    await run_db(request, request.app[STORE].touch, device.device_id)
    return web.json_response(page.to_json())


async def scans(request: web.Request) -> web.Response:
    device = await device_of(request)
    batch = ScanBatch.parse(await read_json(request))
    store, state = request.app[STORE], request.app[STATE]
    try:
        result = await run_db(request, store.ingest, device, batch, window=state.settings.window)
    except OutOfScope as exc:
        state.count("scope_refused", len(exc.rejections))
        state.dashboard_dirty.add(device.event_id)
        log.warning(
            "batch refused: out of the device's scope",
            extra={"device_id": device.device_id, "scans": len(exc.rejections), "error": str(exc)},
        )
        return error(403, str(exc), exc.code)
    ack = result.ack
    rejected = sorted((*batch.rejected, *result.out_of_scope), key=lambda r: r.index)
    if rejected:
        ack = replace(ack, rejected=tuple(rejected))
        state.count("scans_rejected", len(batch.rejected))
        state.count("scope_refused", len(result.out_of_scope))
        for rejection in rejected:
            log.warning(
                "scan rejected",
                extra={
                    "device_id": device.device_id,
                    "scan_id": rejection.scan_id,
                    "code": rejection.code,
                    "error": rejection.error,
                },
            )
    now = time.time()
    await run_db(
        request,
        store.touch,
        device.device_id,
        cursor=batch.cursor,
        backlog=batch.backlog,
        version=batch.software_version,
        clock_offset=None if batch.sent_at is None else batch.sent_at - now,
    )
    state.count("scan_batches")
    state.count("scans_received", len(batch.scans))
    state.count("scans_new", len(result.new))
    state.count("scans_time_flagged", result.flagged)
    if result.new or result.out_of_scope or batch.sent_at is not None:  # counts, attempts, clock
        state.dashboard_dirty.add(device.event_id)
    if result.new:
        state.wake.set()
    return web.json_response(ack.to_json())


async def push(request: web.Request) -> web.WebSocketResponse:
    """The live channel: ticket changes as ``delta`` messages; the gate may report ``status``."""
    device = await device_of(request)
    state = request.app[STATE]
    ws = web.WebSocketResponse(heartbeat=10, max_msg_size=MAX_WS_MESSAGE)
    await ws.prepare(request)
    sub = state.gates.add(device.event_id, ws, request, device.device_id)
    hello = {"type": "hello", "cursor": str(state.pushed_cursor), "device_id": device.device_id}
    sub.queue.put_nowait(json.dumps(hello))
    state.dashboard_dirty.add(device.event_id)
    state.wake.set()
    try:
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            try:
                data = json.loads(msg.data)
                if not (isinstance(data, dict) and data.get("type") == "status"):
                    continue
                status = StatusMessage.parse(data)
            except RecursionError:
                status = None
                reply = "message is nested too deeply"
            except WireError as exc:
                status, reply = None, str(exc)
            except ValueError:
                status, reply = None, "message is not JSON"
            if status is None:
                state.gates.publish_to(sub, json.dumps({"type": "error", "error": reply}))
                continue
            await run_db(
                request,
                request.app[STORE].touch,
                device.device_id,
                cursor=status.cursor,
                backlog=status.backlog,
            )
            state.dashboard_dirty.add(device.event_id)
    finally:
        state.gates.remove(sub)
        state.dashboard_dirty.add(device.event_id)
    return ws


async def change_watcher(app: web.Application) -> None:
    """Push ticket changes to connected gates as they commit (in this process or another).

    Only ever queues messages (``FanOut.publish``): a gate that does not read is dropped, the
    others keep receiving; a failure for one event is logged and the others still get theirs.
    """
    state, store = app[STATE], app[STORE]
    state.pushed_cursor = await run_db(app, store.cursor)
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(state.wake.wait(), PUSH_INTERVAL)
        state.wake.clear()
        try:
            head = await run_db(app, store.cursor)
        except Exception:
            log.exception("change watcher: cannot read the cursor; retrying")
            await asyncio.sleep(1)
            continue
        if head <= state.pushed_cursor:
            continue
        after = state.pushed_cursor
        for event_id in state.gates.events():
            try:
                page = await run_db(app, store.deltas, event_id, after, MAX_DELTA_PAGE)
            except Exception:
                log.exception("change watcher: deltas failed", extra={"event_id": event_id})
                continue
            if page.more:  # too much for one message: gates fetch /api/deltas themselves
                message = {"type": "behind", "cursor": str(head)}
            else:
                message = page.to_json()
                message["cursor"] = str(head)
            state.count("push_messages", state.gates.publish(event_id, json.dumps(message)))
        state.pushed_cursor = head


async def dashboard_pusher(app: web.Application) -> None:
    """Send fresh stats to open dashboards when something changed; never waits for a client."""
    state, store = app[STATE], app[STORE]
    last_devices = 0.0
    while True:
        await asyncio.sleep(state.settings.dashboard_debounce)
        now = time.monotonic()
        if now - last_devices > 5:  # online/offline changes by time alone
            state.dashboard_dirty.update(state.dashboards.events())
            last_devices = now
        dirty, state.dashboard_dirty = state.dashboard_dirty, set()
        for event_id in dirty:
            if not any(True for _ in state.dashboards.subscribers(event_id)):
                continue
            try:
                stats = await run_db(app, store.stats, event_id, state.online_ids())
                state.dashboards.publish(event_id, json.dumps({"type": "stats", "stats": stats}))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("dashboard stats failed", extra={"event_id": event_id})


# ---------------------------------------------------------------- organisers


async def login_page(request: web.Request) -> web.Response:
    return web.FileResponse(HERE / "dashboard" / "login.html")  # type: ignore[return-value]


def _set_session(request: web.Request, response: web.StreamResponse, token: str) -> None:
    secure = request.app[STATE].settings.secure_cookies
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="Strict",
        max_age=12 * 3600,
        secure=request.secure if secure is None else secure,
    )


async def login(request: web.Request) -> web.Response:
    refuse_cross_site(request)
    is_json = request.content_type == "application/json"
    if is_json:
        data = await read_json(request)
        if not isinstance(data, dict):
            raise WireError("body must be a JSON object")
    else:
        data = dict(await request.post())
    username, password = data.get("username", ""), data.get("password", "")
    if not isinstance(username, str) or not 0 < len(username) <= MAX_USERNAME:
        raise WireError(f"'username' must be text of 1 to {MAX_USERNAME} characters")
    if not isinstance(password, str) or len(password) > MAX_PASSWORD:
        raise WireError(f"'password' must be text of at most {MAX_PASSWORD} characters")
    for name, value in (("username", username), ("password", password)):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise WireError(f"{name!r} must be valid Unicode text") from None
        if "\x00" in value:
            raise WireError(f"{name!r} must not contain NUL characters")
    try:
        right = await check_password(request, username, password)
    except web.HTTPTooManyRequests as exc:
        if is_json:
            raise
        raise web.HTTPFound(f"/login?locked={exc.headers.get('Retry-After', '1')}") from None
    if not right:
        if is_json:
            return error(401, "wrong username or password", "wrong_credentials")
        raise web.HTTPFound("/login?failed=1")
    token = await run_db(request, request.app[STORE].organisers.create_session, username)
    if is_json:
        response = web.json_response({"ok": True})
        _set_session(request, response, token)
        return response
    redirect = web.HTTPFound("/")
    _set_session(request, redirect, token)
    raise redirect


async def logout(request: web.Request) -> web.Response:
    refuse_cross_site(request)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await run_db(request, request.app[STORE].logout, token)
    redirect = web.HTTPFound("/login")
    redirect.del_cookie(SESSION_COOKIE)
    raise redirect


async def dashboard(request: web.Request) -> web.StreamResponse:
    if await organiser_of(request) is None:
        raise web.HTTPFound("/login")
    return web.FileResponse(HERE / "dashboard" / "index.html")


async def dashboard_asset(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    if name not in ("dashboard.js", "dashboard.css"):
        raise web.HTTPNotFound(reason="no such asset")
    return web.FileResponse(HERE / "dashboard" / name)


async def _event_param(request: web.Request) -> str:
    event_id = query_text(request, "event_id")
    if event_id:
        return event_id
    events = await run_db(request, request.app[STORE].events)
    if not events:
        raise web.HTTPNotFound(reason="no event imported yet")
    return events[0]


async def dashboard_ws(request: web.Request) -> web.WebSocketResponse:
    refuse_cross_site(request)
    user = await require_organiser(request)
    event_id = await _event_param(request)
    state = request.app[STATE]
    ws = web.WebSocketResponse(heartbeat=20, max_msg_size=4096)
    await ws.prepare(request)
    sub = state.dashboards.add(event_id, ws, request, user)
    try:
        stats = await run_db(request, request.app[STORE].stats, event_id, state.online_ids())
        state.dashboards.publish_to(sub, json.dumps({"type": "stats", "stats": stats}))
        async for _msg in ws:
            pass
    finally:
        state.dashboards.remove(sub)
    return ws


async def api_stats(request: web.Request) -> web.Response:
    await require_organiser(request)
    event_id = await _event_param(request)
    stats = await run_db(request, request.app[STORE].stats, event_id, request.app[STATE].online_ids())
    return web.json_response(stats)


async def api_devices(request: web.Request) -> web.Response:
    await require_organiser(request)
    devices = await run_db(request, request.app[STORE].devices, request.app[STATE].online_ids())
    return web.json_response({"devices": devices})


async def api_revoke(request: web.Request) -> web.Response:
    refuse_cross_site(request)
    user = await require_organiser(request)
    device_id = request.match_info["device_id"]
    if not await run_db(request, request.app[STORE].revoke_device, device_id):
        return error(404, f"no active device {device_id[:64]!r}", "not_found")
    await request.app[STATE].gates.close_owner(device_id, 4003, "device revoked")
    log.info("device revoked", extra={"device_id": device_id, "organiser": user})
    return web.json_response({"revoked": device_id})


async def metrics(request: web.Request) -> web.Response:
    await require_organiser(request)
    store, state = request.app[STORE], request.app[STATE]
    events = await run_db(request, store.events)
    stats = [await run_db(request, store.stats, e, state.online_ids()) for e in events]
    return web.Response(
        text=render_metrics(stats, state.counters), content_type="text/plain", charset="utf-8"
    )


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


# ---------------------------------------------------------------- app


def create_app(
    store: ServerStore, feed: FeedSettings | None = None, settings: ServerSettings | None = None
) -> web.Application:
    """The server; with ``feed`` it also pulls ticket changes from the box office."""
    app = web.Application(middlewares=[errors_middleware], client_max_size=MAX_BODY)
    app[STORE] = store
    app[STATE] = State(settings or ServerSettings())
    app.add_routes(
        [
            web.post("/api/enrol", enrol),
            web.get("/api/snapshot", snapshot),
            web.get("/api/deltas", deltas),
            web.post("/api/scans", scans),
            web.get("/api/push", push),
            web.get("/api/stats", api_stats),
            web.get("/api/devices", api_devices),
            web.post("/api/devices/{device_id}/revoke", api_revoke),
            web.get("/metrics", metrics),
            web.get("/healthz", healthz),
            web.get("/login", login_page),
            web.post("/login", login),
            web.post("/logout", logout),
            web.get("/", dashboard),
            web.get("/dashboard/ws", dashboard_ws),
            web.get("/static/{name}", dashboard_asset),
        ]
    )
    add_staff_routes(app, push=push, authenticate=device_of)

    async def start(app: web.Application) -> None:
        state = app[STATE]
        state.wake = asyncio.Event()
        state.tasks = [
            asyncio.create_task(change_watcher(app), name="change-watcher"),
            asyncio.create_task(dashboard_pusher(app), name="dashboard-pusher"),
        ]
        if feed is not None:
            state.feed = FeedPuller(store, feed, on_change=state.wake.set)
            state.tasks.append(asyncio.create_task(state.feed.run(), name="feed-puller"))

    async def stop(app: web.Application) -> None:
        state = app[STATE]
        for task in state.tasks:
            task.cancel()
        for task in state.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        # A dead peer must not hold up shutdown: each close is bounded (FanOut.CLOSE_TIMEOUT).
        await state.gates.close_all(1001, "server shutting down")
        await state.dashboards.close_all(1001, "server shutting down")

    async def cleanup(app: web.Application) -> None:
        state = app[STATE]
        state.executor.shutdown(wait=True)
        state.password_executor.shutdown(wait=True)

    app.on_startup.append(start)
    app.on_shutdown.append(stop)
    app.on_cleanup.append(cleanup)
    return app
