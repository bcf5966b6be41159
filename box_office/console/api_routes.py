"""The console's numbers through the API (organiser bearer token), and console users.

The same report as the dashboard (``analytics.queries.event_report``), as JSON, CSV or XLSX.
An organiser creates its console users here with its API token (the first owner), then the
owner adds staff and finance people in the console.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from box_office.analytics import export, queries
from box_office.analytics.views import ViewCounter, WaitingPeaks
from box_office.api import errors
from box_office.api.deps import Id, OrganiserId, State
from box_office.api.schemas import EMAIL_PATTERN
from box_office.console import auth

router = APIRouter(prefix="/api", tags=["organisers"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ConsoleUserIn(BaseModel):
    email: str = Field(min_length=3, max_length=254, pattern=EMAIL_PATTERN)
    name: str = Field(default="", max_length=200)
    role: Literal["owner", "staff", "finance"] = "owner"
    password: str = Field(min_length=auth.MIN_PASSWORD, max_length=200)


def _views(request: Request) -> ViewCounter | None:
    return getattr(request.app.state, "seatmap_views", None)


def _peaks(request: Request) -> WaitingPeaks | None:
    return getattr(request.app.state, "waiting_peaks", None)


@router.post(
    "/organiser/console-users",
    status_code=status.HTTP_201_CREATED,
    summary="Create a console user (owner, staff or finance) of this organiser",
    responses=errors.responses(401, 409, 422),
)
def create_console_user(body: ConsoleUserIn, organiser: OrganiserId, app: State) -> dict[str, Any]:
    user_id = auth.create_user(app.ctx, organiser, body.email, body.name, body.role, body.password, by=None)
    return {"id": user_id, "email": body.email.strip().lower(), "role": body.role}


@router.get(
    "/events/{event_id}/analytics",
    summary="Sold, held, available, revenue by zone and ticket type, sell-through and the funnel",
    responses=errors.responses(401, 403, 404),
)
async def analytics(
    event_id: Id,
    organiser: OrganiserId,
    app: State,
    request: Request,
    session_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> dict[str, Any]:
    work = partial(queries.event_report, views=_views(request), waiting=_peaks(request))
    report: dict[str, Any] = await run_in_threadpool(work, app.ctx, organiser, event_id, session_id)
    return report


@router.get(
    "/events/{event_id}/analytics.csv",
    summary="The analytics as CSV",
    response_class=Response,
    responses=errors.responses(401, 403, 404, ok={"content": {"text/csv": {"schema": {"type": "string"}}}}),
)
async def analytics_csv(
    event_id: Id,
    organiser: OrganiserId,
    app: State,
    request: Request,
    session_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> PlainTextResponse:
    work = partial(queries.event_report, views=_views(request), waiting=_peaks(request))
    report = await run_in_threadpool(work, app.ctx, organiser, event_id, session_id)
    return PlainTextResponse(export.to_csv(report), media_type="text/csv")


@router.get(
    "/events/{event_id}/analytics.xlsx",
    summary="The analytics as an Excel workbook (one sheet per table)",
    response_class=Response,
    responses=errors.responses(
        401, 403, 404, ok={"content": {XLSX: {"schema": {"type": "string", "format": "binary"}}}}
    ),
)
async def analytics_xlsx(
    event_id: Id,
    organiser: OrganiserId,
    app: State,
    request: Request,
    session_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> Response:
    work = partial(queries.event_report, views=_views(request), waiting=_peaks(request))
    report = await run_in_threadpool(work, app.ctx, organiser, event_id, session_id)
    body = await run_in_threadpool(export.to_xlsx, report)
    return Response(body, media_type=XLSX)
