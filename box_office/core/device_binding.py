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
import re
from enum import Enum

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


def decide_binding(current: bytes | None, requested: bytes) -> Binding:
    """Bind a first time, or do nothing for the same key; a different key is refused.

    Moving a bound ticket to another phone needs a step-up confirmation of the buyer (SMS or
    passkey, issue #13) that does not exist yet, so it is refused ``rebind_needs_step_up``
    rather than allowed on the bearer token alone.
    """
    if current is None:
        return Binding.FIRST
    if current == requested:
        return Binding.UNCHANGED
    raise RuleError(
        "rebind_needs_step_up",
        "this ticket is bound to another phone; moving it needs the buyer's confirmation",
    )
