"""A staff client of the display for scripts on the device itself (the demo, end-to-end tests).

It signs in the way the kiosk page does: with the PIN if given, otherwise with the pairing code
that the display shows only to a client on the device (loopback), then sends the CSRF token
with each action. Standard library only, so it works on a gate without extra packages.
"""

from __future__ import annotations

import http.cookiejar
import json
import urllib.error
import urllib.request
from typing import Any

CSRF_HEADER = "X-CSRF-Token"


class StaffClientError(RuntimeError):
    """The display could not be reached or refused to sign in."""


class StaffClient:
    def __init__(self, url: str, *, pin: str | None = None, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        self.csrf: str | None = None
        secret = pin
        if secret is None:
            status, session = self.call("GET", "/api/session")
            secret = session.get("pairing_code") if status == 200 else None
            if not secret:
                raise StaffClientError("no PIN given and the display shows no pairing code to this client")
        status, answer = self.call("POST", "/api/session", {"secret": secret})
        if status != 200:
            raise StaffClientError(f"sign-in refused ({status}): {answer.get('detail')}")
        self.csrf = str(answer["csrf"])

    def call(self, method: str, path: str, body: object = None) -> tuple[int, dict[str, Any]]:
        """``(status, JSON answer)``; raises :class:`StaffClientError` if the display is unreachable."""
        headers = {"content-type": "application/json"}
        if self.csrf:
            headers[CSRF_HEADER] = self.csrf
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")
        except (urllib.error.URLError, OSError) as exc:
            raise StaffClientError(f"display {self.url} not reachable: {exc}") from None
