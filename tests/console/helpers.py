"""Console test helpers: console users made through the API, a browser-like signed-in client."""

from __future__ import annotations

import re
import uuid

import httpx

from tests.box_office.conftest import Server
from tests.box_office.helpers import Concert

PASSWORD = "correct horse battery"


def add_user(concert: Concert, role: str) -> str:
    """A console user of the concert's organiser, made with the organiser's API token; its e-mail."""
    email = f"{role}-{uuid.uuid4().hex[:8]}@promoter.test"
    made = concert.org.post(
        "/api/organiser/console-users",
        json={"email": email, "name": role.title(), "role": role, "password": PASSWORD},
    )
    assert made.status_code == 201, made.text
    return email


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


class Console:
    """A signed-in console browser (cookies kept, redirects not followed)."""

    def __init__(self, server: Server, email: str, password: str = PASSWORD) -> None:
        self.email = email
        self.http = httpx.Client(base_url=server.url, timeout=30.0)
        page = self.http.get("/console/login")
        assert page.status_code == 200
        pre = re.search(r'name="pre" value="([^"]+)"', page.text)
        assert pre
        self.login = self.http.post(
            "/console/login", data={"email": email, "password": password, "pre": pre.group(1)}
        )
        assert self.login.status_code == 303, self.login.text
        home = self.http.get("/console/")
        assert home.status_code == 200, home.text
        self.csrf = csrf_of(home.text)

    def get(self, path: str, **kw: object) -> httpx.Response:
        return self.http.get(path, **kw)  # type: ignore[arg-type]

    def post(self, path: str, data: dict[str, str] | None = None, *, csrf: bool = True) -> httpx.Response:
        body = dict(data or {})
        if csrf:
            body.setdefault("csrf", self.csrf)
        return self.http.post(path, data=body)
