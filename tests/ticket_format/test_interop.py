"""Interoperability with an independent COSE implementation (pycose), both ways."""

from __future__ import annotations

import base45 as base45_lib
import cbor2
from cryptography.hazmat.primitives import serialization
from pycose.algorithms import EdDSA
from pycose.headers import KID, Algorithm
from pycose.keys import OKPKey
from pycose.keys.curves import Ed25519
from pycose.keys.keyops import SignOp, VerifyOp
from pycose.keys.keyparam import KpKeyOps
from pycose.messages import Sign1Message

from ticket_format import Keyring, SigningKey, TicketClaims, issue, verify


def _pycose_decode(raw: bytes) -> Sign1Message:
    """pycose's own decoding of a COSE_Sign1.

    ``Sign1Message.decode`` checks for a ``list`` and a ``dict``, but cbor2 6
    returns a tagged array as a tuple and a map inside it as a frozendict, so
    the tag is checked here and pycose is handed a list and a dict; header
    parsing and the signature check are pycose's own.
    """
    item = cbor2.loads(raw)
    assert item.tag == 18
    protected, unprotected, payload, signature = item.value
    message = Sign1Message.from_cose_obj([protected, dict(unprotected), payload, signature], True)
    assert isinstance(message, Sign1Message)
    return message


def _pycose_key(key: SigningKey, *, private: bool) -> OKPKey:
    public = key.private_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    if not private:
        return OKPKey(crv=Ed25519, x=public, optional_params={KpKeyOps: [VerifyOp]})
    secret = key.private_key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return OKPKey(crv=Ed25519, x=public, d=secret, optional_params={KpKeyOps: [SignOp, VerifyOp]})


def test_our_tokens_verify_in_pycose(signing_key: SigningKey, reserved_claims: TicketClaims):
    token = issue(reserved_claims, signing_key)
    message = _pycose_decode(base45_lib.b45decode(token[4:]))
    message.key = _pycose_key(signing_key, private=False)
    assert message.verify_signature()
    assert message.phdr[Algorithm] is EdDSA
    assert message.phdr[KID] == signing_key.kid
    assert cbor2.loads(message.payload)[1] == bytes.fromhex(reserved_claims.ticket_id.replace("-", ""))


def test_pycose_tampered_payload_fails_in_pycose(signing_key: SigningKey, reserved_claims: TicketClaims):
    """The positive interop check above is able to fail."""
    raw = base45_lib.b45decode(issue(reserved_claims, signing_key)[4:])
    message = _pycose_decode(raw)
    message.payload = message.payload[:-1] + bytes([message.payload[-1] ^ 1])
    message.key = _pycose_key(signing_key, private=False)
    assert not message.verify_signature()


def test_pycose_signed_messages_verify_here():
    key = SigningKey.generate()
    claims = TicketClaims(ticket_id="PY-1", event_id=9, zone="A", seat="1-1", valid_from=100, valid_until=200)
    message = Sign1Message(
        phdr={Algorithm: EdDSA, KID: key.kid},
        payload=cbor2.dumps(claims.to_cbor_map()),
    )
    message.key = _pycose_key(key, private=True)
    token = "EN1:" + base45_lib.b45encode(message.encode(tag=True)).decode()
    assert verify(token, Keyring([key.trusted()])) == claims


def test_pycose_signed_message_with_kid_in_unprotected_header_verifies_here():
    key = SigningKey.generate()
    claims = TicketClaims(ticket_id="PY-2", event_id=9)
    message = Sign1Message(
        phdr={Algorithm: EdDSA}, uhdr={KID: key.kid}, payload=cbor2.dumps(claims.to_cbor_map())
    )
    message.key = _pycose_key(key, private=True)
    token = "EN1:" + base45_lib.b45encode(message.encode(tag=True)).decode()
    assert verify(token, Keyring([key.trusted()])) == claims
