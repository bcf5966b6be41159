"""The verdict codes of DESIGN.md contract 2 and the decision a scan ends with."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Verdict(StrEnum):
    OK = "ok"
    EXIT_OK = "exit_ok"
    ALREADY_USED = "already_used"
    REVOKED = "revoked"
    INVALID_SIGNATURE = "invalid_signature"
    UNKNOWN_KEY = "unknown_key"
    MALFORMED = "malformed"
    WRONG_EVENT = "wrong_event"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    WRONG_GATE = "wrong_gate"
    IDENTITY_REQUIRED = "identity_required"
    IDENTITY_MISMATCH = "identity_mismatch"
    BLOCKED = "blocked"
    STALE_CODE = "stale_code"
    """A rotating code outside its window, or a still image of a ticket bound to a phone."""

    @property
    def admit(self) -> bool | None:
        """True to open the turnstile, None for an exit or a hold (no entry, no refusal)."""
        if self is Verdict.OK:
            return True
        if self in (Verdict.EXIT_OK, Verdict.IDENTITY_REQUIRED):
            return None
        return False


@dataclass(frozen=True, slots=True)
class Decision:
    """What the rules concluded about one scan, before it is journalled."""

    verdict: Verdict
    reason: str
    ticket: dict[str, Any] | None = None
    """Summary of the ticket (id, zone, seat, type, version) when the signature verified."""
    details: dict[str, Any] = field(default_factory=dict)
    """Verdict-specific facts, e.g. ``used_at``/``used_gate`` for ``already_used``."""

    @property
    def admit(self) -> bool | None:
        return self.verdict.admit

    @property
    def ticket_id(self) -> str | None:
        return None if self.ticket is None else str(self.ticket["ticket_id"])
