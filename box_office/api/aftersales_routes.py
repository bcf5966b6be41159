"""After-sales routes: refund policies, refund previews and requests, the promoter's queue."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response, status
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from box_office.aftersales import bulk, exchanges, invoices, refund_requests, refund_terms, transfers
from box_office.api import errors
from box_office.api.deps import BuyerId, Id, OrganiserId, State, TicketId
from box_office.api.schemas import EMAIL_PATTERN, Cents, HolderIn, Strict

router = APIRouter(prefix="/api")
"""Tagged per route by who calls it (buyers, organisers): the tag picks the token in the
conformance tests, and groups the operations in /docs."""

TicketIds = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=36)]], Field(min_length=1, max_length=100)
]
Hours = Annotated[float, Field(ge=0, le=100_000)]


class TierIn(Strict):
    hours_before: Hours = Field(description="the tier applies from this many hours before the show")
    percent: int = Field(ge=0, le=100)


class RefundPolicyIn(Strict):
    tiers: list[TierIn] = Field(
        max_length=20, description="percentage by time before the show; below the last tier: no refund"
    )
    grace_hours: Hours = Field(0, description="full refund, no fee, for this long after purchase")
    cutoff_hours: Hours = Field(0, description="no refund right in the last hours before the show")
    fee_cents: Cents = Field(0, description="flat fee kept per ticket refunded")
    scope: Literal["ticket", "order"] = Field("ticket", description="per ticket, or whole order only")
    once_per_account: bool = Field(False, description="one refund right per account per show")


class RefundRequestIn(Strict):
    ticket_ids: TicketIds | None = Field(None, description="tickets to refund; all of the order's if absent")


class InvoiceIn(Strict):
    title_type: Literal["individual", "company"] = Field(description="个人 or 企业 title")
    title: str = Field(min_length=1, max_length=200, description="the buyer's name or the company's name")
    tax_number: str | None = Field(
        None, max_length=18, description="unified social credit code (18 characters), required for a company"
    )
    email: str = Field(min_length=3, max_length=254, pattern=EMAIL_PATTERN)


class ExchangeIn(Strict):
    seat: str = Field(min_length=1, max_length=64, description="the new seat's label, e.g. A-3-9")


class TransferRulesIn(Strict):
    allowed: bool = Field(description="may buyers transfer tickets of this event at all")
    max_per_ticket: int | None = Field(None, ge=0, le=100, description="how often one ticket may move")
    lock_hours: Hours = Field(0, description="transfers close this many hours before the show")


class TransferIn(Strict):
    to_email: str = Field(
        min_length=3, max_length=254, pattern=EMAIL_PATTERN, description="the recipient's account"
    )


class AcceptIn(Strict):
    holder: HolderIn | None = Field(None, description="the recipient as holder (real-name shows)")


class PostponeIn(Strict):
    starts_at: float = Field(ge=0, le=32_503_680_000, description="the new start (Unix seconds)")
    ends_at: float = Field(ge=0, le=32_503_680_000, description="the new end (Unix seconds)")
    refund_days: float = Field(7, ge=0, le=365, description="days in which buyers may refund in full")


class DecisionIn(Strict):
    percent: int | None = Field(None, ge=0, le=100, description="exception percentage (100 if absent)")
    note: str | None = Field(None, max_length=500)


@router.get(
    "/events/{event_id}/refund-policy",
    tags=["buyers"],
    summary="The event's refund policy (shown before buying)",
    responses=errors.responses(404),
)
def get_policy(event_id: Id, app: State) -> dict[str, Any]:
    return refund_terms.get_policy(app.ctx, event_id)


@router.put(
    "/events/{event_id}/refund-policy",
    tags=["organisers"],
    summary="Set the event's refund policy (orders already made keep theirs)",
    responses=errors.responses(401, 403, 404, 422),
)
def set_policy(event_id: Id, body: RefundPolicyIn, organiser: OrganiserId, app: State) -> dict[str, Any]:
    return refund_terms.set_policy(app.ctx, organiser, event_id, body.model_dump())


@router.get(
    "/orders/{order_id}/refund-preview",
    tags=["buyers"],
    summary="How much a refund of these tickets (all by default) would return now",
    responses=errors.responses(401, 403, 404, 409, 422),
)
def refund_preview(
    order_id: Id,
    buyer: BuyerId,
    app: State,
    ticket: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=36)]] | None, Query(max_length=100)
    ] = None,
) -> dict[str, Any]:
    return refund_requests.preview(app.ctx, buyer, order_id, ticket or None)


@router.post(
    "/orders/{order_id}/refund-requests",
    tags=["buyers"],
    status_code=status.HTTP_201_CREATED,
    summary="Ask for a refund: approved at once within policy, else queued for the promoter",
    responses=errors.responses(401, 403, 404, 409, 422),
)
async def request_refund(order_id: Id, body: RefundRequestIn, buyer: BuyerId, app: State) -> dict[str, Any]:
    started = app.ctx.now()
    view = await app.with_provider(
        refund_requests.request_refund, app.ctx, app.providers, buyer, order_id, body.ticket_ids
    )
    app.order_watch.settled([order_id])
    await run_in_threadpool(invoices.mail_credits, app.ctx, app.mailer, order_id, started)
    return view


@router.get(
    "/orders/{order_id}/refund-requests",
    tags=["buyers"],
    summary="The order's refund requests",
    responses=errors.responses(401, 403, 404),
)
def order_requests(order_id: Id, buyer: BuyerId, app: State) -> list[dict[str, Any]]:
    return refund_requests.order_requests(app.ctx, buyer, order_id)


@router.get(
    "/refund-requests/{request_id}",
    tags=["buyers"],
    summary="One of the buyer's refund requests",
    responses=errors.responses(401, 403, 404),
)
def buyer_request(request_id: Id, buyer: BuyerId, app: State) -> dict[str, Any]:
    return refund_requests.buyer_request(app.ctx, buyer, request_id)


@router.get(
    "/events/{event_id}/refund-requests",
    tags=["organisers"],
    summary="The promoter's queue of refund requests for an event",
    responses=errors.responses(401, 403, 404, 422),
)
async def queue(
    event_id: Id,
    organiser: OrganiserId,
    app: State,
    state: Literal["pending_approval", "approved", "denied"] = "pending_approval",
) -> list[dict[str, Any]]:
    return await run_in_threadpool(refund_requests.queue, app.ctx, organiser, event_id, state)


@router.post(
    "/refund-requests/{request_id}/approve",
    tags=["organisers"],
    summary="Approve a queued refund request (an exception to the policy)",
    responses=errors.responses(401, 403, 404, 409, 422),
)
async def approve(request_id: Id, body: DecisionIn, organiser: OrganiserId, app: State) -> dict[str, Any]:
    started = app.ctx.now()
    work = partial(refund_requests.decide, approve=True, percent=body.percent, note=body.note)
    view = await app.with_provider(work, app.ctx, app.providers, organiser, request_id)
    await run_in_threadpool(invoices.mail_credits, app.ctx, app.mailer, view["order_id"], started)
    return view


@router.post(
    "/refund-requests/{request_id}/deny",
    tags=["organisers"],
    summary="Deny a queued refund request (the tickets stay valid)",
    responses=errors.responses(401, 403, 404, 409, 422),
)
async def deny(request_id: Id, body: DecisionIn, organiser: OrganiserId, app: State) -> dict[str, Any]:
    work = partial(refund_requests.decide, approve=False, percent=None, note=body.note)
    return await app.with_provider(work, app.ctx, app.providers, organiser, request_id)


@router.post(
    "/orders/{order_id}/invoice",
    tags=["buyers"],
    status_code=status.HTTP_201_CREATED,
    summary="Ask for the order's invoice (发票): issued, numbered and e-mailed as a PDF",
    responses=errors.responses(401, 403, 404, 409, 422),
)
def request_invoice(order_id: Id, body: InvoiceIn, buyer: BuyerId, app: State) -> dict[str, Any]:
    return invoices.request_invoice(app.ctx, app.mailer, buyer, order_id, body.model_dump())


@router.get(
    "/orders/{order_id}/invoices",
    tags=["buyers"],
    summary="The order's invoices, credits (红字) included",
    responses=errors.responses(401, 403, 404),
)
def order_invoices(order_id: Id, buyer: BuyerId, app: State) -> list[dict[str, Any]]:
    return invoices.order_invoices(app.ctx, buyer, order_id)


_PDF: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {}}, "description": "the invoice as a PDF"}
}


@router.get(
    "/invoices/{invoice_id}.pdf",
    tags=["buyers"],
    summary="An invoice as a PDF (the order's buyer)",
    response_class=Response,
    responses=_PDF | errors.responses(401, 403, 404),
)
def invoice_pdf(invoice_id: Id, buyer: BuyerId, app: State) -> Response:
    body = invoices.invoice_pdf_for(app.ctx, invoice_id, account_id=buyer, organiser_id=None)
    return Response(body, media_type="application/pdf")


@router.get(
    "/organiser/invoices/{invoice_id}.pdf",
    tags=["organisers"],
    summary="An invoice as a PDF (the event's promoter)",
    response_class=Response,
    responses=_PDF | errors.responses(401, 403, 404),
)
def organiser_invoice_pdf(invoice_id: Id, organiser: OrganiserId, app: State) -> Response:
    body = invoices.invoice_pdf_for(app.ctx, invoice_id, account_id=None, organiser_id=organiser)
    return Response(body, media_type="application/pdf")


@router.post(
    "/tickets/{ticket_id}/exchange",
    tags=["buyers"],
    summary="Move the ticket to another seat of its session (re-issued at a higher version)",
    responses=errors.responses(401, 403, 404, 409, 422),
)
async def exchange(ticket_id: TicketId, body: ExchangeIn, buyer: BuyerId, app: State) -> dict[str, Any]:
    started = app.ctx.now()
    view = await app.with_provider(
        exchanges.exchange_seat, app.ctx, app.providers, buyer, ticket_id, body.seat
    )
    app.order_watch.settled([view["order_id"]])
    await run_in_threadpool(invoices.mail_credits, app.ctx, app.mailer, view["order_id"], started)
    return view


@router.put(
    "/events/{event_id}/transfer-rules",
    tags=["organisers"],
    summary="Allow, limit or forbid ticket transfers for an event",
    responses=errors.responses(401, 403, 404, 422),
)
def set_transfer_rules(
    event_id: Id, body: TransferRulesIn, organiser: OrganiserId, app: State
) -> dict[str, Any]:
    return transfers.set_rules(app.ctx, organiser, event_id, body.model_dump())


@router.post(
    "/tickets/{ticket_id}/transfers",
    tags=["buyers"],
    status_code=status.HTTP_201_CREATED,
    summary="Offer a ticket to another account (it must accept)",
    responses=errors.responses(401, 403, 404, 409, 422),
)
def offer_transfer(ticket_id: TicketId, body: TransferIn, buyer: BuyerId, app: State) -> dict[str, Any]:
    return transfers.offer(app.ctx, buyer, ticket_id, body.to_email)


@router.get(
    "/transfers/incoming",
    tags=["buyers"],
    summary="Tickets offered to this account",
    responses=errors.responses(401),
)
def incoming_transfers(buyer: BuyerId, app: State) -> list[dict[str, Any]]:
    return transfers.incoming(app.ctx, buyer)


@router.post(
    "/transfers/{transfer_id}/accept",
    tags=["buyers"],
    summary="Accept a ticket offered to this account (re-issued to it, old QR revoked)",
    responses=errors.responses(401, 403, 404, 409, 422),
)
def accept_transfer(transfer_id: Id, body: AcceptIn, buyer: BuyerId, app: State) -> dict[str, Any]:
    holder = body.holder.model_dump() if body.holder is not None else None
    return transfers.accept(app.ctx, buyer, transfer_id, holder)


@router.post(
    "/transfers/{transfer_id}/decline",
    tags=["buyers"],
    summary="Decline an offer (recipient) or take it back (sender)",
    responses=errors.responses(401, 403, 404, 409),
)
def decline_transfer(transfer_id: Id, buyer: BuyerId, app: State) -> dict[str, Any]:
    return transfers.decline_or_cancel(app.ctx, buyer, transfer_id)


def _run_in_background(app: Any, job_id: int) -> None:
    """Work the job on the provider threads, not awaited: the console polls its counter. If this
    process stops, ``box-office sessions cancel|postpone ID`` (or another call here) resumes it."""
    loop = asyncio.get_running_loop()
    loop.run_in_executor(
        app.provider_threads,
        partial(bulk.run_job, app.ctx, app.providers, app.mailer, app.sms, job_id),
    )


@router.post(
    "/sessions/{session_id}/cancel",
    tags=["organisers"],
    status_code=status.HTTP_202_ACCEPTED,
    summary="Cancel a session: every order refunded in full, tickets revoked, buyers told",
    responses=errors.responses(401, 403, 404),
)
async def cancel_session(session_id: Id, organiser: OrganiserId, app: State) -> dict[str, Any]:
    job_id = await run_in_threadpool(bulk.start_cancel, app.ctx, session_id, organiser)
    _run_in_background(app, job_id)
    return await run_in_threadpool(bulk.job_view, app.ctx, organiser, job_id)


@router.post(
    "/sessions/{session_id}/postpone",
    tags=["organisers"],
    status_code=status.HTTP_202_ACCEPTED,
    summary="Postpone a session: tickets re-issued for the new date, buyers told, full refunds for a while",
    responses=errors.responses(401, 403, 404, 422),
)
async def postpone_session(
    session_id: Id, body: PostponeIn, organiser: OrganiserId, app: State
) -> dict[str, Any]:
    job_id = await run_in_threadpool(
        partial(bulk.start_postpone, organiser_id=organiser),
        app.ctx,
        session_id,
        body.starts_at,
        body.ends_at,
        body.refund_days,
    )
    _run_in_background(app, job_id)
    return await run_in_threadpool(bulk.job_view, app.ctx, organiser, job_id)


@router.get(
    "/bulk-jobs/{job_id}",
    tags=["organisers"],
    summary="How far a cancellation or postponement has got (the console's live counter)",
    responses=errors.responses(401, 403, 404),
)
def bulk_job(job_id: Id, organiser: OrganiserId, app: State) -> dict[str, Any]:
    return bulk.job_view(app.ctx, organiser, job_id)
