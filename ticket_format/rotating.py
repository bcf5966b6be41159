"""Rotating ticket codes that a gate verifies offline: a screenshot stops working within seconds.

A static ticket's QR is a bearer credential: a screenshot posted online gets its first bearer
in. A *bound* ticket instead names a per-ticket device key, an Ed25519 public key made on the
buyer's phone when the ticket is first opened there, in its signed claims (the extra claim
``dk``; contract 1 is unchanged: older verifiers see one more extra field). The phone then
shows, every :data:`PERIOD` seconds, a fresh code:

    "EN2:" + Base45( CBOR [ ticket COSE_Sign1 (bytes), step (uint), device signature ] )

where the device signature is Ed25519 by the device key over
``"encore-rotating-v1" || the ticket's COSE signature (64 bytes) || step (8 bytes, big-endian)``
and ``step = floor(unix time / PERIOD)``. Binding the ticket's own signature means a device key
signs for that ticket version only. A gate checks, offline: the box office signature (as for a
static ticket), the device signature with the key the box office signed, and that the step is
within its clock skew of now. A code outside the window is refused ``stale_code`` (however old:
the whole step travels, so an old screenshot is recognised as old); a code signed by another key
``invalid_signature``.

Pure functions; the time is always the caller's.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ticket_format import base45
from ticket_format.claims import TicketClaims
from ticket_format.errors import ErrorKind, TicketError, malformed
from ticket_format.keys import Keyring
from ticket_format.token import _message, _parse_sign1, _verify_cose

PREFIX = "EN2:"
PERIOD = 15
"""Seconds a code is current. 15 s: a screenshot is stale before it can be passed on."""
DEVICE_KEY_CLAIM = "dk"
"""The extra claim holding the raw 32-byte device public key of a bound ticket."""
CONTEXT = b"encore-rotating-v1"
MAX_CODE_LENGTH = 2048


class LiveCode(NamedTuple):
    """A verified rotating code: the ticket's claims and signature, and the code's time step."""

    claims: TicketClaims
    signature: bytes
    step: int


def bind_device_key(claims: TicketClaims, device_public: bytes) -> TicketClaims:
    """The claims of a ticket bound to a device key (the box office signs these)."""
    if not isinstance(device_public, bytes) or len(device_public) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes")
    extra: dict[str, Any] = {**claims.extra, DEVICE_KEY_CLAIM: device_public}
    return claims._replace(extra=extra)


def device_key_of(claims: TicketClaims) -> bytes | None:
    """The device public key a ticket is bound to, or None for a static (printable) ticket."""
    value = claims.extra.get(DEVICE_KEY_CLAIM)
    return value if isinstance(value, bytes) and len(value) == 32 else None


@functools.lru_cache(maxsize=1024)
def _device_key(public: bytes) -> Ed25519PublicKey:
    """Loaded once per ticket: a phone shows a new code every period, the key stays the same."""
    return Ed25519PublicKey.from_public_bytes(public)


def time_step(now: float) -> int:
    return int(now // PERIOD)


def _signed_bytes(ticket_signature: bytes, step: int) -> bytes:
    return CONTEXT + ticket_signature + step.to_bytes(8, "big", signed=True)


def live_code(token: str, device_key: Ed25519PrivateKey, now: float) -> str:
    """The code the phone shows at ``now`` for a bound ticket's static token."""
    message = _message(token)
    signature = _parse_sign1(message)[3]
    step = time_step(now)
    device_signature = device_key.sign(_signed_bytes(signature, step))
    return PREFIX + base45.encode(cbor2.dumps([message, step, device_signature]))


def verify_live_code(code: str, keyring: Keyring, now: float, skew: float) -> LiveCode:
    """A verified rotating code; raises :class:`TicketError` (``stale_code`` outside the window).

    ``skew`` (seconds) is how far the phone's clock and the gate's may disagree: the code's
    period ``[step * PERIOD, (step + 1) * PERIOD)`` must come within ``skew`` of ``now``.
    """
    if not isinstance(code, str) or not code.startswith(PREFIX):
        raise malformed(f"no {PREFIX} prefix: not a rotating code")
    if len(code) > MAX_CODE_LENGTH:
        raise malformed(f"code longer than {MAX_CODE_LENGTH} characters")
    try:
        outer = cbor2.loads(base45.decode(code[len(PREFIX) :]))
    except base45.Base45Error as exc:
        raise malformed(f"bad Base45: {exc}") from None
    except (cbor2.CBORDecodeError, ValueError, TypeError, OverflowError, RecursionError):
        raise malformed("rotating code is not CBOR") from None
    if not (isinstance(outer, list) and len(outer) == 3):
        raise malformed("a rotating code is an array of 3")
    message, step, device_signature = outer
    if type(message) is not bytes or type(step) is not int or not 0 <= step < 2**40:
        raise malformed("bad rotating code parts")
    if type(device_signature) is not bytes or len(device_signature) != 64:
        raise malformed("a device signature is 64 bytes")
    claims, signature = _verify_cose(message, keyring, now)
    device_public = device_key_of(claims)
    if device_public is None:
        raise malformed("a rotating code for a ticket bound to no device key")
    try:
        Ed25519PublicKey.from_public_bytes(device_public).verify(
            device_signature, _signed_bytes(signature, step)
        )
    except InvalidSignature:
        raise TicketError(
            ErrorKind.INVALID_SIGNATURE, "live code not signed by the ticket's device key"
        ) from None
    if not (step * PERIOD <= now + skew and (step + 1) * PERIOD >= now - skew):
        age = now - (step + 1) * PERIOD
        told = f"{age:.0f} s old" if age > 0 else f"{-age + PERIOD:.0f} s ahead"
        raise TicketError(ErrorKind.STALE_CODE, f"live code {told}: a screenshot or a wrong phone clock")
    return LiveCode(claims, signature, step)
