"""Device ids the server issues and signs, so that per-device limits count something a client
cannot invent: ``d1.<random>.<HMAC>``. A page gets one in a cookie, an API client with its
sign-in; an unsigned or altered value is no device at all."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from box_office.config import Settings

PREFIX = "d1"
COOKIE = "encore_device"


def derived_key(settings: Settings, purpose: str) -> bytes:
    """A key for one purpose, derived from the server's secret (never the secret itself)."""
    return hmac.new(settings.secret_key, f"encore-buyers|{purpose}".encode(), hashlib.sha256).digest()


def _sign(settings: Settings, ident: str) -> str:
    mac = hmac.new(derived_key(settings, "device"), ident.encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def issue(settings: Settings) -> str:
    """A new signed device id (about 50 characters)."""
    ident = f"{PREFIX}.{secrets.token_urlsafe(12)}"
    return f"{ident}.{_sign(settings, ident)}"


def verified(settings: Settings, value: str | None) -> str | None:
    """The device id (``d1.<random>``, what limits count) if ``value`` was issued by this
    server, else None: a header a client made up counts as no device."""
    if not value or len(value) > 100:
        return None
    ident, _, signature = value.rpartition(".")
    if not ident.startswith(PREFIX + ".") or not hmac.compare_digest(signature, _sign(settings, ident)):
        return None
    return ident


def counted(settings: Settings, header: str | None, cookie: str | None, account_id: int) -> str:
    """What per-device limits count for a request: the server-issued device id (header from an
    API client, cookie from a page), else the account itself, so an invented id gains nothing."""
    return verified(settings, header) or verified(settings, cookie) or f"acct:{account_id}"
