"""The passkey calls of the buyer pages (JSON, the page session, the CSRF token in the
``X-CSRF-Token`` header): add a passkey, sign in with one, step up with one."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from box_office.api.deps import State
from box_office.buyers import accounts, passkeys
from box_office.core.otp import mask_target
from box_office.errors import ServiceError, Unauthorized
from box_office.web import buyer_session as session
from box_office.web.buyer_pages import safe_next

router = APIRouter(include_in_schema=False)
Csrf = Annotated[str | None, Header(alias="X-CSRF-Token", max_length=100)]
Credential = Annotated[dict[str, Any], Body(embed=True)]


def _refused(exc: ServiceError) -> JSONResponse:
    return JSONResponse({"detail": exc.message, "code": exc.code}, status_code=exc.status)


async def _who(app: Any, request: Request, csrf: str | None) -> accounts.SignedIn:
    session.check_csrf(app.ctx.settings, request, csrf)
    who = await run_in_threadpool(session.signed_in, app.ctx, request)
    if who is None:
        raise Unauthorized("sign in first", "signed_out")
    return who


@router.post("/me/passkeys/options")
async def add_options(request: Request, app: State, x_csrf_token: Csrf = None) -> JSONResponse:
    try:
        who = await _who(app, request, x_csrf_token)
        known = await run_in_threadpool(accounts.identities, app.ctx, who.account_id)
        label = mask_target("sms", known["phone"]) if "phone" in known else known.get("email", "Encore")
        options = await run_in_threadpool(passkeys.registration_options, app.ctx, who.account_id, label)
    except ServiceError as exc:
        return _refused(exc)
    return JSONResponse(options)


@router.post("/me/passkeys")
async def add(
    request: Request,
    app: State,
    challenge_id: Annotated[str, Body(max_length=64)],
    credential: Credential,
    x_csrf_token: Csrf = None,
) -> JSONResponse:
    try:
        who = await _who(app, request, x_csrf_token)
        made = await run_in_threadpool(passkeys.register, app.ctx, who.account_id, challenge_id, credential)
        count = await run_in_threadpool(accounts.passkey_count, app.ctx, who.account_id)
    except ServiceError as exc:
        return _refused(exc)
    return JSONResponse({"credential_id": made, "passkeys": count}, status_code=201)


@router.post("/me/passkey/{purpose}/options")
async def use_options(purpose: str, request: Request, app: State, x_csrf_token: Csrf = None) -> JSONResponse:
    try:
        if purpose == "sign-in":
            session.check_csrf(app.ctx.settings, request, x_csrf_token)
            options = await run_in_threadpool(passkeys.authentication_options, app.ctx, "sign_in", None)
        elif purpose == "step-up":
            who = await _who(app, request, x_csrf_token)
            options = await run_in_threadpool(
                passkeys.authentication_options, app.ctx, "step_up", who.account_id
            )
        else:
            return JSONResponse({"detail": "no such page", "code": "not_found"}, status_code=404)
    except ServiceError as exc:
        return _refused(exc)
    return JSONResponse(options)


@router.post("/me/passkey/{purpose}")
async def use(
    purpose: str,
    request: Request,
    app: State,
    challenge_id: Annotated[str, Body(max_length=64)],
    credential: Credential,
    next: Annotated[str, Body(max_length=500)] = "/me/orders",
    x_csrf_token: Csrf = None,
) -> JSONResponse:
    try:
        if purpose == "sign-in":
            session.check_csrf(app.ctx.settings, request, x_csrf_token)
            account_id = await run_in_threadpool(
                passkeys.authenticate, app.ctx, "sign_in", challenge_id, credential, None
            )
            response = JSONResponse({"next": safe_next(next)})
            device = session.device_cookie(app.ctx.settings, request, response).rsplit(".", 1)[0]
            await run_in_threadpool(
                session.start,
                app.ctx,
                response,
                account_id,
                device,
                request.cookies.get(session.SESSION_COOKIE),
            )
            return response
        if purpose == "step-up":
            who = await _who(app, request, x_csrf_token)
            await run_in_threadpool(
                passkeys.authenticate, app.ctx, "step_up", challenge_id, credential, who.account_id
            )
            await run_in_threadpool(
                accounts.stamp_page_step_up, app.ctx, request.cookies[session.SESSION_COOKIE]
            )
            return JSONResponse({"next": safe_next(next)})
    except ServiceError as exc:
        return _refused(exc)
    return JSONResponse({"detail": "no such page", "code": "not_found"}, status_code=404)
