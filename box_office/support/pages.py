"""The support pages: ``/support/`` for buyers (phone first: the bot, then the staff's replies)
and ``/console/support/`` for the promoter's staff. Self-contained HTML + JS that talk to the
``/api/support`` routes with the caller's bearer token; this module only serves files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Header, Response
from fastapi.responses import FileResponse, HTMLResponse

from box_office.api import errors
from box_office.errors import NotFound
from box_office.web.live_routes import page_language

STATIC = Path(__file__).parent / "static"
ASSETS = {"support.js": "text/javascript; charset=utf-8", "support.css": "text/css; charset=utf-8"}
router = APIRouter(tags=["support pages"])


def _page(name: str, accept_language: str | None) -> HTMLResponse:
    html = (STATIC / name).read_text(encoding="utf-8")
    return HTMLResponse(html.replace("__LANG__", page_language(accept_language)))


@router.get("/support/", response_class=HTMLResponse, summary="Help and the Q&A bot for buyers (zh/en)")
def buyer_page(accept_language: Annotated[str | None, Header()] = None) -> HTMLResponse:
    return _page("buyer.html", accept_language)


@router.get(
    "/console/support/",
    response_class=HTMLResponse,
    summary="The support desk for the promoter's staff (zh/en)",
)
def staff_page(accept_language: Annotated[str | None, Header()] = None) -> HTMLResponse:
    return _page("staff.html", accept_language)


@router.get(
    "/support/assets/{name}",
    summary="Static files of the support pages",
    response_class=Response,
    responses=errors.responses(404),
)
def asset(name: str) -> FileResponse:
    media_type = ASSETS.get(name)
    if media_type is None:
        raise NotFound(f"no asset {name}")
    return FileResponse(STATIC / name, media_type=media_type, headers={"Cache-Control": "no-cache"})
