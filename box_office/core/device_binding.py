"""Binding a ticket to the buyer's phone: which device keys are acceptable, and when a change
of phone needs more than the buyer's token.

A bound ticket carries the phone's Ed25519 public key in its signed claims (``dk``,
``ticket_format.rotating``): the phone then shows a code that changes every 15 s, so a
screenshot is stale before it can be passed on. Binding again to the same key changes nothing
(a page reopened, a retried request); binding to another key moves the ticket to another phone,
which a stolen buyer token alone must not be able to do.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import re
from enum import Enum
from typing import NamedTuple

from box_office.core.errors import RuleError

KEY_BYTES = 32
_BASE64URL = re.compile(r"[A-Za-z0-9_-]{43}=?")
_BAD_KEY = "a device key is a 32-byte Ed25519 public key in base64url"


class Binding(Enum):
    """What binding a ticket to a key means given the key it is bound to now."""

    FIRST = "first"
    """Not bound yet: bind it (a new version)."""
    UNCHANGED = "unchanged"
    """Already bound to this key: nothing to do."""
    MOVE = "move"
    """Bound to another key, and the buyer confirmed: move the ticket to this phone."""


def parse_device_key(text: str) -> bytes:
    """The 32 raw bytes of an Ed25519 public key given as base64url (padding optional).

    Only the length and encoding are checked here; whether the bytes are a point on the curve
    is for :func:`ticket_format.rotating.bind_device_key`'s callers to learn from a signature.
    """
    if not isinstance(text, str) or not _BASE64URL.fullmatch(text):
        raise RuleError("bad_device_key", _BAD_KEY)
    try:
        raw = base64.urlsafe_b64decode(text.rstrip("=") + "=")
    except (binascii.Error, ValueError):
        raise RuleError("bad_device_key", _BAD_KEY) from None
    if len(raw) != KEY_BYTES:
        raise RuleError("bad_device_key", _BAD_KEY)
    return raw


def fingerprint(key: bytes) -> str:
    """A short, stable name of a device key for audit rows and for the buyer's page."""
    return hashlib.sha256(key).hexdigest()[:16]


def decide_binding(current: bytes | None, requested: bytes, *, confirmed: bool) -> Binding:
    """Bind a first time, do nothing for the same key, move to another key only if confirmed.

    Moving a bound ticket to another phone needs a step-up confirmation of the buyer (for now a
    code e-mailed to the order's address; SMS or passkey come with issue #13): the bearer token
    alone is refused ``rebind_needs_step_up``.
    """
    if current is None:
        return Binding.FIRST
    if current == requested:
        return Binding.UNCHANGED
    if not confirmed:
        raise RuleError(
            "rebind_needs_step_up",
            "this ticket is bound to another phone; moving it needs the code e-mailed to the buyer",
        )
    return Binding.MOVE


# ---------------------------------------------------------------- step-up: a code e-mailed to the buyer

STEP_UP_SECONDS = 600
"""How long an e-mailed confirmation code works."""
STEP_UP_TRIES = 5
"""Wrong codes allowed before the code is spent (a new one must be asked for)."""
STEP_UP_DIGITS = 6


class StepUp(NamedTuple):
    """The buyer's latest confirmation code for a ticket, as stored (only its digest)."""

    code_digest: str
    expires_at: float
    attempts: int
    used: bool


def step_up_digest(secret: bytes, ticket_id: str, code: str) -> str:
    """The stored form of a code: keyed with the server's secret, so a copy of the database
    alone does not give the code away by trying the million possibilities."""
    message = b"encore-device-step-up\0" + ticket_id.encode() + b"\0" + code.strip().encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def check_step_up(step_up: StepUp | None, presented_digest: str, now: float) -> None:
    """Accept the presented code or say why not: ``step_up_missing`` (none asked for, or used),
    ``step_up_expired``, ``step_up_locked`` (too many wrong tries), ``step_up_wrong``."""
    if step_up is None or step_up.used:
        raise RuleError("step_up_missing", "ask for a confirmation code first")
    if now >= step_up.expires_at:
        raise RuleError("step_up_expired", "the confirmation code has expired: ask for a new one")
    if step_up.attempts >= STEP_UP_TRIES:
        raise RuleError("step_up_locked", "too many wrong codes: ask for a new one")
    if not hmac.compare_digest(step_up.code_digest, presented_digest):
        raise RuleError("step_up_wrong", "wrong confirmation code")


# ---------------------------------------------------------------- step-up: how often a code may be e-mailed

STEP_UP_TICKET_LIMIT = 3
STEP_UP_TICKET_WINDOW = 900
"""At most 3 codes per ticket in 15 minutes: enough for a mail that went to spam, not a flood
of the buyer's mailbox (or of the mail provider) by someone holding a stolen buyer token."""
STEP_UP_ACCOUNT_LIMIT = 10
STEP_UP_ACCOUNT_WINDOW = 3600
"""At most 10 codes per account in an hour, across its tickets (a family moving every ticket
to a new phone stays well under it)."""


class StepUpWait(NamedTuple):
    """A refused code request: which limit (``ticket`` or ``account``) and the seconds to wait."""

    scope: str
    retry_after: int


def step_up_wait(ticket_times: list[float], account_times: list[float], now: float) -> StepUpWait | None:
    """None if a new code may be e-mailed at ``now``, else which limit is reached and for how long.

    ``ticket_times``/``account_times`` are when the earlier codes of the ticket and of the account
    were asked for (any order; older ones are ignored). The wait lasts until enough of them
    leave their window for one more to fit.
    """
    for scope, times, limit, window in (
        ("ticket", ticket_times, STEP_UP_TICKET_LIMIT, STEP_UP_TICKET_WINDOW),
        ("account", account_times, STEP_UP_ACCOUNT_LIMIT, STEP_UP_ACCOUNT_WINDOW),
    ):
        recent = sorted(t for t in times if now - window < t <= now)
        if len(recent) >= limit:
            frees_at = recent[len(recent) - limit] + window
            return StepUpWait(scope, max(1, math.ceil(frees_at - now)))
    return None
