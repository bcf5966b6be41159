"""Every single-character change, truncation and appended character is rejected for the right reason.

The expected reason comes from an independent oracle: the ``base45`` package
and a strict ``cbor2`` decode, not from the code under test.
"""

from __future__ import annotations

import io
from collections.abc import Mapping

import base45 as base45_lib
import cbor2
import pytest

from ticket_format import ErrorKind, Keyring, SigningKey, TicketClaims, TicketError, issue, verify

RFC9285_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
EXTRA_CHARACTERS = "a z\x00\x7fé中\n\t"


def oracle_reason(token: str, keyring: Keyring) -> ErrorKind:
    """What a correct verifier must say about a token that is not the original one."""
    if not token.startswith("EN1:"):
        return ErrorKind.MALFORMED
    if any(ch not in RFC9285_ALPHABET for ch in token[4:]):  # the base45 package tolerates some
        return ErrorKind.MALFORMED
    try:
        raw = base45_lib.b45decode(token[4:])
    except Exception:
        return ErrorKind.MALFORMED
    stream = io.BytesIO(raw)
    try:
        item = cbor2.CBORDecoder(stream).decode()
    except Exception:
        return ErrorKind.MALFORMED
    if stream.tell() != len(raw) or cbor2.dumps(item) != raw:
        return ErrorKind.MALFORMED
    if not isinstance(item, cbor2.CBORTag) or item.tag != 18 or len(item.value) != 4:
        return ErrorKind.MALFORMED
    protected, unprotected, payload, signature = item.value
    if not all(isinstance(part, bytes) for part in (protected, payload, signature)) or len(signature) != 64:
        return ErrorKind.MALFORMED
    if not isinstance(unprotected, Mapping):
        return ErrorKind.MALFORMED
    try:
        header = cbor2.loads(protected)
        if cbor2.dumps(header) != protected:
            return ErrorKind.MALFORMED
    except Exception:
        return ErrorKind.MALFORMED
    if not isinstance(header, dict) or header.get(1) != -8:
        return ErrorKind.MALFORMED
    kid = header.get(4, unprotected.get(4))
    if kid is not None and not isinstance(kid, bytes):
        return ErrorKind.MALFORMED
    if not kid or not keyring.candidates(kid):
        return ErrorKind.UNKNOWN_KEY
    return ErrorKind.INVALID_SIGNATURE


@pytest.fixture()
def token(signing_key: SigningKey, reserved_claims: TicketClaims) -> str:
    return issue(reserved_claims, signing_key)


def assert_rejected_like_oracle(variants: list[str], original: str, keyring: Keyring) -> dict[str, int]:
    seen: dict[str, int] = {}
    for variant in variants:
        if variant == original:
            continue
        with pytest.raises(TicketError) as caught:
            verify(variant, keyring)
        assert caught.value.kind is oracle_reason(variant, keyring), repr(variant)
        seen[caught.value.kind.value] = seen.get(caught.value.kind.value, 0) + 1
    return seen


def test_every_single_character_change_is_rejected(token: str, keyring: Keyring):
    variants = [
        token[:i] + replacement + token[i + 1 :]
        for i in range(len(token))
        for replacement in RFC9285_ALPHABET + EXTRA_CHARACTERS
    ]
    seen = assert_rejected_like_oracle(variants, token, keyring)
    # The token's parts are all reachable by a one-character change.
    assert set(seen) == {"malformed", "unknown_key", "invalid_signature"}


def test_every_truncation_is_rejected(token: str, keyring: Keyring):
    seen = assert_rejected_like_oracle([token[:i] for i in range(len(token))], token, keyring)
    assert sum(seen.values()) == len(token)


def test_every_appended_character_is_rejected(token: str, keyring: Keyring):
    variants = [token + extra for extra in RFC9285_ALPHABET + EXTRA_CHARACTERS]
    variants += [token + extra + more for extra in RFC9285_ALPHABET for more in RFC9285_ALPHABET[:10]]
    seen = assert_rejected_like_oracle(variants, token, keyring)
    assert set(seen) == {"malformed"}


def test_every_single_byte_change_of_the_message_is_rejected(
    signing_key: SigningKey, reserved_claims: TicketClaims, keyring: Keyring
):
    """Below the text layer too: flip each byte of the COSE message to a few values."""
    raw = base45_lib.b45decode(issue(reserved_claims, signing_key)[4:])
    variants = []
    for i in range(len(raw)):
        for value in {0x00, 0xFF, raw[i] ^ 0x01, raw[i] ^ 0x80}:
            if value != raw[i]:
                changed = raw[:i] + bytes([value]) + raw[i + 1 :]
                variants.append("EN1:" + base45_lib.b45encode(changed).decode())
    seen = assert_rejected_like_oracle(variants, "", keyring)
    assert set(seen) == {"malformed", "unknown_key", "invalid_signature"}


def test_a_valid_signature_over_different_claims_is_still_ours_only(
    signing_key: SigningKey, reserved_claims: TicketClaims, keyring: Keyring
):
    """Splicing the signature of one ticket onto another's payload fails."""
    other = reserved_claims._replace(seat="B-12-08")
    a = cbor2.loads(base45_lib.b45decode(issue(reserved_claims, signing_key)[4:]))
    b = cbor2.loads(base45_lib.b45decode(issue(other, signing_key)[4:]))
    spliced = cbor2.dumps(cbor2.CBORTag(18, [a.value[0], {}, b.value[2], a.value[3]]))
    with pytest.raises(TicketError) as caught:
        verify("EN1:" + base45_lib.b45encode(spliced).decode(), keyring)
    assert caught.value.kind is ErrorKind.INVALID_SIGNATURE
