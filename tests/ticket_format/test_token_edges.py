"""Token parsing at its edges, written to kill mutants of ticket_format/token.py.

The CBOR heads are checked against cbor2 at every length boundary, the signed bytes against
cbor2's own encoding of the Sig_structure (RFC 9052 section 4.4) at payload sizes that real
tickets never reach, and each refusal against its exact reason: the reason is what the gate
shows and logs, so a changed word is a changed contract."""

from __future__ import annotations

import base45 as base45_lib
import cbor2
import pytest

from ticket_format import Keyring, SigningKey, TicketClaims, TicketError, issue, verify, verify_cose
from ticket_format.errors import ErrorKind
from ticket_format.token import MAX_TOKEN_LENGTH, _bstr_head, _bstr_size, _sig_structure

BOUNDARIES = [0, 1, 23, 24, 25, 255, 256, 257, 65535, 65536, 65537]


@pytest.mark.parametrize("length", BOUNDARIES)
def test_byte_string_heads_match_cbor2(length: int) -> None:
    encoded = cbor2.dumps(bytes(length))
    assert _bstr_head(length) == encoded[: len(encoded) - length]
    assert _bstr_size(length) == len(encoded)


@pytest.mark.parametrize(
    ("p_len", "q_len"), [(5, 10), (255, 255), (256, 10), (10, 256), (300, 70000), (70000, 5)]
)
def test_sig_structure_matches_cbor2(p_len: int, q_len: int) -> None:
    protected, payload = b"p" * p_len, b"q" * q_len
    assert _sig_structure(protected, payload) == cbor2.dumps(["Signature1", protected, b"", payload])


KEY = SigningKey.generate()
KEYRING = Keyring([KEY.trusted()])
CLAIMS = TicketClaims(ticket_id="T-1", event_id=1)


def sign1(protected: object, unprotected: object, payload: object, signature: object, tag: int = 18) -> str:
    return (
        "EN1:"
        + base45_lib.b45encode(
            cbor2.dumps(cbor2.CBORTag(tag, [protected, unprotected, payload, signature]))
        ).decode()
    )


def reason(token: object, keyring: Keyring = KEYRING) -> tuple[str, str]:
    with pytest.raises(TicketError) as refused:
        verify(token, keyring)  # type: ignore[arg-type]
    return refused.value.kind.value, refused.value.detail


PROTECTED = cbor2.dumps({1: -8, 4: KEY.kid})


def test_each_refusal_names_its_reason() -> None:
    assert reason(42) == ("malformed", "token is not text")
    assert reason("hello") == ("malformed", "no EN1: prefix: not an Encore ticket")
    assert reason("EN1:" + "A" * MAX_TOKEN_LENGTH) == (
        "malformed",
        f"token longer than {MAX_TOKEN_LENGTH} characters",
    )
    assert reason("EN1:###")[1].startswith("bad Base45: ")
    assert reason("EN1:" + base45_lib.b45encode(b"\xff").decode())[1].startswith(
        "message is not valid CBOR ("
    )
    assert reason("EN1:" + base45_lib.b45encode(cbor2.dumps([1])).decode())[1] == "not a COSE_Sign1 message"
    assert reason(sign1(PROTECTED, {}, b"", b"s" * 64, tag=17))[1] == "not a COSE_Sign1 message"
    short = "EN1:" + base45_lib.b45encode(cbor2.dumps(cbor2.CBORTag(18, [1, 2, 3]))).decode()
    assert reason(short)[1] == "COSE_Sign1 must be an array of 4"
    assert reason(sign1("text", {}, b"", b"s" * 64))[1] == "protected header and payload must be byte strings"
    assert reason(sign1(PROTECTED, {}, b"", b"s" * 63))[1] == "an Ed25519 signature is 64 bytes"
    assert reason(sign1(PROTECTED, [], b"", b"s" * 64))[1] == "unprotected header must be a map"
    assert reason(sign1(cbor2.dumps([1]), {}, b"", b"s" * 64))[1] == "protected header is not a map"
    assert reason(sign1(cbor2.dumps({1: -7}), {}, b"", b"s" * 64))[1] == "algorithm is not EdDSA"
    assert (
        reason(sign1(cbor2.dumps({1: -8, 4: "kid"}), {}, b"", b"s" * 64))[1] == "key id must be a byte string"
    )
    assert reason(sign1(PROTECTED + b"\x00", {}, b"", b"s" * 64))[1] == "protected header has trailing bytes"
    assert reason(sign1(b"\xff", {}, b"", b"s" * 64))[1].startswith("protected header is not valid CBOR (")
    assert reason(sign1(cbor2.dumps({1: -8}), {}, b"", b"s" * 64)) == (
        "unknown_key",
        "message carries no key id",
    )
    stranger = SigningKey.generate()
    assert reason(issue(CLAIMS, stranger)) == ("unknown_key", f"key {stranger.kid.hex()} is not trusted here")
    assert reason(sign1(PROTECTED, {}, b"payload", b"s" * 64)) == (
        "invalid_signature",
        "signature does not verify: forged or altered",
    )


def test_a_token_of_exactly_the_maximum_length_is_parsed_not_refused_for_length() -> None:
    token = "EN1:" + "A" * (MAX_TOKEN_LENGTH - 4)
    assert len(token) == MAX_TOKEN_LENGTH
    assert not reason(token)[1].startswith("token longer")


def test_trailing_bytes_after_the_message_are_malformed() -> None:
    raw = base45_lib.b45decode(issue(CLAIMS, KEY)[4:])
    padded = "EN1:" + base45_lib.b45encode(raw + b"\x00").decode()
    assert reason(padded)[1] == "message has trailing bytes or a non-shortest encoding"


def test_an_unprotected_key_id_is_used_when_the_protected_header_has_none() -> None:
    protected = cbor2.dumps({1: -8})
    payload = cbor2.dumps(CLAIMS.to_cbor_map())
    signature = KEY.sign(_sig_structure(protected, payload))
    message = cbor2.dumps(cbor2.CBORTag(18, [protected, {4: KEY.kid}, payload, signature]))
    assert verify_cose(message, KEYRING) == CLAIMS


def test_a_signed_payload_that_is_not_cbor_is_malformed() -> None:
    payload = b"\xff\xff"
    signature = KEY.sign(_sig_structure(PROTECTED, payload))
    message = cbor2.dumps(cbor2.CBORTag(18, [PROTECTED, {}, payload, signature]))
    with pytest.raises(TicketError) as refused:
        verify_cose(message, KEYRING)
    assert (refused.value.kind, refused.value.detail) == (
        ErrorKind.MALFORMED,
        "signed payload is not valid CBOR",
    )
