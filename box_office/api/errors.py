"""One error body for every refusal, and an OpenAPI that says so.

Every answer that is not a success is JSON ``{"detail": str, "code": str, ...}``: ``detail``
is a sentence for a person, ``code`` a stable reason for programs, and a few answers add
fields of their own (``errors`` on a validation error, ``retry_after`` on a 429). That holds
for the use cases' refusals (:class:`ServiceError`), for FastAPI's own validation errors, for
Starlette's (unknown path, wrong method, unparsable body) and for a database that cannot be
reached. The OpenAPI documents that body as the schema of every error status a route can
answer, so a client generated from it, and schemathesis' ``response_schema_conformance``
check, see what really comes back.

Routes declare their statuses with ``responses=errors.responses(401, 404, ...)``;
:func:`install` adds what every route shares (validation, an unparsable body, a database or a
provider that is down) and registers the handlers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException
from starlette.routing import Match

from box_office.errors import RateLimited, ServiceError

log = logging.getLogger(__name__)
MAX_FIELD_ERRORS = 20


class FieldError(BaseModel):
    """One field that failed validation."""

    loc: list[str] = Field(description='Where: e.g. ["body", "tickets", "0", "seat"]')
    msg: str = Field(description="What is wrong with it")


class ErrorBody(BaseModel):
    """The body of every error answer."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"additionalProperties": True})

    detail: str = Field(description="What went wrong, for a person")
    code: str = Field(description="A stable reason for programs: not_found, conflict, invalid, busy ...")
    errors: list[FieldError] | None = Field(
        default=None, description="On a validation error (code invalid): every field that failed"
    )


# What each status means in this API; a route lists the ones it can answer.
MEANINGS: dict[int, str] = {
    400: "The body cannot be parsed (not JSON, or not the declared content type)",
    401: "No token, or not a valid token of the caller this route is for",
    403: "The token is valid but may not do this",
    404: "No such thing, or not one of the caller's",
    409: "The request conflicts with the current state (sold, expired, already done ...)",
    422: "A value is invalid: `errors` lists each failing field when the request's form is wrong",
    429: "Waiting room: too busy right now; retry after `Retry-After` seconds, "
    "sending back the `X-Queue-Ticket` header to keep the place in line",
    503: "The database or the payment provider cannot be reached right now; retry after `Retry-After`",
}
CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "busy",
    503: "unavailable",
}
_RETRY_AFTER = {
    "Retry-After": {"description": "Seconds to wait before trying again", "schema": {"type": "integer"}}
}
_HEADERS: dict[int, dict[str, Any]] = {
    429: _RETRY_AFTER
    | {
        "X-Queue-Ticket": {
            "description": "Send it back to keep the place in line",
            "schema": {"type": "string"},
        }
    },
    503: _RETRY_AFTER,
}
_REF = "#/components/schemas/ErrorBody"


def responses(*statuses: int, ok: dict[str, Any] | None = None) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route decorator: each status with its meaning and the error body.

    The body is given as JSON content, not as a ``model``: FastAPI would document a model under
    the route's own media type (text/html for a page, text/csv for an export), while an error is
    always JSON. :func:`install` puts :class:`ErrorBody` in the schema's components. ``ok`` is the
    200 answer's entry, for a route whose success is not JSON (a PNG, a CSV, an event stream)."""
    out: dict[int | str, dict[str, Any]] = {} if ok is None else {200: ok}
    for status in statuses:
        out[status] = _documented(status)
    return out


RETRY_AFTER_UNAVAILABLE = "2"
"""Seconds a client waits after a 503: a database restart or a provider hiccup, not an outage."""


def error_response(status: int, detail: str, code: str | None = None, **extra: Any) -> JSONResponse:
    """The common error body; a 503 says when to try again."""
    headers = {"Retry-After": RETRY_AFTER_UNAVAILABLE} if status == 503 else None
    return JSONResponse(
        {"detail": detail, "code": code or CODES.get(status, "error"), **extra},
        status_code=status,
        headers=headers,
    )


async def service_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    if isinstance(exc, RateLimited):
        response = error_response(429, exc.message, exc.code, retry_after=exc.retry_after)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    return error_response(exc.status, exc.message, exc.code)


async def validation_error(_request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's validation errors in the common body: the first failure as ``detail``, every
    failure (JSON-safe: pydantic may put exceptions or bytes in ``ctx``/``input``) in ``errors``."""
    assert isinstance(exc, RequestValidationError)
    failures = exc.errors()
    first = failures[0] if failures else {}
    where = ".".join(str(p) for p in first.get("loc", ()))
    fields = [
        {"loc": [str(p) for p in f.get("loc", ())], "msg": str(f.get("msg", ""))}
        for f in failures[:MAX_FIELD_ERRORS]
    ]
    return error_response(422, f"{where}: {first.get('msg', 'invalid request')}", "invalid", errors=fields)


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's own refusals (unknown path, wrong method, unparsable body) in the common body.

    A 405 lists in ``Allow`` every method the path answers: Starlette names only those of the
    first route that matched the path, and a path served by two routes (GET and DELETE of a
    hold) would claim to support only one."""
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(_allowed_methods(request))
    response = error_response(exc.status_code, _phrase(exc), None)
    response.headers.update(headers)
    return response


def _phrase(exc: HTTPException) -> str:
    detail = exc.detail if isinstance(exc.detail, str) else None
    return detail or HTTPStatus(exc.status_code).phrase


def _allowed_methods(request: Request) -> list[str]:
    """The methods some route answers at this path, asked of each route through ``matches``
    (FastAPI nests included routers, so the route objects' own ``methods`` are not all visible)."""
    allowed = []
    for method in _METHODS:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return allowed


_METHODS = ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")


async def data_error(_request: Request, exc: Exception) -> JSONResponse:
    # The database refused a value as data (e.g. a NUL character in text on PostgreSQL):
    # that is bad input, not a server fault.
    return error_response(422, "a value in the request cannot be stored or looked up", "invalid")


async def database_unavailable(_request: Request, exc: Exception) -> JSONResponse:
    # The database refused or dropped the connection (restarting, out of connections):
    # a temporary condition to retry, said as such, not an internal error with a traceback.
    assert isinstance(exc, OperationalError)
    log.warning("database unavailable: %s", str(exc.orig).splitlines()[0] if exc.orig else exc)
    return error_response(
        503, "the box office cannot reach its database right now: try again shortly", "unavailable"
    )


def install(app: FastAPI) -> None:
    """Register the handlers and make the OpenAPI document the common errors on every route."""
    app.add_exception_handler(ServiceError, service_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(DataError, data_error)
    app.add_exception_handler(OperationalError, database_unavailable)
    app.openapi = _documenting_common_errors(app, app.openapi)  # type: ignore[method-assign]


def _documenting_common_errors(
    app: FastAPI, generate: Callable[[], dict[str, Any]]
) -> Callable[[], dict[str, Any]]:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            add_common_errors(generate())
        return app.openapi_schema or {}

    return openapi


def add_common_errors(schema: dict[str, Any]) -> None:
    """What every operation can answer, added to the generated OpenAPI (in place).

    - 422 with :class:`ErrorBody` wherever FastAPI documented its own ``HTTPValidationError``
      (whose ``detail`` is an array: not what this API answers);
    - 400 wherever there is a request body (Starlette refuses a body it cannot parse);
    - 503 everywhere but the static pages (database or provider down, with ``Retry-After``).
    """
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name, definition in _error_schemas().items():
        components.setdefault(name, definition)
    for path, item in schema.get("paths", {}).items():
        for operation in item.values():
            answers = operation.setdefault("responses", {})
            if "422" in answers and "HTTPValidationError" in str(answers["422"]):
                answers["422"] = _documented(422)
            if "requestBody" in operation:
                answers.setdefault("400", _documented(400))
            if not path.startswith(STATIC_PATHS):
                answers.setdefault("503", _documented(503))
    for unused in ("HTTPValidationError", "ValidationError"):
        if unused not in str(schema.get("paths")):
            components.pop(unused, None)


STATIC_PATHS = ("/seatmap/", "/docs", "/redoc")
"""Paths that never touch the database (pages and their assets): no 503 to document."""


def _documented(status: int) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "description": MEANINGS[status],
        "content": {"application/json": {"schema": {"$ref": _REF}}},
    }
    if status in _HEADERS:
        entry["headers"] = _HEADERS[status]
    return entry


def _error_schemas() -> dict[str, Any]:
    generated = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    definitions: dict[str, Any] = generated.pop("$defs", {})
    return definitions | {"ErrorBody": generated}
