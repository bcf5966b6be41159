"""Routes of the buyer's live ticket page: a QR that changes every 15 s, drawn by the phone.

The page (``static/live.html`` + ``live.js``) makes the phone's Ed25519 key with WebCrypto,
binds the ticket to it through ``POST /api/tickets/{id}/device-key`` and signs a new code each
period itself, so it keeps working offline. This module only serves files: no SQL, no state.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response
from fastapi.responses import FileResponse, HTMLResponse

from box_office.api import errors
from box_office.api.deps import TicketId
from box_office.errors import NotFound
from box_office.web.routes import STATIC

JS = "text/javascript; charset=utf-8"
ASSETS = {
    "live.js": JS,
    "live.css": "text/css; charset=utf-8",
    "vendor/qrcode-generator/qrcode.mjs": JS,
    "vendor/qrcode-generator/LICENSE": "text/plain; charset=utf-8",
}
router = APIRouter(tags=["live ticket page"])


def page_language(accept_language: str | None) -> str:
    """``zh-CN`` when the browser prefers Chinese to English, else ``en``."""
    for part in (accept_language or "")[:500].split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return "en"


@router.get(
    "/tickets/live-assets/{name:path}",
    summary="Static files of the live ticket page",
    response_class=Response,
    responses=errors.responses(404),
)
def asset(name: str) -> FileResponse:
    media_type = ASSETS.get(name)
    if media_type is None:
        raise NotFound(f"no asset {name}")
    return FileResponse(STATIC / name, media_type=media_type, headers={"Cache-Control": "no-cache"})


@router.get(
    "/tickets/live-sw.js",
    summary="The live ticket page's service worker (keeps the page usable offline)",
    response_class=Response,
)
def service_worker() -> FileResponse:
    return FileResponse(STATIC / "live-sw.js", media_type=JS, headers={"Cache-Control": "no-cache"})


@router.get(
    "/tickets/{ticket_id}/live",
    response_class=HTMLResponse,
    summary="The buyer's live ticket: a QR code that changes every 15 s (Chinese and English)",
)
def page(ticket_id: TicketId, accept_language: Annotated[str | None, Header()] = None) -> HTMLResponse:
    html = (STATIC / "live.html").read_text(encoding="utf-8")
    html = html.replace("__LANG__", page_language(accept_language))
    return HTMLResponse(html.replace("__TICKET_ID__", _html_attribute(ticket_id)))


def _html_attribute(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")
