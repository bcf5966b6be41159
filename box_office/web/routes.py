"""Routes of the seat map page: the page itself, its static files, and its compact seat document.

The page is plain HTML, CSS and modern JavaScript with no build step, served from ``static/``.
Everything it sells through is the box office's public API (holds, orders, payments, tickets,
the live channel); this module adds only read-only routes.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse, HTMLResponse

from box_office.api import errors
from box_office.api.deps import Id, State
from box_office.buyers.order_pages import session_exists
from box_office.catalog.seatmap_document import seatmap_json
from box_office.errors import NotFound
from box_office.web import buyer_pages, buyer_session

STATIC = Path(__file__).parent / "static"
ASSETS = {
    "seatmap.js": "text/javascript; charset=utf-8",
    "render.js": "text/javascript; charset=utf-8",
    "i18n.js": "text/javascript; charset=utf-8",
    "seatmap.css": "text/css; charset=utf-8",
}
router = APIRouter(tags=["seat map page"])


def _html_404() -> dict[int | str, dict[str, Any]]:
    """404 for an unknown session: documented with the common error body like every refusal,
    and as what a browser gets, a page in Chinese and English (text/html)."""
    answers = errors.responses(404)
    answers[404]["description"] = "No such session: a page in Chinese and English"
    answers[404]["content"] = {**answers[404]["content"], "text/html": {"schema": {"type": "string"}}}
    return answers


@router.get(
    "/seatmap/{session_id}",
    response_class=HTMLResponse,
    summary="The buyer's seat map page",
    responses=_html_404(),
)
async def page(session_id: Id, request: Request, app: State) -> HTMLResponse:
    if not await asyncio.to_thread(session_exists, app.ctx, session_id):
        return buyer_pages.not_found(request)  # a page for a person, in their language (issue #13)
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    html = html.replace("__SESSION_ID__", str(session_id))
    html = html.replace("__OPEN_ACCOUNTS__", "1" if app.ctx.settings.accounts_open else "0")
    answer = HTMLResponse(html)
    buyer_session.device_cookie(app.ctx.settings, request, answer)  # per-device limits count it
    return answer


@router.get(
    "/seatmap/assets/{name}",
    summary="Static files of the seat map page",
    response_class=Response,
    responses=errors.responses(404),
)
def asset(name: str) -> FileResponse:
    media_type = ASSETS.get(name)
    if media_type is None:
        raise NotFound(f"no asset {name}")
    return FileResponse(STATIC / name, media_type=media_type, headers={"Cache-Control": "no-cache"})


@router.get(
    "/api/sessions/{session_id}/seatmap",
    tags=["catalog"],
    summary="A session's seat map in columns (for the page): seats, zones, types, GA stock",
    response_class=Response,
    responses=errors.responses(404),
)
async def seatmap(session_id: Id, app: State, request: Request) -> Response:
    views = getattr(request.app.state, "seatmap_views", None)
    if views is not None:  # the top of the console's sales funnel (box_office/analytics/views.py)
        views.add(session_id, app.ctx.now())
    body = await asyncio.to_thread(seatmap_json, app.ctx, session_id)
    return Response(body, media_type="application/json", headers={"Cache-Control": "no-store"})
