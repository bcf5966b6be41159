"""The one error type that verification raises.

Every way a scanned text can fail to be a valid ticket maps onto exactly one
:class:`ErrorKind`, and each kind has the same name as the gate verdict it
becomes (DESIGN.md, contract 2). Callers therefore never need to catch anything
but :class:`TicketError`.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorKind(StrEnum):
    """Why a token is not a valid ticket; the values are verdict codes."""

    MALFORMED = "malformed"
    UNKNOWN_KEY = "unknown_key"
    INVALID_SIGNATURE = "invalid_signature"
    STALE_CODE = "stale_code"
    """A rotating code outside its time window (``ticket_format.rotating``): a screenshot."""


class TicketError(Exception):
    """A token that is not a valid ticket of ours, with the reason as a verdict code."""

    def __init__(self, kind: ErrorKind, detail: str) -> None:
        super().__init__(f"{kind.value}: {detail}")
        self.kind = kind
        self.detail = detail


def malformed(detail: str) -> TicketError:
    return TicketError(ErrorKind.MALFORMED, detail)
