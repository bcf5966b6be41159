"""Compact live codes (``EN3:``): the QR carries the ticket id, version, step and the two
signatures; the signed bytes come from the gate's ticket list (``bound_payload``).

The box office signature is checked over the list's bytes and the QR's ticket signature, so a
tampered list refuses codes; the device and time checks are those of ``EN2:``.
"""

from __future__ import annotations

import base64
import uuid

import cbor2
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from ticket_format import ErrorKind, Keyring, SigningKey, TicketClaims, TicketError, base45, issue
from ticket_format.qr import alphanumeric_version
from ticket_format.rotating import (
    PERIOD,
    bind_device_key,
    bound_payload,
    compact_live_code,
    live_code,
    parse_bound_payload,
    parse_compact_code,
    verify_compact_code,
)
from ticket_format.token import signature_of

NOW = 119_702_733 * PERIOD + 3.0  # 3 s into a period
SKEW = 30.0


def _public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


class Bound:
    def __init__(self, ticket_id: str | None = None, version: int = 2) -> None:
        self.signer, self.device = SigningKey.generate(), Ed25519PrivateKey.generate()
        self.claims = TicketClaims(
            ticket_id=ticket_id or str(uuid.uuid4()), event_id=123, session_id=456, zone="A",
            seat="A-12-34", ticket_type="standard", valid_from=int(NOW) - 3600,
            valid_until=int(NOW) + 7200, version=version,
        )  # fmt: skip
        self.token = issue(bind_device_key(self.claims, _public(self.device)), self.signer)
        self.keyring = Keyring([self.signer.trusted()])
        self.payload = bound_payload(self.token)

    def verify(self, code: str, at: float = NOW, payload: str | None = None) -> object:
        return verify_compact_code(
            parse_compact_code(code), self.payload if payload is None else payload, self.keyring, at, SKEW
        )


@pytest.fixture
def bound() -> Bound:
    return Bound()


def test_a_fresh_compact_code_verifies_with_the_lists_payload(bound: Bound) -> None:
    code = compact_live_code(bound.token, bound.device, NOW)
    assert code.startswith("EN3:")
    verified = verify_compact_code(parse_compact_code(code), bound.payload, bound.keyring, NOW, SKEW)
    assert verified.claims.seat == "A-12-34" and verified.claims.version == 2
    assert verified.step == int(NOW // PERIOD)
    assert verified.signature == signature_of(bound.token)  # the seal's key: from the QR only
    assert code != compact_live_code(bound.token, bound.device, NOW + PERIOD)  # it rotates


def test_the_code_layout_is_the_contract(bound: Bound) -> None:
    """DESIGN contract 1, written out independently of the encoder."""
    code = compact_live_code(bound.token, bound.device, NOW)
    ticket_id, version, step, ticket_sig, device_sig = cbor2.loads(base45.decode(code[4:]))
    assert ticket_id == uuid.UUID(bound.claims.ticket_id).bytes and version == 2
    assert step == int(NOW // PERIOD) and ticket_sig == signature_of(bound.token)
    signed = b"encore-rotating-v2" + ticket_sig + step.to_bytes(8, "big")
    bound.device.public_key().verify(device_sig, signed)  # raises if the layout drifted
    protected, payload = cbor2.loads(base64.urlsafe_b64decode(bound.payload + "=="))
    assert cbor2.loads(protected)[4] == bound.signer.kid and cbor2.loads(payload)["dk"] == _public(
        bound.device
    )
    assert (protected, payload) == parse_bound_payload(bound.payload)


def test_a_reserved_seat_code_fits_qr_10_m(bound: Bound) -> None:
    code = compact_live_code(bound.token, bound.device, NOW)
    assert alphanumeric_version(code) <= 10, len(code)
    assert len(code) < len(live_code(bound.token, bound.device, NOW))


def test_a_text_ticket_id_travels_as_text() -> None:
    bound = Bound(ticket_id="T-0001")
    code = compact_live_code(bound.token, bound.device, NOW)
    assert cbor2.loads(base45.decode(code[4:]))[0] == "T-0001"
    assert parse_compact_code(code).ticket_id == "T-0001"
    assert bound.verify(code).claims.ticket_id == "T-0001"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("shown_at", "scanned_at", "fresh"),
    [
        pytest.param(NOW, NOW + 20, True, id="20 s later, within the skew"),
        pytest.param(NOW, NOW - 3 + PERIOD + SKEW, True, id="period end + skew: last accepted second"),
        pytest.param(NOW, NOW - 3 + PERIOD + SKEW + 1, False, id="one second beyond: a replay"),
        pytest.param(NOW, NOW + 3600, False, id="a screenshot an hour later"),
        pytest.param(NOW + 45, NOW, False, id="phone clock 45 s ahead"),
        pytest.param(NOW + 27, NOW, True, id="phone clock 27 s ahead, within the skew"),
        pytest.param(NOW - 3 - SKEW, NOW, True, id="the period ending exactly skew ago"),
    ],
)
def test_skew_edges_and_replays(bound: Bound, shown_at: float, scanned_at: float, fresh: bool) -> None:
    code = compact_live_code(bound.token, bound.device, shown_at)
    if fresh:
        bound.verify(code, scanned_at)
    else:
        with pytest.raises(TicketError) as error:
            bound.verify(code, scanned_at)
        assert error.value.kind is ErrorKind.STALE_CODE


def test_another_device_key_is_refused(bound: Bound) -> None:
    with pytest.raises(TicketError) as error:
        bound.verify(compact_live_code(bound.token, Ed25519PrivateKey.generate(), NOW))
    assert error.value.kind is ErrorKind.INVALID_SIGNATURE


def test_a_tampered_payload_refuses_the_code(bound: Bound) -> None:
    """The list cannot mint or alter a ticket: its bytes must verify with the QR's signature."""
    code = compact_live_code(bound.token, bound.device, NOW)
    protected, payload = parse_bound_payload(bound.payload)
    moved = payload.replace(b"A-12-34", b"A-01-01")  # a better seat
    altered = base64.urlsafe_b64encode(cbor2.dumps([protected, moved])).rstrip(b"=").decode()
    # the attacker's own phone key in the payload: still the box office's signature fails
    thief = Ed25519PrivateKey.generate()
    claims = cbor2.loads(payload)
    claims["dk"] = _public(thief)
    rekeyed = base64.urlsafe_b64encode(cbor2.dumps([protected, cbor2.dumps(claims)])).rstrip(b"=").decode()
    for text in (altered, rekeyed):
        with pytest.raises(TicketError) as error:
            bound.verify(
                compact_live_code(bound.token, thief, NOW) if text == rekeyed else code, payload=text
            )
        assert error.value.kind is ErrorKind.INVALID_SIGNATURE


def test_another_tickets_payload_is_refused() -> None:
    """Two tickets of one signer: the list's copy of B cannot verify A's code."""
    a = Bound()
    b_token = issue(
        bind_device_key(a.claims._replace(ticket_id=str(uuid.uuid4())), _public(a.device)), a.signer
    )
    with pytest.raises(TicketError) as error:
        a.verify(compact_live_code(a.token, a.device, NOW), payload=bound_payload(b_token))
    assert error.value.kind is ErrorKind.INVALID_SIGNATURE


def test_an_unknown_signing_key_is_unknown_key(bound: Bound) -> None:
    code = compact_live_code(bound.token, bound.device, NOW)
    with pytest.raises(TicketError) as error:
        verify_compact_code(
            parse_compact_code(code), bound.payload, Keyring([SigningKey.generate().trusted()]), NOW, SKEW
        )
    assert error.value.kind is ErrorKind.UNKNOWN_KEY


def test_an_unbound_ticket_has_no_compact_code() -> None:
    signer, device = SigningKey.generate(), Ed25519PrivateKey.generate()
    static = issue(TicketClaims(ticket_id="T-1", event_id=7), signer)
    code = compact_live_code(static, device, NOW)
    with pytest.raises(TicketError) as error:
        verify_compact_code(
            parse_compact_code(code), bound_payload(static), Keyring([signer.trusted()]), NOW, SKEW
        )
    assert error.value.kind is ErrorKind.MALFORMED


@pytest.mark.parametrize(
    "garbage",
    [
        "EN3:",
        "EN3:%%%",
        "EN2:ABC",
        "EN3:" + "A" * 900,
        "EN3:" + base45.encode(cbor2.dumps([b"x" * 16, 1, 2, b"s" * 64])),  # 4 parts
        "EN3:" + base45.encode(cbor2.dumps([b"x" * 15, 1, 2, b"s" * 64, b"d" * 64])),  # bad id
        "EN3:" + base45.encode(cbor2.dumps([b"x" * 16, -1, 2, b"s" * 64, b"d" * 64])),  # version
        "EN3:" + base45.encode(cbor2.dumps([b"x" * 16, 1, 2**41, b"s" * 64, b"d" * 64])),  # step
        "EN3:" + base45.encode(cbor2.dumps([b"x" * 16, 1, 2, b"s" * 63, b"d" * 64])),  # short sig
        "EN3:" + base45.encode(cbor2.dumps([b"x" * 16, 1, 2, b"s" * 64, b"d" * 64]) + b"\0"),  # trailing
    ],
)
def test_malformed_codes(garbage: str) -> None:
    with pytest.raises(TicketError) as error:
        parse_compact_code(garbage)
    assert error.value.kind is ErrorKind.MALFORMED


@pytest.mark.parametrize(
    "text", ["", "%%%", "AAAA", "A" * 1300, base64.urlsafe_b64encode(cbor2.dumps([b"p"])).decode()]
)
def test_malformed_payloads(bound: Bound, text: str) -> None:
    with pytest.raises(TicketError) as error:
        bound.verify(compact_live_code(bound.token, bound.device, NOW), payload=text)
    assert error.value.kind is ErrorKind.MALFORMED


_cbor_leaves = st.none() | st.booleans() | st.integers() | st.binary(max_size=70) | st.text(max_size=20)


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(
        st.text(max_size=300),
        st.builds(lambda v: "EN3:" + base45.encode(cbor2.dumps(v)), st.lists(_cbor_leaves, max_size=6)),
        st.builds(lambda raw: "EN3:" + base45.encode(raw), st.binary(max_size=200)),
    ),
    st.one_of(
        st.text(max_size=50),
        st.builds(
            lambda v: base64.urlsafe_b64encode(cbor2.dumps(v)).rstrip(b"=").decode(),
            st.lists(_cbor_leaves, max_size=3),
        ),
    ),
)
def test_random_codes_and_payloads_raise_only_ticket_errors(code: str, payload: str) -> None:
    keyring = Keyring([_SIGNER.trusted()])
    try:
        verify_compact_code(parse_compact_code(code), payload, keyring, NOW, SKEW)
    except TicketError:
        pass
    else:
        raise AssertionError("random input verified")


_SIGNER = SigningKey.generate()
