"""Routes of the support desk and the Q&A bot: buyers (their own requests, the bot), the
promoter's staff (requests about their own events, canned replies, the event FAQ)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response, status
from pydantic import ConfigDict, Field, model_validator
from starlette.concurrency import run_in_threadpool

from box_office.api import errors
from box_office.api.deps import BuyerId, Id, OrganiserId, State
from box_office.api.schemas import Strict
from box_office.support import assistant, desk

router = APIRouter(prefix="/api", tags=["support"])

Category = Literal["refund", "exchange", "invoice", "entry", "other"]
Status = Literal["open", "waiting_buyer", "solved"]
Lang = Literal["zh", "en"]
Text = Annotated[str, Field(min_length=1, max_length=4000, pattern=r"[^ \t\n\r\f\v]")]
"""Some text that is not only blanks (ASCII blanks spelled out: Python and JSON Schema agree)."""


def _one_of_required(*names: str) -> ConfigDict:
    """The schema says what the validator checks: at least one of ``names`` is given, not null."""
    return ConfigDict(
        **Strict.model_config,
        json_schema_extra={
            "anyOf": [{"required": [n], "properties": {n: {"not": {"type": "null"}}}} for n in names]
        },
    )


def _needs_one(model: Strict, *names: str) -> None:
    if all(getattr(model, n) is None for n in names):
        raise ValueError(f"give {' or '.join(names)}")


class RequestIn(Strict):
    model_config = _one_of_required("order_id", "event_id")

    category: Category
    message: Text
    order_id: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None
    event_id: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None
    lang: Lang | None = None

    @model_validator(mode="after")
    def _order_or_event(self) -> RequestIn:
        _needs_one(self, "order_id", "event_id")
        return self


class MessageIn(Strict):
    message: Text


class StatusIn(Strict):
    status: Status


class StaffReplyIn(Strict):
    model_config = _one_of_required("message", "canned_id")

    message: Text | None = None
    canned_id: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None
    then: Status | None = Field(default=None, description="Status after the reply (default waiting_buyer)")

    @model_validator(mode="after")
    def _text_or_canned(self) -> StaffReplyIn:
        _needs_one(self, "message", "canned_id")
        return self


class CannedIn(Strict):
    title: Annotated[str, Field(min_length=1, max_length=100, pattern=r"[^ \t\n\r\f\v]")]
    body_zh: Text
    body_en: Text


class FaqEntryIn(Strict):
    topic: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_]+$")]
    question_zh: Annotated[str, Field(min_length=1, max_length=300)]
    question_en: Annotated[str, Field(min_length=1, max_length=300)]
    answer_zh: Text
    answer_en: Text
    keywords: Annotated[str, Field(max_length=2000)] = ""


class FaqIn(Strict):
    entries: Annotated[list[FaqEntryIn], Field(max_length=100)]


class AskIn(Strict):
    event_id: Annotated[int, Field(ge=1, le=2**31 - 1)]
    question: Annotated[str, Field(min_length=1, max_length=500, pattern=r"[^ \t\n\r\f\v]")]
    lang: Lang | None = None
    hand_over: bool = Field(default=True, description="Open a support request when the bot does not know")


# --- buyers -----------------------------------------------------------------------------------


@router.post(
    "/support/requests",
    status_code=status.HTTP_201_CREATED,
    tags=["support", "buyers"],
    summary="Open a support request about one of your orders (or an event)",
    responses=errors.responses(401, 404, 422),
)
def open_request(body: RequestIn, buyer: BuyerId, app: State) -> dict[str, Any]:
    return desk.open_request(
        app.ctx,
        buyer,
        category=body.category,
        message=body.message,
        order_id=body.order_id,
        event_id=body.event_id,
        lang=body.lang,
    )


@router.get(
    "/support/requests",
    tags=["support", "buyers"],
    summary="Your support requests",
    responses=errors.responses(401),
)
def my_requests(buyer: BuyerId, app: State) -> list[dict[str, Any]]:
    return desk.buyer_requests(app.ctx, buyer)


@router.get(
    "/support/requests/{request_id}",
    tags=["support", "buyers"],
    summary="One of your support requests with its conversation",
    responses=errors.responses(401, 404),
)
def my_request(request_id: Id, buyer: BuyerId, app: State) -> dict[str, Any]:
    return desk.buyer_request(app.ctx, buyer, request_id)


@router.post(
    "/support/requests/{request_id}/messages",
    tags=["support", "buyers"],
    summary="Write in one of your support requests",
    responses=errors.responses(401, 404, 422),
)
def my_message(request_id: Id, body: MessageIn, buyer: BuyerId, app: State) -> dict[str, Any]:
    return desk.buyer_message(app.ctx, buyer, request_id, body.message)


@router.post(
    "/support/requests/{request_id}/status",
    tags=["support", "buyers"],
    summary="Mark your request solved, or reopen it",
    responses=errors.responses(401, 404, 409, 422),
)
def my_status(request_id: Id, body: StatusIn, buyer: BuyerId, app: State) -> dict[str, Any]:
    return desk.buyer_set_status(app.ctx, buyer, request_id, body.status)


@router.post(
    "/support/ask",
    tags=["support", "buyers"],
    summary="Ask the Q&A bot (智能问答): the event's FAQ and your own orders",
    responses=errors.responses(401, 404, 422),
)
async def ask(body: AskIn, buyer: BuyerId, app: State) -> dict[str, Any]:
    result: dict[str, Any] = await run_in_threadpool(
        assistant.ask, app.ctx, buyer, body.event_id, body.question, body.lang, hand_over=body.hand_over
    )
    return result


@router.get(
    "/events/{event_id}/faq",
    tags=["support", "catalog"],
    summary="An event's FAQ (public)",
    responses=errors.responses(404),
)
def event_faq(event_id: Id, app: State) -> list[dict[str, Any]]:
    return assistant.faq(app.ctx, event_id)


# --- the promoter's staff ---------------------------------------------------------------------


@router.put(
    "/events/{event_id}/faq",
    tags=["support", "organisers"],
    summary="Replace your event's FAQ",
    responses=errors.responses(401, 403, 404, 409, 422),
)
def put_event_faq(event_id: Id, body: FaqIn, organiser: OrganiserId, app: State) -> list[dict[str, Any]]:
    return assistant.put_faq(app.ctx, organiser, event_id, [e.model_dump() for e in body.entries])


@router.get(
    "/support/faq-template", summary="A starting FAQ for a concert (zh/en)", responses=errors.responses()
)
def faq_template() -> list[dict[str, Any]]:
    return assistant.template()


@router.get(
    "/console/support/requests",
    tags=["support", "organisers"],
    summary="Support requests about your events (missed response targets first)",
    responses=errors.responses(401, 403, 404, 422),
)
def staff_requests(
    organiser: OrganiserId,
    app: State,
    event_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    status: Annotated[Status | None, Query()] = None,
) -> list[dict[str, Any]]:
    return desk.staff_requests(app.ctx, organiser, event_id=event_id, status=status)


@router.get(
    "/console/support/requests/{request_id}",
    tags=["support", "organisers"],
    summary="A support request about your event, with its conversation",
    responses=errors.responses(401, 403, 404),
)
def staff_request(request_id: Id, organiser: OrganiserId, app: State) -> dict[str, Any]:
    return desk.staff_request(app.ctx, organiser, request_id)


@router.post(
    "/console/support/requests/{request_id}/messages",
    tags=["support", "organisers"],
    summary="Answer a request (your text or a canned reply)",
    responses=errors.responses(401, 403, 404, 422),
)
def staff_reply(request_id: Id, body: StaffReplyIn, organiser: OrganiserId, app: State) -> dict[str, Any]:
    return desk.staff_reply(
        app.ctx, organiser, request_id, message=body.message, canned_id=body.canned_id, then=body.then
    )


@router.post(
    "/console/support/requests/{request_id}/status",
    tags=["support", "organisers"],
    summary="Change a request's status",
    responses=errors.responses(401, 403, 404, 422),
)
def staff_status(request_id: Id, body: StatusIn, organiser: OrganiserId, app: State) -> dict[str, Any]:
    return desk.staff_set_status(app.ctx, organiser, request_id, body.status)


@router.get(
    "/console/support/canned",
    tags=["support", "organisers"],
    summary="Your canned replies",
    responses=errors.responses(401),
)
def canned(organiser: OrganiserId, app: State) -> list[dict[str, Any]]:
    return desk.canned_replies(app.ctx, organiser)


@router.post(
    "/console/support/canned",
    tags=["support", "organisers"],
    status_code=status.HTTP_201_CREATED,
    summary="Save a canned reply",
    responses=errors.responses(401, 422),
)
def add_canned(body: CannedIn, organiser: OrganiserId, app: State) -> dict[str, Any]:
    return desk.add_canned_reply(app.ctx, organiser, body.title, body.body_zh, body.body_en)


@router.delete(
    "/console/support/canned/{canned_id}",
    tags=["support", "organisers"],
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Delete a canned reply",
    responses=errors.responses(401, 404),
)
def delete_canned(canned_id: Id, organiser: OrganiserId, app: State) -> Response:
    desk.delete_canned_reply(app.ctx, organiser, canned_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
