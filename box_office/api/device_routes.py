"""Route binding a ticket to the buyer's phone, for codes that rotate every 15 s (issue #16)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from box_office.aftersales import device_binding
from box_office.api import errors
from box_office.api.deps import BuyerId, State, TicketId
from box_office.api.schemas import Strict

router = APIRouter(prefix="/api", tags=["buyers"])


class DeviceKeyIn(Strict):
    public_key: Annotated[
        str,
        Field(
            min_length=43,
            max_length=44,
            description="The phone's raw 32-byte Ed25519 public key, base64url (padding optional)",
        ),
    ]


@router.post(
    "/tickets/{ticket_id}/device-key",
    summary="Bind a ticket to the buyer's phone: re-issued with the device key, shown as rotating codes",
    description=(
        "The ticket is re-issued with a higher version carrying the key (claim `dk`); the old "
        "version is revoked on the venue feed. The same key again changes nothing. Another key "
        "(a new phone) is refused `rebind_needs_step_up` until buyers can confirm it (issue #13)."
    ),
    responses=errors.responses(401, 403, 404, 409, 422),
)
async def bind_device_key(
    ticket_id: TicketId, body: DeviceKeyIn, buyer: BuyerId, app: State
) -> dict[str, object]:
    return await run_in_threadpool(device_binding.bind_device, app.ctx, buyer, ticket_id, body.public_key)
