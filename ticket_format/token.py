"""Ticket tokens: ``EN1:`` + Base45 of a COSE_Sign1 (RFC 9052) signed with EdDSA/Ed25519.

:func:`issue` turns claims into the text that goes into the QR code;
:func:`verify` turns scanned text back into claims or raises a
:class:`~ticket_format.errors.TicketError` whose kind is the gate verdict.
Both are pure functions: no I/O, no clock unless the caller passes none.
"""

from __future__ import annotations

import io
from collections.abc import Mapping

import cbor2
from cryptography.exceptions import InvalidSignature

from ticket_format import base45
from ticket_format.claims import TicketClaims
from ticket_format.errors import ErrorKind, TicketError, malformed
from ticket_format.keys import Keyring, SigningKey

PREFIX = "EN1:"
COSE_SIGN1_TAG = 18
ALG_EDDSA = -8
HEADER_ALG = 1
HEADER_KID = 4
MAX_TOKEN_LENGTH = 2048
"""Longer text cannot be one of our tickets; refusing it early keeps a 10 kB
barcode from costing the gate any real work."""

_SIG_STRUCTURE_HEAD = cbor2.dumps(["Signature1", b"", b"", b""])[:12]
"""Array-of-4 head plus the text "Signature1": the fixed start of every Sig_structure."""
_protected_cache: dict[bytes, bytes] = {}
_PROTECTED_CACHE_LIMIT = 256


def issue(claims: TicketClaims, key: SigningKey) -> str:
    """The signed token text for ``claims``."""
    protected = cbor2.dumps({HEADER_ALG: ALG_EDDSA, HEADER_KID: key.kid})
    payload = cbor2.dumps(claims.to_cbor_map())
    signature = key.sign(_sig_structure(protected, payload))
    message = cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, payload, signature]))
    return PREFIX + base45.encode(message)


def verify(token: str, keyring: Keyring, now: float | None = None) -> TicketClaims:
    """Claims of a valid token; raises :class:`TicketError` otherwise.

    ``now`` (Unix seconds) is only used for the keys' own validity windows; the
    ticket's validity window is the gate's rule to apply.
    """
    return verify_signed(token, keyring, now)[0]


def verify_signed(token: str, keyring: Keyring, now: float | None = None) -> tuple[TicketClaims, bytes]:
    """Like :func:`verify`, plus the 64 signature bytes that verified.

    The signature is what only the QR code holds: the gate derives the key that opens the
    holder's sealed identity from it (:func:`ticket_format.identity.open_identity`).
    """
    return _verify_cose(_message(token), keyring, now)


def signature_of(token: str) -> bytes:
    """The COSE signature bytes of a well-formed token, without verifying it.

    For the box office, which seals the holder's identity under the ticket it just signed.
    """
    return _parse_sign1(_message(token))[3]


def _message(token: str) -> bytes:
    """The COSE_Sign1 bytes inside ``EN1:`` token text; raises a malformed :class:`TicketError`."""
    if not isinstance(token, str):
        raise malformed("token is not text")
    if len(token) > MAX_TOKEN_LENGTH:
        raise malformed(f"token longer than {MAX_TOKEN_LENGTH} characters")
    if not token.startswith(PREFIX):
        raise malformed(f"no {PREFIX} prefix: not an Encore ticket")
    try:
        message = base45.decode(token[len(PREFIX) :])
    except base45.Base45Error as exc:
        raise malformed(f"bad Base45: {exc}") from None
    return message


def verify_cose(message: bytes, keyring: Keyring, now: float | None = None) -> TicketClaims:
    """Claims of a COSE_Sign1 message signed by a trusted key; see :func:`verify`."""
    return _verify_cose(message, keyring, now)[0]


def _verify_cose(message: bytes, keyring: Keyring, now: float | None) -> tuple[TicketClaims, bytes]:
    return verify_parts(*_parse_sign1(message), keyring, now)


def verify_parts(
    protected: bytes,
    unprotected: Mapping[object, object],
    payload: bytes,
    signature: bytes,
    keyring: Keyring,
    now: float | None,
) -> tuple[TicketClaims, bytes]:
    """Claims and signature of a COSE_Sign1's four parts, checked as :func:`verify` does.

    The parts need not come from one message: a compact live code (``EN3:``) carries only the
    signature, and the gate takes the protected header and payload from its ticket list.
    """
    kid: object = _protected_kid(protected)
    if kid is None:
        kid = unprotected.get(HEADER_KID)
    if not isinstance(kid, bytes):
        raise TicketError(ErrorKind.UNKNOWN_KEY, "message carries no key id")
    candidates = keyring.candidates(kid)
    if not candidates:
        raise TicketError(ErrorKind.UNKNOWN_KEY, f"key {kid.hex()} is not trusted here")
    current = keyring.trusted_at(kid, now)
    if not current:
        raise TicketError(ErrorKind.UNKNOWN_KEY, f"key {kid.hex()} is outside its validity window")
    signed = _sig_structure(protected, payload)
    for key in current:
        try:
            key.public_key.verify(signature, signed)
        except InvalidSignature:
            continue
        # The payload is signed by a trusted key, so its framing needs no second check.
        try:
            claims_map = cbor2.loads(payload)
        except (cbor2.CBORDecodeError, ValueError, TypeError, OverflowError, RecursionError):
            raise malformed("signed payload is not valid CBOR") from None
        return TicketClaims.from_cbor_map(claims_map), signature
    raise TicketError(ErrorKind.INVALID_SIGNATURE, "signature does not verify: forged or altered")


def _sig_structure(protected: bytes, payload: bytes) -> bytes:
    """The bytes that are signed: CBOR ``["Signature1", protected, h'', payload]``."""
    heads = _SHORT_HEADS
    p_len, q_len = len(protected), len(payload)
    p_head = heads[p_len] if p_len < 0x100 else _bstr_head(p_len)
    q_head = heads[q_len] if q_len < 0x100 else _bstr_head(q_len)
    return b"".join((_SIG_STRUCTURE_HEAD, p_head, protected, b"\x40", q_head, payload))


def _bstr_head(length: int) -> bytes:
    """The CBOR head of a byte string of ``length`` bytes (shortest form)."""
    if length < 24:
        return bytes((0x40 | length,))
    if length < 0x100:
        return bytes((0x58, length))
    if length < 0x10000:
        return b"\x59" + length.to_bytes(2, "big")
    return b"\x5a" + length.to_bytes(4, "big")


_SHORT_HEADS = tuple(_bstr_head(length) for length in range(0x100))


def _strict_loads(data: bytes, what: str) -> object:
    """Decode exactly one CBOR item that spans all of ``data``."""
    stream = io.BytesIO(data)
    try:
        item = cbor2.CBORDecoder(stream).decode()
    except (cbor2.CBORDecodeError, ValueError, TypeError, OverflowError, RecursionError) as exc:
        raise malformed(f"{what} is not valid CBOR ({exc})") from None
    if stream.tell() != len(data):
        raise malformed(f"{what} has trailing bytes")
    return item


def _parse_sign1(message: bytes) -> tuple[bytes, Mapping[object, object], bytes, bytes]:
    """The four parts of a COSE_Sign1 message that uses shortest-form CBOR heads.

    ``cbor2.loads`` ignores trailing bytes, so the parts' encoded size is added
    up and compared with the message length: extra or missing bytes, and
    non-shortest encodings (which no COSE library emits), are malformed.
    """
    try:
        item = cbor2.loads(message)
    except (cbor2.CBORDecodeError, ValueError, TypeError, OverflowError, RecursionError) as exc:
        raise malformed(f"message is not valid CBOR ({exc})") from None
    if type(item) is not cbor2.CBORTag or item.tag != COSE_SIGN1_TAG:
        raise malformed("not a COSE_Sign1 message")
    parts = item.value
    if type(parts) not in (tuple, list) or len(parts) != 4:
        raise malformed("COSE_Sign1 must be an array of 4")
    protected, unprotected, payload, signature = parts
    if type(protected) is not bytes or type(payload) is not bytes:
        raise malformed("protected header and payload must be byte strings")
    if type(signature) is not bytes or len(signature) != 64:
        raise malformed("an Ed25519 signature is 64 bytes")
    if not isinstance(unprotected, Mapping):
        raise malformed("unprotected header must be a map")
    unprotected_size = 1 if not unprotected else len(cbor2.dumps(dict(unprotected)))
    expected = (
        2  # tag 18 and the array head
        + _bstr_size(len(protected))
        + unprotected_size
        + _bstr_size(len(payload))
        + 66  # the 64-byte signature with its head
    )
    if expected != len(message):
        raise malformed("message has trailing bytes or a non-shortest encoding")
    return protected, unprotected, payload, signature


def _bstr_size(length: int) -> int:
    """Encoded size of a byte string of ``length`` bytes, head included."""
    if length < 24:
        return 1 + length
    if length < 0x100:
        return 2 + length
    return (3 if length < 0x10000 else 5) + length


def _protected_kid(protected: bytes) -> bytes | None:
    """Check the protected header (EdDSA only) and return its key id, if any.

    Every ticket signed with one key has byte-identical protected headers, so
    the result is cached by those bytes.
    """
    cached = _protected_cache.get(protected)
    if cached is not None:
        return cached
    header = _strict_loads(protected, "protected header")
    if not isinstance(header, dict):
        raise malformed("protected header is not a map")
    if header.get(HEADER_ALG) != ALG_EDDSA:
        raise malformed("algorithm is not EdDSA")
    kid = header.get(HEADER_KID)
    if kid is not None and not isinstance(kid, bytes):
        raise malformed("key id must be a byte string")
    if kid is not None and len(_protected_cache) < _PROTECTED_CACHE_LIMIT:
        _protected_cache[protected] = kid
    return kid
