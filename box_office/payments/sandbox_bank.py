"""The sandbox bank: the "remote" side of the sandbox provider, mounted at ``/sandbox``.

It behaves like a real payment provider: merchants create payments with signed requests; the
buyer opens the payment URL (or scans its QR) and confirms; the bank then notifies the
merchant asynchronously with a signed callback, retrying until it gets a 2xx (or a 409, which
means "already had it"); merchants can query and refund. Its books are its own table.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
import secrets
from typing import Any, TypeVar

import aiohttp
from fastapi import APIRouter, BackgroundTasks, HTTPException, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import update
from sqlalchemy.orm import Session as Db
from starlette.concurrency import run_in_threadpool

from box_office.api import errors
from box_office.payments.provider import NotificationError
from box_office.payments.sandbox import check_signature, signed_headers
from box_office.services.context import Context
from box_office.store.db import changed
from box_office.store.models import SandboxPayment

log = logging.getLogger(__name__)
ModelT = TypeVar("ModelT", bound=BaseModel)
RETRY_DELAYS = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0)


class CreateBody(BaseModel):
    merchant_order: str = Field(min_length=1, max_length=100)
    amount_cents: int = Field(ge=1, le=10**10)
    currency: str = Field(min_length=3, max_length=3)
    notify_url: str = Field(min_length=1, max_length=500)


class RefundBody(BaseModel):
    amount_cents: int = Field(ge=1, le=10**10)


def _state(row: SandboxPayment) -> dict[str, Any]:
    return {
        "ref": row.ref,
        "status": row.status,
        "amount_cents": row.amount_cents,
        "refunded_cents": row.refunded_cents,
        "currency": row.currency,
        "merchant_order": row.merchant_order,
    }


def build_router(ctx: Context) -> APIRouter:
    router = APIRouter(prefix="/sandbox", tags=["sandbox payment provider"])
    secret = ctx.settings.sandbox_secret
    clients: list[aiohttp.ClientSession] = []

    async def authenticated(request: Request) -> bytes:
        body = await request.body()
        try:
            check_signature(
                secret, dict(request.headers), body or request.url.path.removeprefix("/sandbox").encode()
            )
        except NotificationError as exc:
            raise HTTPException(401, f"merchant signature: {exc}") from None
        return body

    @router.post(
        "/api/payments", summary="Create a payment (merchant, signed)", responses=errors.responses(401, 422)
    )
    async def create(request: Request) -> dict[str, Any]:
        body = _parse(CreateBody, await authenticated(request))
        ref = "sbx_" + secrets.token_hex(12)
        row = SandboxPayment(
            ref=ref,
            merchant_order=body.merchant_order,
            amount_cents=body.amount_cents,
            currency=body.currency,
            notify_url=body.notify_url,
            status="created",
            refunded_cents=0,
            created_at=ctx.now(),
        )
        await run_in_threadpool(ctx.db.write, lambda db: db.add(row))
        pay_url = f"{ctx.settings.sandbox_base}/pay/{ref}"
        return {"ref": ref, "pay_url": pay_url, "qr_text": pay_url}

    @router.get(
        "/api/payments/{ref}",
        summary="Query a payment (merchant, signed)",
        responses=errors.responses(401, 404),
    )
    async def query(ref: str, request: Request) -> dict[str, Any]:
        await authenticated(request)
        return await run_in_threadpool(lambda: _read(ctx, ref))

    @router.post(
        "/api/payments/{ref}/refund",
        summary="Refund a payment (merchant, signed)",
        responses=errors.responses(401, 404, 409, 422),
    )
    async def refund(ref: str, request: Request) -> dict[str, Any]:
        body = _parse(RefundBody, await authenticated(request))

        def work(db: Db) -> dict[str, Any]:
            row = db.get(SandboxPayment, ref)
            if row is None:
                raise HTTPException(404, f"no payment {ref}")
            if (
                row.status not in ("paid", "refunded")
                or row.refunded_cents + body.amount_cents > row.amount_cents
            ):
                raise HTTPException(409, "nothing left to refund")
            row.refunded_cents += body.amount_cents
            if row.refunded_cents == row.amount_cents:
                row.status = "refunded"
            return _state(row)

        return await run_in_threadpool(ctx.db.write, work)

    @router.get(
        "/pay/{ref}",
        response_class=HTMLResponse,
        summary="The buyer's payment page",
        responses=errors.responses(404),
    )
    async def page(ref: str) -> str:
        state = await run_in_threadpool(lambda: _read(ctx, ref))
        amount = f"{state['amount_cents'] / 100:.2f} {html.escape(state['currency'])}"
        return (
            "<!doctype html><title>Sandbox payment</title><h1>Sandbox bank</h1>"
            f"<p>Pay {amount} for order {html.escape(state['merchant_order'])}: status {state['status']}</p>"
            f'<form method="post"><button type="submit">Pay</button></form>'
        )

    @router.post("/pay/{ref}", summary="The buyer confirms the payment", responses=errors.responses(404, 409))
    async def pay(ref: str, tasks: BackgroundTasks) -> dict[str, Any]:
        def work(db: Db) -> dict[str, Any]:
            count = changed(
                db.execute(
                    update(SandboxPayment)
                    .where(SandboxPayment.ref == ref, SandboxPayment.status == "created")
                    .values(status="paid", paid_at=ctx.now())
                    .execution_options(synchronize_session=False)
                )
            )
            row = db.get(SandboxPayment, ref)
            if row is None:
                raise HTTPException(404, f"no payment {ref}")
            if not count:
                raise HTTPException(409, f"payment is already {row.status}")
            return _state(row) | {"notify_url": row.notify_url}

        state = await run_in_threadpool(ctx.db.write, work)
        tasks.add_task(_notify, clients, secret, state)
        return {k: v for k, v in state.items() if k != "notify_url"}

    return router


def _read(ctx: Context, ref: str) -> dict[str, Any]:
    with ctx.db.read() as db:
        row = db.get(SandboxPayment, ref)
        if row is None:
            raise HTTPException(404, f"no payment {ref}")
        return _state(row)


def _parse(model: type[ModelT], body: bytes) -> ModelT:
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        raise HTTPException(422, f"invalid request: {exc.errors()[0]['msg']}") from None


async def _notify(clients: list[aiohttp.ClientSession], secret: str, state: dict[str, Any]) -> None:
    """Deliver the signed "paid" notification, retrying with back-off like a real provider.

    aiohttp rather than httpx here: measured on this machine, an httpx async request cost
    about 0.6 ms of CPU and an aiohttp one 0.08 ms, once per sale.
    """
    if not clients or clients[0].closed:
        clients[:] = [aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10.0))]
    client = clients[0]
    body = json.dumps(
        {
            "notify_id": "ntf_" + secrets.token_hex(12),
            "ref": state["ref"],
            "merchant_order": state["merchant_order"],
            "status": "paid",
            "amount_cents": state["amount_cents"],
            "currency": state["currency"],
        }
    ).encode()
    for delay in RETRY_DELAYS:
        await asyncio.sleep(delay)
        try:
            async with client.post(
                state["notify_url"], data=body, headers=signed_headers(secret, body)
            ) as response:
                await response.read()
                code = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("sandbox notification to %s failed: %s", state["notify_url"], exc)
            continue
        if code < 300 or code == 409:
            return
        log.warning("sandbox notification to %s answered %s", state["notify_url"], code)
