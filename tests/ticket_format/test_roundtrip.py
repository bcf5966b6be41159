"""Issue -> verify round trips and claim validation."""

from __future__ import annotations

import pytest

from ticket_format import ErrorKind, Keyring, SigningKey, TicketClaims, TicketError, issue, verify
from ticket_format.claims import FIELD_KEYS


def test_reserved_seat_round_trip(signing_key: SigningKey, keyring: Keyring, reserved_claims: TicketClaims):
    token = issue(reserved_claims, signing_key)
    assert token.startswith("EN1:")
    assert verify(token, keyring) == reserved_claims
    assert not verify(token, keyring).is_general_admission


def test_general_admission_round_trip(signing_key: SigningKey, keyring: Keyring, ga_claims: TicketClaims):
    token = issue(ga_claims, signing_key)
    claims = verify(token, keyring)
    assert claims == ga_claims
    assert claims.seat is None and claims.is_general_admission
    assert claims.version == 1


def test_extra_fields_and_json_round_trip(signing_key: SigningKey, keyring: Keyring):
    data = {
        "ticket_id": "T1",
        "event_id": 7,
        "zone": "B",
        "valid_from": 10,
        "valid_until": 10,
        "gate_hint": "N",
    }
    claims = TicketClaims.from_json(data)
    back = verify(issue(claims, signing_key), keyring)
    assert back.to_json() == {**data, "version": 1}
    assert back.extra == {"gate_hint": "N"}


def test_valid_until_without_valid_from_is_absolute(signing_key: SigningKey, keyring: Keyring):
    claims = TicketClaims(ticket_id="T2", event_id=1, valid_until=1_900_000_000)
    assert verify(issue(claims, signing_key), keyring).valid_until == 1_900_000_000


def test_non_canonical_uuid_stays_text(signing_key: SigningKey, keyring: Keyring):
    upper = "3F1C8A52-9D4E-4B6A-8F0E-2B7C5D9E1A34"
    claims = TicketClaims(ticket_id=upper, event_id=1)
    assert verify(issue(claims, signing_key), keyring).ticket_id == upper


def test_a_ticket_of_another_key_is_unknown(reserved_claims: TicketClaims, keyring: Keyring):
    token = issue(reserved_claims, SigningKey.generate())
    with pytest.raises(TicketError) as caught:
        verify(token, keyring)
    assert caught.value.kind is ErrorKind.UNKNOWN_KEY


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "at least"),
        ({"ticket_id": "x"}, "at least"),
        ({"ticket_id": "", "event_id": 1}, "empty"),
        ({"ticket_id": 5, "event_id": 1}, "'ticket_id' must be a string"),
        ({"ticket_id": "x", "event_id": True}, "'event_id'"),
        ({"ticket_id": "x", "event_id": 1, "valid_from": "soon"}, "'valid_from' must be an integer"),
        ({"ticket_id": "x", "event_id": 1, "valid_from": 5, "valid_until": 4}, "before"),
        ({"ticket_id": "x", "event_id": 1, "version": -1}, ">= 0"),
        ({"ticket_id": "x", "event_id": 1, "version": None}, "must not be null"),
        ([1, 2], "JSON object"),
    ],
)
def test_bad_claims_are_refused_with_a_message(data: object, message: str):
    with pytest.raises(ValueError, match=message):
        TicketClaims.from_json(data)


def test_field_keys_are_stable():
    """The CBOR keys are part of the wire contract: renumbering breaks every ticket sold."""
    assert FIELD_KEYS == {
        "ticket_id": 1,
        "event_id": 2,
        "session_id": 3,
        "zone": 4,
        "seat": 5,
        "ticket_type": 6,
        "valid_from": 7,
        "valid_until": 8,
        "version": 9,
    }
