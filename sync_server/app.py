"""The sync server's HTTP and WebSocket interface (aiohttp): gates, organisers, Prometheus.

Gates authenticate with their own bearer credential; organisers with a session cookie from
``/login`` (or HTTP Basic on the JSON API and ``/metrics``, for scripts and Prometheus).
Every database call runs in one worker thread (:class:`ServerStore` is synchronous).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import WSMsgType, web

from sync_server.feed import FeedPuller, FeedSettings
from sync_server.metrics import render_metrics
from sync_server.staff.routes import add_staff_routes
from sync_server.store import Device, EnrolError, NotFound, ServerStore
from wire.snapshot import SnapshotError, dumps_line, ticket_line
from wire.sync_api import MAX_BODY, MAX_DELTA_PAGE, BatchTooLarge, EnrolRequest, ScanBatch, WireError

log = logging.getLogger("sync_server")
T = TypeVar("T")
HERE = Path(__file__).parent
SESSION_COOKIE = "encore_session"
PUSH_INTERVAL = 0.25
"""How often the change watcher looks for ticket changes written by other processes (import)."""
DASHBOARD_DEBOUNCE = 0.2

STORE: web.AppKey[ServerStore] = web.AppKey("store", ServerStore)
STATE: web.AppKey[State] = web.AppKey("state", object)  # type: ignore[arg-type]


@dataclass
class State:
    """What the running server holds in memory: open sockets and counters for /metrics."""

    executor: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1, "db"))
    gates: dict[str, dict[web.WebSocketResponse, str]] = field(default_factory=dict)
    dashboards: dict[str, set[web.WebSocketResponse]] = field(default_factory=dict)
    pushed_cursor: int = 0
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    dashboard_dirty: set[str] = field(default_factory=set)
    counters: dict[str, float] = field(default_factory=dict)
    basic_cache: dict[str, tuple[str, float]] = field(default_factory=dict)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    feed: FeedPuller | None = None

    def count(self, name: str, amount: float = 1) -> None:
        self.counters[name] = self.counters.get(name, 0) + amount

    def online_ids(self) -> set[str]:
        return {device for sockets in self.gates.values() for device in sockets.values()}


async def run_db(
    request_or_app: web.Request | web.Application, fn: Callable[..., T], *args: Any, **kwargs: Any
) -> T:
    app = request_or_app.app if isinstance(request_or_app, web.Request) else request_or_app
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(app[STATE].executor, lambda: fn(*args, **kwargs))


def error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


# ---------------------------------------------------------------- middleware


@web.middleware
async def errors_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Bad input -> 4xx with a message; an unexpected failure -> 500 with a message, logged."""
    try:
        return await handler(request)
    except web.HTTPRequestEntityTooLarge:
        return error(413, f"request body larger than {MAX_BODY} bytes")
    except web.HTTPException as exc:
        if exc.status >= 400 and exc.content_type != "application/json":
            return error(exc.status, exc.reason)
        raise
    except BatchTooLarge as exc:
        return error(413, str(exc))
    except (WireError, SnapshotError) as exc:
        return error(400, str(exc))
    except Exception:
        log.exception("unexpected error on %s %s", request.method, request.path)
        return error(500, "internal error; the server logged the details")


async def read_json(request: web.Request) -> Any:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_BODY, actual_size=request.content_length)
    body = await request.read()
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise WireError(f"body is not valid JSON: {exc}") from None


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
            username, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        if await run_db(request, store.login, username, password, 60.0):
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
    req = EnrolRequest.parse(await read_json(request))
    try:
        enrolment = await run_db(
            request, request.app[STORE].enrol, req.code, req.device_name, req.software_version
        )
    except EnrolError as exc:
        request.app[STATE].count("enrol_refused")
        return error(exc.status, str(exc))
    log.info("device %s enrolled for gate %s", enrolment.device_id, enrolment.gate_id)
    return web.json_response(enrolment.to_json(), status=201)


async def snapshot(request: web.Request) -> web.StreamResponse:
    """Stream the event's snapshot as JSON Lines; ``?after=ID`` resumes after a ticket id."""
    device = await device_of(request)
    store = request.app[STORE]
    after = request.query.get("after") or None
    try:
        header = await run_db(request, store.snapshot_header, device.event_id)
    except NotFound as exc:
        return error(404, str(exc))
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
    try:
        after = int(request.query.get("after", "0"))
        limit = min(max(int(request.query.get("limit", "1000")), 1), MAX_DELTA_PAGE)
    except ValueError:
        return error(400, "'after' and 'limit' must be integers")
    page = await run_db(request, request.app[STORE].deltas, device.event_id, after, limit)
    await run_db(request, request.app[STORE].touch, device.device_id)
    return web.json_response(page.to_json())


async def scans(request: web.Request) -> web.Response:
    device = await device_of(request)
    batch = ScanBatch.parse(await read_json(request))
    store, state = request.app[STORE], request.app[STATE]
    ack, new = await run_db(request, store.ingest, device, batch)
    if batch.rejected:
        ack = replace(ack, rejected=batch.rejected)
        state.count("scans_rejected", len(batch.rejected))
        for rejection in batch.rejected:
            log.warning(
                "device %s: scan %s rejected: %s", device.device_id, rejection.scan_id, rejection.error
            )
    await run_db(
        request,
        store.touch,
        device.device_id,
        cursor=batch.cursor,
        backlog=batch.backlog,
        version=batch.software_version,
    )
    state.count("scan_batches")
    state.count("scans_received", len(batch.scans))
    state.count("scans_new", len(new))
    if new:
        state.wake.set()
        state.dashboard_dirty.add(device.event_id)
    return web.json_response(ack.to_json())


async def push(request: web.Request) -> web.WebSocketResponse:
    """The live channel: ticket changes as ``delta`` messages; the gate may report ``status``."""
    device = await device_of(request)
    state = request.app[STATE]
    ws = web.WebSocketResponse(heartbeat=10)
    await ws.prepare(request)
    state.gates.setdefault(device.event_id, {})[ws] = device.device_id
    state.dashboard_dirty.add(device.event_id)
    state.wake.set()
    await ws.send_json({"type": "hello", "cursor": str(state.pushed_cursor), "device_id": device.device_id})
    try:
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            try:
                data = json.loads(msg.data)
            except ValueError:
                await ws.send_json({"type": "error", "error": "message is not JSON"})
                continue
            if isinstance(data, dict) and data.get("type") == "status":
                backlog = data.get("backlog")
                await run_db(
                    request,
                    request.app[STORE].touch,
                    device.device_id,
                    cursor=str(data["cursor"]) if data.get("cursor") is not None else None,
                    backlog=backlog if isinstance(backlog, int) and not isinstance(backlog, bool) else None,
                )
                state.dashboard_dirty.add(device.event_id)
    finally:
        state.gates.get(device.event_id, {}).pop(ws, None)
        state.dashboard_dirty.add(device.event_id)
    return ws


async def change_watcher(app: web.Application) -> None:
    """Push ticket changes to connected gates as they commit (in this process or another)."""
    state, store = app[STATE], app[STORE]
    state.pushed_cursor = await run_db(app, store.cursor)
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(state.wake.wait(), PUSH_INTERVAL)
        state.wake.clear()
        try:
            head = await run_db(app, store.cursor)
            if head > state.pushed_cursor:
                after = state.pushed_cursor
                for event_id, sockets in list(state.gates.items()):
                    if not sockets:
                        continue
                    page = await run_db(app, store.deltas, event_id, after, MAX_DELTA_PAGE)
                    if page.more:  # too much for one message: gates fetch /api/deltas themselves
                        message = {"type": "behind", "cursor": str(head)}
                    else:
                        message = page.to_json()
                        message["cursor"] = str(head)
                    text = json.dumps(message)
                    for ws in list(sockets):
                        if not ws.closed:
                            await ws.send_str(text)
                    state.count("push_messages", len(sockets))
                state.pushed_cursor = head
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("change watcher failed; retrying")
            await asyncio.sleep(1)


async def dashboard_pusher(app: web.Application) -> None:
    state, store = app[STATE], app[STORE]
    last_devices = 0.0
    while True:
        await asyncio.sleep(DASHBOARD_DEBOUNCE)
        now = time.monotonic()
        if now - last_devices > 5:  # online/offline changes by time alone
            state.dashboard_dirty.update(state.dashboards)
            last_devices = now
        dirty, state.dashboard_dirty = state.dashboard_dirty, set()
        for event_id in dirty:
            sockets = state.dashboards.get(event_id)
            if not sockets:
                continue
            try:
                stats = await run_db(app, store.stats, event_id, state.online_ids())
            except Exception:
                log.exception("dashboard stats failed")
                continue
            text = json.dumps({"type": "stats", "stats": stats})
            for ws in list(sockets):
                if not ws.closed:
                    await ws.send_str(text)


# ---------------------------------------------------------------- organisers


async def login_page(request: web.Request) -> web.Response:
    return web.FileResponse(HERE / "dashboard" / "login.html")  # type: ignore[return-value]


async def login(request: web.Request) -> web.Response:
    if request.content_type == "application/json":
        data = await read_json(request)
        if not isinstance(data, dict):
            raise WireError("body must be a JSON object")
    else:
        data = dict(await request.post())
    username, password = str(data.get("username", "")), str(data.get("password", ""))
    token = await run_db(request, request.app[STORE].login, username, password)
    if token is None:
        if request.content_type == "application/json":
            return error(401, "wrong username or password")
        raise web.HTTPFound("/login?failed=1")
    if request.content_type == "application/json":
        response = web.json_response({"ok": True})
        response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="Strict", max_age=12 * 3600)
        return response
    redirect = web.HTTPFound("/")
    redirect.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="Strict", max_age=12 * 3600)
    raise redirect


async def logout(request: web.Request) -> web.Response:
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
    event_id = request.query.get("event_id")
    if event_id:
        return event_id
    events = await run_db(request, request.app[STORE].events)
    if not events:
        raise web.HTTPNotFound(reason="no event imported yet")
    return events[0]


async def dashboard_ws(request: web.Request) -> web.WebSocketResponse:
    await require_organiser(request)
    event_id = await _event_param(request)
    state = request.app[STATE]
    ws = web.WebSocketResponse(heartbeat=20)
    await ws.prepare(request)
    state.dashboards.setdefault(event_id, set()).add(ws)
    stats = await run_db(request, request.app[STORE].stats, event_id, state.online_ids())
    await ws.send_json({"type": "stats", "stats": stats})
    try:
        async for _msg in ws:
            pass
    finally:
        state.dashboards.get(event_id, set()).discard(ws)
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
    user = await require_organiser(request)
    device_id = request.match_info["device_id"]
    if not await run_db(request, request.app[STORE].revoke_device, device_id):
        return error(404, f"no active device {device_id!r}")
    await close_device(request.app, device_id)
    log.info("device %s revoked by %s", device_id, user)
    return web.json_response({"revoked": device_id})


async def close_device(app: web.Application, device_id: str) -> None:
    for sockets in app[STATE].gates.values():
        for ws, owner in list(sockets.items()):
            if owner == device_id:
                await ws.close(code=4003, message=b"device revoked")


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


def create_app(store: ServerStore, feed: FeedSettings | None = None) -> web.Application:
    """The server; with ``feed`` it also pulls ticket changes from the box office."""
    app = web.Application(middlewares=[errors_middleware], client_max_size=MAX_BODY)
    app[STORE] = store
    app[STATE] = State()
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
            asyncio.create_task(change_watcher(app)),
            asyncio.create_task(dashboard_pusher(app)),
        ]
        if feed is not None:
            state.feed = FeedPuller(store, feed, on_change=state.wake.set)
            state.tasks.append(asyncio.create_task(state.feed.run()))

    async def stop(app: web.Application) -> None:
        state = app[STATE]
        for task in state.tasks:
            task.cancel()
        for task in state.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        sockets = [ws for group in state.gates.values() for ws in group]
        sockets += [ws for group in state.dashboards.values() for ws in group]
        # A dead peer must not hold up shutdown: each close waits at most 2 s for its answer.
        await asyncio.gather(
            *(asyncio.wait_for(ws.close(code=1001, message=b"server shutting down"), 2) for ws in sockets),
            return_exceptions=True,
        )

    async def cleanup(app: web.Application) -> None:
        app[STATE].executor.shutdown(wait=True)

    app.on_startup.append(start)
    app.on_shutdown.append(stop)
    app.on_cleanup.append(cleanup)
    return app
