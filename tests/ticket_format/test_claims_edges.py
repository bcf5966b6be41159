"""Claims decoding at its edges: every field through the compact map, exact error messages,
and the gate's fast path taking the common shapes (the general path is the fallback).

Written against mutants of ``ticket_format/claims.py`` that survived the older tests
(bench/mutation.py): each test here names the kind of bug it would catch.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from ticket_format import ErrorKind, TicketClaims, TicketError
from ticket_format.claims import _fast_claims

TICKET_UUID = "0f8e2c4a-1b3d-4e5f-8a9b-0c1d2e3f4a5b"
PACKED_UUID = uuid.UUID(TICKET_UUID).bytes

FULL = TicketClaims(
    ticket_id=TICKET_UUID,
    event_id=42,
    session_id="s-7",
    zone="A",
    seat="A-12-7",
    ticket_type="student",
    valid_from=1_800_000_000,
    valid_until=1_800_050_000,
    version=3,
)


def _malformed(packed: object) -> str:
    with pytest.raises(TicketError) as caught:
        TicketClaims.from_cbor_map(packed)
    assert caught.value.kind is ErrorKind.MALFORMED
    return caught.value.detail


def test_every_field_survives_the_compact_map() -> None:
    """A field read from the wrong key (zone from seat, type from valid_from ...) shows here."""
    packed = FULL.to_cbor_map()
    assert packed[1] == PACKED_UUID
    assert packed[8] == 50_000, "valid_until travels as its distance from valid_from"
    back = TicketClaims.from_cbor_map(packed)
    assert back == FULL
    assert (back.zone, back.seat, back.ticket_type) == ("A", "A-12-7", "student")
    assert (back.valid_from, back.valid_until, back.version) == (1_800_000_000, 1_800_050_000, 3)


@pytest.mark.parametrize(
    "packed",
    [
        {1: PACKED_UUID, 2: 1},
        {1: "T-1", 2: "event", 3: 9},
        {1: PACKED_UUID, 2: 1, 4: "GA", 6: "adult"},
        {1: PACKED_UUID, 2: 1, 7: 100, 8: 0},
        {1: PACKED_UUID, 2: 1, 7: 100, 8: 50, 9: 0},
        FULL.to_cbor_map(),
    ],
)
def test_the_fast_path_takes_the_common_shapes(packed: dict[Any, Any]) -> None:
    """The hot path must not fall back for ordinary tickets (and must agree with the general path)."""
    fast = _fast_claims(packed)
    assert fast is not None
    slow = TicketClaims.from_cbor_map({**packed, "note": "x"})
    assert fast == slow._replace(extra=fast.extra)


def test_packed_uuid_is_spelled_canonically_on_both_paths() -> None:
    fast = TicketClaims.from_cbor_map({1: PACKED_UUID, 2: 1})
    slow = TicketClaims.from_cbor_map({1: PACKED_UUID, 2: 1, "gate_hint": "N"})
    assert fast.ticket_id == slow.ticket_id == TICKET_UUID
    assert slow.extra == {"gate_hint": "N"}


def test_version_defaults_to_one_and_zero_is_allowed() -> None:
    assert TicketClaims.from_cbor_map({1: "T", 2: 1}).version == 1
    assert TicketClaims.from_cbor_map({1: "T", 2: 1, 9: 0}).version == 0
    assert TicketClaims.from_cbor_map({1: "T", 2: 1, 9: 0, "x": 1}).version == 0
    assert TicketClaims.from_json({"ticket_id": "T", "event_id": 1, "version": 0}).version == 0


def test_relative_validity_on_the_general_path() -> None:
    claims = TicketClaims.from_cbor_map({1: "T", 2: 1, 7: 100, 8: 50, "x": 1})
    assert (claims.valid_from, claims.valid_until) == (100, 150)
    only_from = TicketClaims.from_cbor_map({1: "T", 2: 1, 7: 100, "x": 1})
    assert (only_from.valid_from, only_from.valid_until) == (100, None)
    only_until = TicketClaims.from_cbor_map({1: "T", 2: 1, 8: 100, "x": 1})
    assert (only_until.valid_from, only_until.valid_until) == (None, 100)


def test_a_window_that_ends_before_it_starts_is_malformed() -> None:
    detail = _malformed({1: "T", 2: 1, 7: 100, 8: -1})
    assert detail == "bad claims: 'valid_until' is before 'valid_from'"
    assert TicketClaims.from_cbor_map({1: "T", 2: 1, 7: 100, 8: 0}).valid_until == 100


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        (1, 5, "bad claims: 'ticket_id' must be a string"),
        (1, "", "bad claims: 'ticket_id' must not be empty"),
        (1, None, "bad claims: 'ticket_id' must not be null"),
        (2, b"e", "bad claims: 'event_id' must be a string or an integer"),
        (2, True, "bad claims: 'event_id' must be a string or an integer"),
        (3, 1.5, "bad claims: 'session_id' must be a string or an integer"),
        (4, 1, "bad claims: 'zone' must be a string"),
        (5, 2, "bad claims: 'seat' must be a string"),
        (6, 3, "bad claims: 'ticket_type' must be a string"),
        (7, "now", "bad claims: 'valid_from' must be an integer"),
        (8, "later", "bad claims: 'valid_until' must be an integer"),
        (9, "2", "bad claims: 'version' must be an integer"),
        (9, -1, "bad claims: 'version' must be >= 0"),
    ],
)
def test_a_wrong_value_in_any_field_is_malformed(key: int, value: object, message: str) -> None:
    """The fast path must not accept what the general path refuses (both paths are tried)."""
    base: dict[Any, Any] = {1: "T-1", 2: 7}
    base[key] = value
    assert _malformed(base) == message
    assert _malformed({**base, "extra": 1}) == message


def test_packed_ticket_ids_of_the_wrong_length_are_malformed() -> None:
    assert _malformed({1: PACKED_UUID[:15], 2: 1}) == "packed ticket id is not 16 bytes"
    assert _malformed({1: PACKED_UUID + b"\x00", 2: 1}) == "packed ticket id is not 16 bytes"


def test_map_and_key_errors_say_what_is_wrong() -> None:
    assert _malformed([1, 2]) == "payload is not a map"
    assert _malformed({1: "T", 2: 1, 99: 0}) == "unknown claim key 99"
    assert _malformed({1: "T", 2: 1, b"k": 0}) == "bad claim key"
    assert _malformed({1: "T", 2: 1, "ticket_id": "U"}) == "bad claim key"
    assert _malformed({1: "T"}) == "bad claims: claims need at least 'ticket_id' and 'event_id'"


def test_extra_fields_are_bounded() -> None:
    sixteen = {f"x{i}": i for i in range(16)}
    claims = TicketClaims.from_cbor_map({1: "T", 2: 1, **sixteen})
    assert dict(claims.extra) == sixteen
    assert _malformed({1: "T", 2: 1, **sixteen, "x16": 16}) == "bad claims: at most 16 extra fields"


def test_json_errors_say_what_is_wrong() -> None:
    with pytest.raises(ValueError, match=r"^claims must be a JSON object$"):
        TicketClaims.from_json(["ticket_id"])
    for bad_name in ("", 5):
        with pytest.raises(ValueError, match=r"^extra field names must be non-empty strings$"):
            TicketClaims.from_json({"ticket_id": "T", "event_id": 1, bad_name: 1})
    with pytest.raises(ValueError, match=r"^'version' must be >= 0$"):
        TicketClaims.from_json({"ticket_id": "T", "event_id": 1, "version": -1})
