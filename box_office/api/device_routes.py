"""Routes binding a ticket to the buyer's phone, for codes that rotate every 15 s (issue #16)."""

from __future__ import annotations

import logging
import smtplib
from typing import Annotated

from fastapi import APIRouter, Header, status
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from box_office.aftersales import device_binding
from box_office.api import errors
from box_office.api.deps import BuyerId, State, TicketId
from box_office.api.schemas import Strict
from box_office.buyers.accounts import spend_proof
from box_office.core.device_binding import STEP_UP_SECONDS
from box_office.errors import Forbidden, Unavailable
from box_office.notify.step_up import step_up_email

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api", tags=["buyers"])


class DeviceKeyIn(Strict):
    public_key: Annotated[
        str,
        Field(
            pattern=r"^[A-Za-z0-9_-]{43}=?$",
            description="The phone's raw 32-byte Ed25519 public key, base64url (padding optional)",
        ),
    ]
    step_up_code: Annotated[
        str | None,
        Field(
            pattern=r"^[0-9]{6}$",
            description="To move a bound ticket to this key (a new phone): the code e-mailed by "
            "`POST /api/tickets/{ticket_id}/device-key/step-up`",
        ),
    ] = None


@router.post(
    "/tickets/{ticket_id}/device-key",
    summary="Bind a ticket to the buyer's phone: re-issued with the device key, shown as rotating codes",
    description=(
        "The ticket is re-issued with a higher version carrying the key (claim `dk`); the old "
        "version is revoked on the venue feed. The same key again changes nothing. Another key "
        "(a new phone) is refused 409 `rebind_needs_step_up` unless `step_up_code` is the code "
        "e-mailed to the buyer (403 `step_up_wrong`, `step_up_expired`, `step_up_locked` after "
        "5 wrong tries, `step_up_missing`)."
    ),
    responses=errors.responses(401, 403, 404, 409, 422),
)
async def bind_device_key(
    ticket_id: TicketId,
    body: DeviceKeyIn,
    buyer: BuyerId,
    app: State,
    x_step_up: Annotated[
        str | None,
        Header(
            min_length=1,
            max_length=100,
            description="Instead of `step_up_code`: a proof of a fresh SMS code or passkey "
            "(`POST /api/me/step-up/verify`), used up by this request",
        ),
    ] = None,
) -> dict[str, object]:
    stepped_up = False
    if x_step_up is not None:
        if not await run_in_threadpool(spend_proof, app.ctx, buyer, x_step_up):
            raise Forbidden("the step-up proof is unknown, used or older than 5 minutes", "step_up_wrong")
        stepped_up = True
    return await run_in_threadpool(
        device_binding.bind_device, app.ctx, buyer, ticket_id, body.public_key, body.step_up_code, stepped_up
    )


@router.post(
    "/tickets/{ticket_id}/device-key/step-up",
    summary="E-mail the buyer a 6-digit code (10 minutes) to move a bound ticket to another phone",
    description=(
        "At most 3 codes per ticket in 15 minutes and 10 per account in an hour: beyond that 429 "
        "`step_up_too_many_ticket` / `step_up_too_many_account`, with `Retry-After` (and "
        "`retry_after` in the body) in seconds."
    ),
    status_code=status.HTTP_202_ACCEPTED,
    responses=errors.responses(401, 403, 404, 409, 429),
)
async def request_step_up(ticket_id: TicketId, buyer: BuyerId, app: State) -> dict[str, object]:
    recipient, code = await run_in_threadpool(device_binding.request_step_up, app.ctx, buyer, ticket_id)
    message = step_up_email(app.ctx.settings.mail_from, recipient, ticket_id, code)
    try:
        await app.with_provider(app.mailer.send, message)
    except (OSError, smtplib.SMTPException):
        log.exception("the step-up code for ticket %s could not be e-mailed", ticket_id)
        told = "the code could not be e-mailed now: try again in a minute"
        raise Unavailable(told, "mail_unavailable") from None
    return {"sent": True, "expires_in": STEP_UP_SECONDS}
