"""The buyer pages' session: an HttpOnly, SameSite=Lax cookie (Secure over HTTPS) holding a
random token whose hash is stored; a new one at every sign-in (never one the browser brought:
no session fixation); forms carry a CSRF token bound to the session (or, before sign-in, to the
server-issued device cookie), and a POST from another origin is refused."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

from fastapi import Request, Response

from box_office.buyers import accounts, devices
from box_office.config import Settings
from box_office.context import Context
from box_office.errors import Forbidden

SESSION_COOKIE = "encore_session"
LANG_COOKIE = "encore_lang"


def secure(settings: Settings) -> bool:
    return settings.public_url.startswith("https://")


def signed_in(ctx: Context, request: Request) -> accounts.SignedIn | None:
    return accounts.token_owner(ctx, request.cookies.get(SESSION_COOKIE), "page")


def start(ctx: Context, response: Response, account_id: int, device: str | None, old: str | None) -> None:
    """A fresh session for this account; the browser's old one (if any) is revoked."""
    if old:
        accounts.revoke(ctx, old)
    token = accounts.issue_token(ctx, account_id, "page", device)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=accounts.PAGE_SESSION_SECONDS,
        httponly=True,
        samesite="lax",
        secure=secure(ctx.settings),
        path="/",
    )


def end(ctx: Context, request: Request, response: Response) -> None:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        accounts.revoke(ctx, token)
    response.delete_cookie(SESSION_COOKIE, path="/")
    # the tickets kept for offline use go with the session
    response.headers["Clear-Site-Data"] = '"cache", "storage"'


def device_cookie(settings: Settings, request: Request, response: Response) -> str:
    """The browser's server-issued device id (set now if it has none or a forged one)."""
    value = request.cookies.get(devices.COOKIE)
    if devices.verified(settings, value):
        return str(value)
    value = devices.issue(settings)
    response.set_cookie(
        devices.COOKIE,
        value,
        max_age=5 * 365 * 86400,
        httponly=True,
        samesite="lax",
        secure=secure(settings),
        path="/",
    )
    request.state.device_cookie = value
    return value


def csrf_token(settings: Settings, request: Request) -> str:
    binding = (
        request.cookies.get(SESSION_COOKIE)
        or getattr(request.state, "device_cookie", None)
        or request.cookies.get(devices.COOKIE)
        or ""
    )
    key = devices.derived_key(settings, "csrf")
    return hmac.new(key, binding.encode(), hashlib.sha256).hexdigest()[:40]


def check_csrf(settings: Settings, request: Request, given: str | None) -> None:
    origin = request.headers.get("origin")
    if origin and origin != "null":
        allowed = {_origin(settings.public_url), f"{request.url.scheme}://{request.headers.get('host', '')}"}
        if _origin(origin) not in allowed:
            raise Forbidden("this form was sent from another site", "csrf")
    if not given or not hmac.compare_digest(given, csrf_token(settings, request)):
        raise Forbidden("this form has expired or was not made by this site: reload the page", "csrf")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
