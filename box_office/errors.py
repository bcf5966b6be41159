"""Errors a use case raises; the API turns each into a 4xx with its message."""

from __future__ import annotations


class ServiceError(Exception):
    """A refused request: ``status`` is the HTTP status, ``code`` a stable reason for programs."""

    status = 400

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code

    default_code = "bad_request"


class NotFound(ServiceError):
    status = 404
    default_code = "not_found"


class Forbidden(ServiceError):
    status = 403
    default_code = "forbidden"


class Unauthorized(ServiceError):
    status = 401
    default_code = "unauthorized"


class Conflict(ServiceError):
    status = 409
    default_code = "conflict"


class Invalid(ServiceError):
    status = 422
    default_code = "invalid"


class Unavailable(ServiceError):
    """A service we depend on (the payment provider) did not answer: try again shortly."""

    status = 503
    default_code = "unavailable"


class RateLimited(ServiceError):
    """Asked too often: try again after ``retry_after`` seconds (429 with ``Retry-After``)."""

    status = 429
    default_code = "rate_limited"

    def __init__(self, message: str, code: str | None = None, retry_after: int = 60) -> None:
        super().__init__(message, code)
        self.retry_after = retry_after
