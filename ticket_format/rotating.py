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

**Compact live codes** (``EN3:``, the phone's default). An ``EN2:`` code carries the whole
ticket (claims, device key, box office signature) and needs QR version 12-M; ``EN3:`` carries
only what changes or what only the QR may hold:

    "EN3:" + Base45( CBOR [ ticket id (16 raw bytes for a UUID, else text), version (uint),
                            step (uint), ticket signature (64 bytes), device signature (64) ] )

with the device signature over ``"encore-rotating-v2" || ticket signature || step (8 bytes,
big-endian)``. The rest of the ticket, its COSE protected header and signed payload (claims
with ``dk``), reaches the gates ahead of time in their ticket list as ``bound_payload``
(:func:`bound_payload`: base64url of CBOR ``[protected, payload]``). The gate rebuilds the
Sig_structure from that payload and the code's ticket signature and verifies the box office's
signature, so the ticket list cannot mint or alter tickets: a tampered payload fails it
(``invalid_signature``). The ticket signature, the key to a real-name ticket's seal, is still
in the QR only. A gate without the payload (offline since the binding) cannot decide an
``EN3:`` code: the phone keeps an ``EN2:`` "full code" for that case.
"""

from __future__ import annotations

import base64
import binascii
import functools
from typing import Any, NamedTuple

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ticket_format import base45
from ticket_format.claims import TicketClaims, _pack_ticket_id
from ticket_format.errors import ErrorKind, TicketError, malformed
from ticket_format.keys import Keyring
from ticket_format.token import _bstr_size, _message, _parse_sign1, _verify_cose, verify_parts

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
        _device_key(device_public).verify(device_signature, _signed_bytes(signature, step))
    except (InvalidSignature, ValueError):
        raise TicketError(
            ErrorKind.INVALID_SIGNATURE, "live code not signed by the ticket's device key"
        ) from None
    _check_window(step, now, skew)
    return LiveCode(claims, signature, step)


# ---------------------------------------------------------------- compact live codes (EN3)

COMPACT_PREFIX = "EN3:"
COMPACT_CONTEXT = b"encore-rotating-v2"
MAX_COMPACT_LENGTH = 600
"""A reserved-seat EN3 code is about 240 characters; a long text ticket id adds to it."""
MAX_BOUND_PAYLOAD = 1200
"""Longest ``bound_payload`` text accepted (base64url); a reserved-seat one is about 180."""
_UUID_BYTES = 16


class CompactCode(NamedTuple):
    """A well-formed ``EN3:`` code, not yet verified: what the gate looks the ticket up by."""

    ticket_id: str
    version: int
    step: int
    ticket_signature: bytes
    device_signature: bytes


def bound_payload(token: str) -> str:
    """What the gates need, besides the QR, to verify a bound ticket's compact codes.

    base64url (no padding) of CBOR ``[protected header, payload]`` of the token's COSE_Sign1:
    the signed bytes without the signature. Nothing personal: the claims and the device key.
    """
    protected, _unprotected, payload, _signature = _parse_sign1(_message(token))
    raw = cbor2.dumps([protected, payload])
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def parse_bound_payload(text: str) -> tuple[bytes, bytes]:
    """``(protected, payload)`` of a ``bound_payload`` text; raises a malformed :class:`TicketError`."""
    if not isinstance(text, str) or not 0 < len(text) <= MAX_BOUND_PAYLOAD:
        raise malformed("bound payload missing or too long")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise malformed("bound payload is not base64url") from None
    parts = _loads(raw, "bound payload")
    if not (type(parts) is list and len(parts) == 2 and type(parts[0]) is bytes and type(parts[1]) is bytes):
        raise malformed("a bound payload is an array of 2 byte strings")
    if 1 + _bstr_size(len(parts[0])) + _bstr_size(len(parts[1])) != len(raw):
        raise malformed("bound payload has trailing bytes or a non-shortest encoding")
    return parts[0], parts[1]


def _loads(raw: bytes, what: str) -> Any:
    """One CBOR item; the callers compare its shortest encoded size with ``len(raw)`` (cheaper
    on the gate's hot path than a stream decoder that reports where it stopped)."""
    try:
        return cbor2.loads(raw)
    except (cbor2.CBORDecodeError, ValueError, TypeError, OverflowError, RecursionError):
        raise malformed(f"{what} is not valid CBOR") from None


def _uint_size(value: int) -> int:
    return 1 if value < 24 else 2 if value < 0x100 else 3 if value < 0x10000 else 5 if value < 2**32 else 9


def _compact_signed(ticket_signature: bytes, step: int) -> bytes:
    return COMPACT_CONTEXT + ticket_signature + step.to_bytes(8, "big", signed=True)


def compact_live_code(token: str, device_key: Ed25519PrivateKey, now: float) -> str:
    """The compact code (``EN3:``) the phone shows at ``now`` for a bound ticket's static token."""
    _protected, _unprotected, payload, signature = _parse_sign1(_message(token))
    claims = TicketClaims.from_cbor_map(cbor2.loads(payload))
    step = time_step(now)
    device_signature = device_key.sign(_compact_signed(signature, step))
    body = [_pack_ticket_id(claims.ticket_id), claims.version, step, signature, device_signature]
    return COMPACT_PREFIX + base45.encode(cbor2.dumps(body))


def parse_compact_code(code: str) -> CompactCode:
    """The parts of an ``EN3:`` code; raises a malformed :class:`TicketError`. Verifies nothing."""
    if not isinstance(code, str) or not code.startswith(COMPACT_PREFIX):
        raise malformed(f"no {COMPACT_PREFIX} prefix: not a compact live code")
    if len(code) > MAX_COMPACT_LENGTH:
        raise malformed(f"code longer than {MAX_COMPACT_LENGTH} characters")
    try:
        raw = base45.decode(code[len(COMPACT_PREFIX) :])
    except base45.Base45Error as exc:
        raise malformed(f"bad Base45: {exc}") from None
    parts = _loads(raw, "compact live code")
    if not (type(parts) is list and len(parts) == 5):
        raise malformed("a compact live code is an array of 5")
    ticket_id, version, step, ticket_signature, device_signature = parts
    if type(ticket_id) is bytes and len(ticket_id) == _UUID_BYTES:
        id_size = 1 + _UUID_BYTES
        h = ticket_id.hex()
        ticket_id = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    elif type(ticket_id) is str and ticket_id:
        id_size = _bstr_size(len(ticket_id.encode()))
    else:
        raise malformed("a ticket id is 16 bytes (a UUID) or text")
    if type(version) is not int or not 0 <= version < 2**31:
        raise malformed("bad ticket version")
    if type(step) is not int or not 0 <= step < 2**40:
        raise malformed("bad time step")
    if not (
        type(ticket_signature) is bytes
        and len(ticket_signature) == 64
        and type(device_signature) is bytes
        and len(device_signature) == 64
    ):
        raise malformed("the ticket and device signatures are 64 bytes each")
    if 1 + id_size + _uint_size(version) + _uint_size(step) + 132 != len(raw):
        raise malformed("compact live code has trailing bytes or a non-shortest encoding")
    return CompactCode(ticket_id, version, step, ticket_signature, device_signature)


def verify_compact_code(
    code: CompactCode, payload_text: str, keyring: Keyring, now: float, skew: float
) -> LiveCode:
    """A verified compact code, given the ticket's ``bound_payload`` from the gate's ticket list.

    Checks, in order: the box office signature over the list's payload (``invalid_signature``
    for a tampered payload or a forged code, ``unknown_key``), that the payload is this
    ticket and version, the device signature with the signed ``dk``, and the time window
    (``stale_code``), as :func:`verify_live_code` does for ``EN2:``.
    """
    protected, payload = parse_bound_payload(payload_text)
    claims, signature = verify_parts(protected, {}, payload, code.ticket_signature, keyring, now)
    if claims.ticket_id != code.ticket_id or claims.version != code.version:
        raise TicketError(
            ErrorKind.INVALID_SIGNATURE, "the ticket list's copy is another ticket: list or code altered"
        )
    device_public = device_key_of(claims)
    if device_public is None:
        raise malformed("a compact live code for a ticket bound to no device key")
    try:
        _device_key(device_public).verify(code.device_signature, _compact_signed(signature, code.step))
    except (InvalidSignature, ValueError):
        raise TicketError(
            ErrorKind.INVALID_SIGNATURE, "live code not signed by the ticket's device key"
        ) from None
    _check_window(code.step, now, skew)
    return LiveCode(claims, signature, code.step)


def _check_window(step: int, now: float, skew: float) -> None:
    """Raise ``stale_code`` unless the step's period comes within ``skew`` of ``now``."""
    if not (step * PERIOD <= now + skew and (step + 1) * PERIOD >= now - skew):
        age = now - (step + 1) * PERIOD
        told = f"{age:.0f} s old" if age > 0 else f"{-age + PERIOD:.0f} s ahead"
        raise TicketError(ErrorKind.STALE_CODE, f"live code {told}: a screenshot or a wrong phone clock")
