"""The FastAPI application: routes, error handling, and the background loops of each process.

Every process runs the same small loops (sweeper, delivery); they are safe to run in
several processes at once because each step claims its work with a conditional UPDATE.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from box_office.api import (
    account_routes,
    buyer_routes,
    device_routes,
    docs,
    errors,
    feed_routes,
    live,
    organiser_routes,
)
from box_office.api.admission import AdmissionMiddleware
from box_office.api.aftersales_routes import router as aftersales_router
from box_office.api.deps import AppState
from box_office.api.promotion_routes import pages as promotion_pages
from box_office.api.promotion_routes import router as promotion_router
from box_office.api.support_routes import router as support_api
from box_office.buyers.otp import Throttled
from box_office.config import Settings, check_safe
from box_office.context import Context
from box_office.notify.delivery import deliver_pending
from box_office.notify.mail import Mailer
from box_office.notify.sms import SmsGateway
from box_office.payments.provider import ProviderRegistry
from box_office.payments.sandbox import bank as sandbox_bank
from box_office.promotions import group_notices
from box_office.sales import views
from box_office.sales.order_watch import OrderWatch
from box_office.sales.sweeper import run_sweeps
from box_office.support.pages import router as support_pages
from box_office.web import buyer_pages, passkey_pages
from box_office.web import live_routes as live_ticket_page
from box_office.web import routes as seatmap_page
from box_office.web.aftersales_pages import router as aftersales_pages_router
from box_office.wiring import default_mailer, default_providers, default_sms

log = logging.getLogger(__name__)
DATABASE_THREADS = 48

DESCRIPTION = """Encore box office: venues and seat maps, events and sessions, inventory with expiring
holds, orders and payment, ticket issuing and the venue feed (DESIGN.md, contract 5).

Authentication: `Authorization: Bearer <token>` with an organiser token (`POST /api/organisers`),
a buyer token (`POST /api/accounts`) or a feed-client token (`POST /api/events/{id}/feed-clients`).
Times are Unix seconds, money is integer cents. Errors are JSON `{"detail": ..., "code": ...}`.
"""


async def _loop(interval: float, work: Any, *args: Any) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await run_in_threadpool(work, *args)
        except Exception:  # keep the loop alive; the next round retries
            log.exception("background task %s failed", getattr(work, "__name__", work))


def create_app(
    settings: Settings,
    *,
    mailer: Mailer | None = None,
    sms: SmsGateway | None = None,
    providers: ProviderRegistry | None = None,
    background: bool = True,
) -> FastAPI:
    """The API. ``background=False`` leaves sweeps and delivery to ``box-office background``
    (what ``box-office serve`` does: its HTTP workers only serve requests)."""
    check_safe(settings)
    ctx = Context.from_settings(settings)
    state = AppState(
        ctx=ctx,
        providers=providers if providers is not None else default_providers(settings, ctx),
        mailer=mailer or default_mailer(settings),
        sms=sms or default_sms(settings),
        order_watch=OrderWatch(partial(views.order_statuses, ctx)),
    )

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Sync routes run in anyio's thread pool. Calls that wait on the payment provider have
        # threads of their own (AppState.with_provider), so these threads only ever wait on the
        # database: a few more than the connection pool keeps it busy without the GIL
        # thrashing between hundreds of threads.
        anyio.to_thread.current_default_thread_limiter().total_tokens = DATABASE_THREADS
        tasks = []
        if background:
            tasks = [
                asyncio.create_task(_loop(settings.sweep_interval, run_sweeps, ctx, state.providers)),
                asyncio.create_task(
                    _loop(settings.delivery_interval, deliver_pending, ctx, state.mailer, state.sms)
                ),
                asyncio.create_task(_loop(5.0, _app.state.console_flush, ctx)),
                asyncio.create_task(
                    _loop(settings.delivery_interval, group_notices.deliver, ctx, state.mailer, state.sms)
                ),
            ]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            # A round already running in a worker thread finishes first (anyio does not abandon
            # it): only then is the engine disposed, so no round runs on a dropped database.
            await asyncio.gather(*tasks, return_exceptions=True)
            state.provider_threads.shutdown(wait=False, cancel_futures=True)
            ctx.db.dispose()

    app = FastAPI(
        title="Encore box office", version="1.0", description=DESCRIPTION, lifespan=lifespan, **docs.SETTINGS
    )
    app.state.box_office = state
    app.add_middleware(
        AdmissionMiddleware,
        limit=settings.max_inflight,
        queue=settings.max_queue,
        secret=settings.secret_key,
    )
    app.include_router(organiser_routes.router)
    app.include_router(buyer_routes.router)
    app.include_router(account_routes.router)  # issue #13: sign-in by code, step-up
    app.include_router(device_routes.router)
    app.include_router(live.router)
    app.include_router(promotion_router)
    app.include_router(promotion_pages)
    app.include_router(feed_routes.router)
    app.include_router(aftersales_router)
    app.include_router(aftersales_pages_router)
    if settings.sandbox:  # a development tool: no /sandbox route, nor its OpenAPI paths, otherwise
        app.include_router(sandbox_bank.build_router(ctx))
    app.include_router(seatmap_page.router)
    app.include_router(live_ticket_page.router)
    app.include_router(support_api)
    app.include_router(support_pages)
    app.include_router(buyer_pages.router)  # issue #13: /me/ pages (cookie session, CSRF forms)
    app.include_router(passkey_pages.router)

    _install_console(app)
    errors.install(app)
    app.add_exception_handler(Throttled, account_routes.throttled)
    docs.install(app)
    if state.providers.names:
        _document_providers(app, state.providers.names)

    @app.get("/healthz", tags=["ops"], summary="Liveness and database check")
    def health() -> dict[str, str]:
        ctx.db.ping()
        return {"status": "ok"}

    return app


def _document_providers(app: FastAPI, names: list[str]) -> None:
    """Say in the OpenAPI which payment providers this box office offers (an enum, not any name).

    The set is configuration, so the schema models cannot know it; without the enum a client (or
    schemathesis) reads any lowercase word as valid and is surprised by `unknown_provider`.
    """
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schemas = generate().get("components", {}).get("schemas", {})
            for model, field in (("PaymentIn", "provider"), ("OrderIn", "pay_with")):
                prop = schemas.get(model, {}).get("properties", {}).get(field)
                if prop is None:
                    continue
                target = next((s for s in prop.get("anyOf", []) if s.get("type") == "string"), prop)
                target["enum"] = names
                target.pop("pattern", None)
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]


def _install_console(app: FastAPI) -> None:
    """The promoter's console (box_office/console/) and its analytics API; seat-map views are
    counted for the funnel and written by the console's view counter. Also /metrics
    (box_office/observability/metrics.py) and request ids for the JSON logs."""
    from box_office.console import api_routes as console_api
    from box_office.console import pages as console_pages
    from box_office.observability import logs as request_logs
    from box_office.observability import metrics as prometheus_metrics

    console_pages.install(app)
    app.include_router(console_api.router)
    prometheus_metrics.install(app, app.state.box_office.ctx)
    app.add_middleware(request_logs.RequestIdMiddleware)
