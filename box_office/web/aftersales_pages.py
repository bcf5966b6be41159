"""The after-sales pages: a buyer's refund request with its live preview (``/me/orders/{id}/refund``)
and the promoter's approval queue (``/console/aftersales/``). Self-contained pages (their own
style, Chinese and English by the browser's language) that the /me/ and /console/ shells can
link to; they talk to the JSON API with the token the shells keep in localStorage. Files only:
no SQL, no state."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import FileResponse

from box_office.api import errors
from box_office.api.deps import Id
from box_office.errors import NotFound
from box_office.web.routes import STATIC

FOLDER = STATIC / "aftersales"
ASSETS = {
    "style.css": "text/css; charset=utf-8",
    "i18n.js": "text/javascript; charset=utf-8",
    "refund.js": "text/javascript; charset=utf-8",
    "console.js": "text/javascript; charset=utf-8",
}
HTML = "text/html; charset=utf-8"
router = APIRouter(tags=["after-sales pages"])


@router.get(
    "/aftersales-assets/{name}",
    summary="Static files of the after-sales pages",
    response_class=Response,
    responses=errors.responses(404),
)
def asset(name: str) -> FileResponse:
    media_type = ASSETS.get(name)
    if media_type is None:
        raise NotFound(f"no asset {name}")
    return FileResponse(FOLDER / name, media_type=media_type, headers={"Cache-Control": "no-cache"})


@router.get(
    "/me/orders/{order_id}/refund",
    summary="The buyer's refund page (preview, then request)",
    response_class=Response,
    responses=errors.responses(422),
)
def refund_page(order_id: Id) -> FileResponse:
    return FileResponse(FOLDER / "refund.html", media_type=HTML)


@router.get("/console/aftersales/", summary="The promoter's after-sales queue", response_class=Response)
def console_page() -> FileResponse:
    return FileResponse(FOLDER / "console.html", media_type=HTML)
