"""Cross-site request checks for organisers' routes (pure, no I/O).

Organisers hold an ambient credential (the session cookie, or HTTP Basic cached by the
browser), so a page on another site could make their browser post to this server. Browsers
always send ``Origin`` on a POST and on a WebSocket handshake; so a request whose ``Origin`` (or,
without one, ``Referer``) is another site is refused. A request with neither comes from a
program (curl, Prometheus, a script), not from a page in a browser, and is let through to the
usual authentication.
"""

from __future__ import annotations

from collections.abc import Collection
from urllib.parse import urlsplit


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of a URL, lower-cased; ``None`` if it has none (e.g. ``null``)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def cross_site(
    origin: str | None, referer: str | None, own: str, allowed: Collection[str] = ()
) -> str | None:
    """Why the request is refused as cross-site, or ``None`` if it may proceed."""
    claimed = origin if origin is not None else referer
    if claimed is None:
        return None
    source = origin_of(claimed)
    permitted = {own.lower(), *(a.lower().rstrip("/") for a in allowed)}
    if source is None or source not in permitted:
        return f"cross-site request from {claimed[:100]!r} refused"
    return None
