"""Prometheus metrics of the box office through ``prometheus_client``, at ``/metrics``.

- ``box_office_requests_total{method,route,status}`` and ``box_office_request_seconds{method,route}``
  (a histogram), counted by an ASGI middleware with the route's template, never the raw path
  (ids in paths would make one series per order);
- ``box_office_holds_active``, ``box_office_orders{status}``, ``box_office_payments{status}``:
  read from the database at scrape time (a few COUNT queries), so every process reports the same;
- ``box_office_waiting_room_length`` and ``box_office_requests_admitted`` from this process's
  admission gate (api/admission.py): the buyers waiting in line right now.

Each app has a registry of its own (tests start several apps in one process).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from box_office.context import Context
from box_office.store.models import Hold, Order, Payment


class _Stock(Collector):
    def __init__(self, ctx: Context, app: FastAPI) -> None:
        self.ctx = ctx
        self.app = app

    def collect(self) -> Iterator[Metric]:
        now = self.ctx.now()
        with self.ctx.db.read() as db:
            holds = db.scalar(
                select(func.count()).select_from(Hold).where(Hold.status == "active", Hold.expires_at >= now)
            )
            orders = db.execute(select(Order.status, func.count()).group_by(Order.status)).all()
            payments = db.execute(select(Payment.status, func.count()).group_by(Payment.status)).all()
        yield GaugeMetricFamily(
            "box_office_holds_active", "Holds active now (not expired).", value=holds or 0
        )
        family = GaugeMetricFamily("box_office_orders", "Orders by recorded status.", labels=["status"])
        for status, count in orders:
            family.add_metric([status], count)
        yield family
        family = GaugeMetricFamily("box_office_payments", "Payments by status.", labels=["status"])
        for status, count in payments:
            family.add_metric([status], count)
        yield family
        gate = admission_gate(self.app)
        waiting = GaugeMetricFamily(
            "box_office_waiting_room_length", "Buying requests waiting in this process's line now."
        )
        waiting.add_metric([], gate.waiting if gate is not None else 0)
        yield waiting
        running = GaugeMetricFamily("box_office_requests_admitted", "Buying requests being served now.")
        running.add_metric([], gate.running if gate is not None else 0)
        yield running


def admission_gate(app: Any) -> Any:
    """This process's admission gate, found in the built middleware stack (None before the first request)."""
    layer: Any = getattr(app, "middleware_stack", app)
    for _ in range(20):
        if layer is None:
            return None
        gate = getattr(layer, "gate", None)
        if gate is not None:
            return gate
        layer = getattr(layer, "app", None)
    return None


class MetricsMiddleware:
    """Counts every HTTP request by method, route template and status, and times it."""

    def __init__(self, app: ASGIApp, requests: Counter, latency: Histogram, peaks: Any = None) -> None:
        self.app = app
        self.requests = requests
        self.latency = latency
        self.peaks = peaks
        self._gate: Any = None

    def note_waiting(self) -> None:
        """Note the waiting room's length as each request arrives (the console charts the peaks)."""
        if self.peaks is None:
            return
        if self._gate is None:
            self._gate = admission_gate(self.app)
        if self._gate is not None:
            self.peaks.note(time.time(), self._gate.waiting)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]
        self.note_waiting()

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "GET")
            self.requests.labels(method, template, str(status[0])).inc()
            self.latency.labels(method, template).observe(time.perf_counter() - started)


def install(app: FastAPI, ctx: Context) -> CollectorRegistry:
    registry = CollectorRegistry()
    requests = Counter(
        "box_office_requests", "HTTP requests served.", ["method", "route", "status"], registry=registry
    )
    latency = Histogram(
        "box_office_request_seconds",
        "Time to answer an HTTP request.",
        ["method", "route"],
        registry=registry,
        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    )
    registry.register(_Stock(ctx, app))
    peaks = getattr(app.state, "waiting_peaks", None)
    app.add_middleware(MetricsMiddleware, requests=requests, latency=latency, peaks=peaks)

    @app.get("/metrics", include_in_schema=False)
    def metrics(request: Request) -> Response:
        admin = ctx.settings.admin_token
        if admin is not None and request.headers.get("x-admin-token") != admin:
            return Response("metrics need the X-Admin-Token header", status_code=403)
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    app.state.metrics_registry = registry
    return registry
