"""Routes for buyers' accounts (issue #13): sign in with an SMS or e-mail code, step-up.

One verified number is one account; ``POST /api/auth/verify`` answers a bearer token and a
device id signed by the server (send it back as ``X-Device-Id``: per-device limits count it,
and a value the client made up counts as no device).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from box_office.api import errors
from box_office.api.deps import BuyerId, Id, OrganiserId, State
from box_office.api.schemas import Strict
from box_office.buyers import accounts, devices, otp, step_up_rules
from box_office.buyers.delivery import deliver
from box_office.core import otp as otp_rules
from box_office.errors import Forbidden

router = APIRouter(prefix="/api", tags=["buyer accounts"])

Lang = Annotated[Literal["zh", "en"], Field(description="Language of the SMS")]
DeviceHeader = Annotated[
    str | None, Header(min_length=1, max_length=100, description="The device id this server issued")
]


class SmsIn(Strict):
    phone: Annotated[
        str,
        Field(
            min_length=5,
            max_length=32,
            pattern=otp_rules.PHONE_PATTERN,
            description="Mobile number: 11 digits for mainland China, else + and the country code",
        ),
    ]
    lang: Lang = "zh"


class EmailIn(Strict):
    email: Annotated[str, Field(min_length=6, max_length=254, pattern=otp_rules.EMAIL_PATTERN)]
    lang: Lang = "en"


class VerifyIn(Strict):
    challenge: Annotated[str, Field(min_length=1, max_length=64)]
    code: Annotated[str, Field(min_length=1, max_length=16)]


class StepUpIn(Strict):
    action: Literal["refund", "transfer", "holder", "payment", "account"] = "account"
    channel: Literal["sms", "email"] | None = None
    lang: Lang = "zh"


class StepUpRuleIn(Strict):
    above_cents: Annotated[
        int, Field(ge=0, le=100_000_000, description="Orders above this amount need a step-up to pay")
    ]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def device_of(app_settings: Any, header: str | None, request: Request) -> str | None:
    return devices.verified(app_settings, header) or devices.verified(
        app_settings, request.cookies.get(devices.COOKIE)
    )


async def throttled(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, otp.Throttled)
    answer = errors.error_response(429, exc.message, exc.code, retry_after=exc.retry_after)
    answer.headers["Retry-After"] = str(exc.retry_after)
    return answer


async def _send(
    app: Any, request: Request, channel: str, raw: str, lang: str, header: str | None
) -> dict[str, Any]:
    settings = app.ctx.settings
    target = otp.normalised(channel, raw)
    device = device_of(settings, header, request)
    issued = None
    if device is None:
        issued = devices.issue(settings)
        device = devices.verified(settings, issued)
    assert device is not None
    sent = await run_in_threadpool(
        otp.create, app.ctx, channel, target, purpose="sign_in", ip=client_ip(request), device=device
    )
    await app.with_provider(deliver, app.ctx, app.mailer, app.sms, sent, lang)
    answer = sent.answer()
    if issued is not None:
        answer["device_id"] = issued
    return answer


@router.post(
    "/auth/sms",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Text a 6-digit sign-in code to a mobile number (the same answer for any number)",
    responses=errors.responses(422, 429),
)
async def send_sms_code(
    body: SmsIn, request: Request, app: State, x_device_id: DeviceHeader = None
) -> dict[str, Any]:
    return await _send(app, request, "sms", body.phone, body.lang, x_device_id)


@router.post(
    "/auth/email",
    status_code=status.HTTP_202_ACCEPTED,
    summary="E-mail a 6-digit sign-in code (for buyers without a mainland number)",
    responses=errors.responses(422, 429),
)
async def send_email_code(
    body: EmailIn, request: Request, app: State, x_device_id: DeviceHeader = None
) -> dict[str, Any]:
    return await _send(app, request, "email", body.email, body.lang, x_device_id)


@router.post(
    "/auth/verify",
    summary="Sign in (or up) with the code: a bearer token and a server-issued device id",
    description="403 `otp_wrong` (tries left in the message), `otp_locked` (after 5 wrong codes, even "
    "the right one), `otp_expired` (5 minutes), `otp_used` (a code works once), `otp_unknown`.",
    responses=errors.responses(403, 422),
)
async def verify_code(
    body: VerifyIn, request: Request, app: State, x_device_id: DeviceHeader = None
) -> dict[str, Any]:
    settings = app.ctx.settings
    checked = await run_in_threadpool(otp.check, app.ctx, body.challenge, body.code, "sign_in")
    account_id, created = await run_in_threadpool(
        accounts.account_for_identity, app.ctx, checked.channel, checked.target
    )
    device = x_device_id if devices.verified(settings, x_device_id) else devices.issue(settings)
    token = await run_in_threadpool(
        accounts.issue_token, app.ctx, account_id, "api", devices.verified(settings, device)
    )
    return {"account_id": account_id, "token": token, "device_id": device, "new_account": created}


@router.post(
    "/auth/sign-out",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke this bearer token",
    responses=errors.responses(401),
    response_class=Response,
)
async def sign_out(buyer: BuyerId, request: Request, app: State) -> Response:
    token = request.headers.get("authorization", "").partition(" ")[2]
    await run_in_threadpool(accounts.revoke, app.ctx, token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/me",
    summary="The signed-in buyer: verified number and address (masked), passkeys",
    responses=errors.responses(401),
)
async def me(buyer: BuyerId, app: State) -> dict[str, Any]:
    known = await run_in_threadpool(accounts.identities, app.ctx, buyer)
    return {
        "account_id": buyer,
        "phone": otp_rules.mask_target("sms", known["phone"]) if "phone" in known else None,
        "email": otp_rules.mask_target("email", known["email"]) if "email" in known else None,
        "passkey": await run_in_threadpool(accounts.has_passkey, app.ctx, buyer),
    }


@router.post(
    "/me/step-up",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send a step-up code to the buyer's verified number (or address)",
    responses=errors.responses(401, 403, 429),
)
async def step_up_code(
    body: StepUpIn, buyer: BuyerId, request: Request, app: State, x_device_id: DeviceHeader = None
) -> dict[str, Any]:
    known = await run_in_threadpool(accounts.identities, app.ctx, buyer)
    channel = body.channel or ("sms" if "phone" in known else "email")
    target = known.get(accounts.KIND_OF_CHANNEL[channel])
    if target is None:
        raise Forbidden(
            "this account has no verified number or address for that: sign in with one", "no_second_factor"
        )
    device = device_of(app.ctx.settings, x_device_id, request) or f"ip:{client_ip(request)}"
    sent = await run_in_threadpool(
        otp.create,
        app.ctx,
        channel,
        target,
        purpose="step_up",
        ip=client_ip(request),
        device=device,
        account_id=buyer,
    )
    await app.with_provider(deliver, app.ctx, app.mailer, app.sms, sent, body.lang, body.action)
    return sent.answer()


@router.post(
    "/me/step-up/verify",
    summary="Trade a step-up code for a proof: send it as X-Step-Up with one sensitive request (5 minutes)",
    responses=errors.responses(401, 403, 422),
)
async def step_up_verify(body: VerifyIn, buyer: BuyerId, app: State) -> dict[str, Any]:
    checked = await run_in_threadpool(otp.check, app.ctx, body.challenge, body.code, "step_up")
    if checked.account_id != buyer:
        raise Forbidden("this code was sent for another account", "otp_unknown")
    proof = await run_in_threadpool(accounts.issue_step_up, app.ctx, buyer, checked.channel)
    return {"step_up": proof, "expires_in": accounts.STEP_UP_SECONDS}


@router.put(
    "/events/{event_id}/step-up",
    tags=["catalog"],
    summary="Set the amount above which paying for an order of this event needs a step-up",
    responses=errors.responses(401, 403, 404, 422),
)
async def set_step_up_rule(
    event_id: Id, body: StepUpRuleIn, organiser: OrganiserId, app: State
) -> dict[str, Any]:
    await run_in_threadpool(step_up_rules.set_rule, app.ctx, organiser, event_id, body.above_cents)
    return {"event_id": event_id, "above_cents": body.above_cents}


__all__ = ["router", "throttled"]
