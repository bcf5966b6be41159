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
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, OperationalError
from starlette.concurrency import run_in_threadpool

from box_office.api import buyer_routes, feed_routes, live, organiser_routes
from box_office.api.admission import AdmissionMiddleware
from box_office.api.deps import AppState
from box_office.config import Settings
from box_office.notify.delivery import deliver_pending
from box_office.notify.mail import FileMailer, Mailer, SmtpMailer
from box_office.notify.sms import LogSms, SmsGateway
from box_office.payments import sandbox_bank
from box_office.payments.provider import PaymentProvider
from box_office.payments.sandbox import SandboxProvider
from box_office.services import inventory, issuing, orders
from box_office.services.context import Context
from box_office.services.errors import ServiceError
from box_office.services.order_watch import OrderWatch
from box_office.web import routes as seatmap_page

log = logging.getLogger(__name__)
DATABASE_THREADS = 48

DESCRIPTION = """Encore box office: venues and seat maps, events and sessions, inventory with expiring
holds, orders and payment, ticket issuing and the venue feed (DESIGN.md, contract 5).

Authentication: `Authorization: Bearer <token>` with an organiser token (`POST /api/organisers`),
a buyer token (`POST /api/accounts`) or a feed-client token (`POST /api/events/{id}/feed-clients`).
Times are Unix seconds, money is integer cents. Errors are JSON `{"detail": ..., "code": ...}`.
"""


def run_sweeps(ctx: Context, provider: PaymentProvider) -> None:
    """One round of housekeeping: expire holds and orders, retry refunds, finish issuing."""
    inventory.sweep_holds(ctx)
    orders.sweep_orders(ctx)
    orders.settle_refunds(ctx, provider)
    issuing.issue_pending(ctx)


async def _loop(interval: float, work: Any, *args: Any) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await run_in_threadpool(work, *args)
        except Exception:  # keep the loop alive; the next round retries
            log.exception("background task %s failed", getattr(work, "__name__", work))


def default_mailer(settings: Settings) -> Mailer:
    if settings.smtp_host:
        return SmtpMailer(settings.smtp_host, settings.smtp_port)
    return FileMailer(settings.state_dir / "mail")


def default_provider(settings: Settings) -> PaymentProvider:
    return SandboxProvider(settings.sandbox_base, settings.sandbox_secret)


def default_sms(settings: Settings) -> SmsGateway:
    return LogSms(settings.state_dir / "sms.log")


def create_app(
    settings: Settings,
    *,
    mailer: Mailer | None = None,
    sms: SmsGateway | None = None,
    provider: PaymentProvider | None = None,
    background: bool = True,
) -> FastAPI:
    """The API. ``background=False`` leaves sweeps and delivery to ``box-office background``
    (what ``box-office serve`` does: its HTTP workers only serve requests)."""
    ctx = Context.from_settings(settings)
    state = AppState(
        ctx=ctx,
        provider=provider or default_provider(settings),
        mailer=mailer or default_mailer(settings),
        sms=sms or default_sms(settings),
        order_watch=OrderWatch(partial(orders.order_statuses, ctx)),
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
                asyncio.create_task(_loop(settings.sweep_interval, run_sweeps, ctx, state.provider)),
                asyncio.create_task(
                    _loop(settings.delivery_interval, deliver_pending, ctx, state.mailer, state.sms)
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

    app = FastAPI(title="Encore box office", version="1.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.box_office = state
    app.add_middleware(
        AdmissionMiddleware,
        limit=settings.max_inflight,
        queue=settings.max_queue,
        secret=settings.secret_key,
    )
    app.include_router(organiser_routes.router)
    app.include_router(buyer_routes.router)
    app.include_router(live.router)
    app.include_router(feed_routes.router)
    app.include_router(sandbox_bank.build_router(ctx))
    app.include_router(seatmap_page.router)

    @app.exception_handler(ServiceError)
    async def service_error(_request: Request, exc: ServiceError) -> JSONResponse:
        return JSONResponse({"detail": exc.message, "code": exc.code}, status_code=exc.status)

    @app.exception_handler(DataError)
    async def data_error(_request: Request, exc: DataError) -> JSONResponse:
        # The database refused a value as data (e.g. a NUL character in text on PostgreSQL):
        # that is bad input, not a server fault.
        return JSONResponse(
            {"detail": "a value in the request cannot be stored or looked up", "code": "invalid"}, 422
        )

    @app.exception_handler(OperationalError)
    async def database_unavailable(_request: Request, exc: OperationalError) -> JSONResponse:
        # The database refused or dropped the connection (restarting, out of connections):
        # a temporary condition to retry, said as such, not an internal error with a traceback.
        log.warning("database unavailable: %s", str(exc.orig).splitlines()[0] if exc.orig else exc)
        return JSONResponse(
            {
                "detail": "the box office cannot reach its database right now: try again shortly",
                "code": "unavailable",
            },
            status_code=503,
            headers={"Retry-After": "2"},
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return JSONResponse(
            {
                "detail": f"{where}: {first.get('msg', 'invalid request')}",
                "code": "invalid",
                "errors": _plain(errors),
            },
            status_code=422,
        )

    @app.get("/healthz", tags=["ops"], summary="Liveness and database check")
    def health() -> dict[str, str]:
        from sqlalchemy import text

        with ctx.db.read() as db:
            db.execute(text("SELECT 1"))
        return {"status": "ok"}

    return app


def _plain(errors: Any) -> Any:
    """Validation errors made JSON-safe (pydantic may put exceptions or bytes in ``ctx``/``input``)."""
    out = []
    for error in errors[:20]:
        out.append({"loc": [str(p) for p in error.get("loc", ())], "msg": str(error.get("msg", ""))})
    return out
