"""Rotating codes (``ticket_format.rotating``): a fresh code verifies, a replayed one is stale."""

from __future__ import annotations

import uuid

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ticket_format import ErrorKind, Keyring, SigningKey, TicketClaims, TicketError, issue, verify
from ticket_format.qr import alphanumeric_version
from ticket_format.rotating import PERIOD, bind_device_key, device_key_of, live_code, verify_live_code

NOW = 119_702_733 * PERIOD + 3.0  # 3 s into a period
SKEW = 30.0


def _public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@pytest.fixture
def bound() -> tuple[str, Ed25519PrivateKey, Keyring]:
    signer, device = SigningKey.generate(), Ed25519PrivateKey.generate()
    claims = TicketClaims(ticket_id=str(uuid.uuid4()), event_id=7, zone="A", seat="A-1-2", ticket_type="std")
    return issue(bind_device_key(claims, _public(device)), signer), device, Keyring([signer.trusted()])


def test_a_fresh_code_verifies_and_the_static_token_still_carries_the_binding(
    bound: tuple[str, Ed25519PrivateKey, Keyring],
) -> None:
    token, device, keyring = bound
    code = live_code(token, device, NOW)
    verified = verify_live_code(code, keyring, NOW, SKEW)
    assert verified.claims.seat == "A-1-2" and verified.step == int(NOW // PERIOD)
    assert device_key_of(verify(token, keyring)) == _public(device)  # contract 1 readers see it
    assert code != live_code(token, device, NOW + PERIOD)  # it rotates


@pytest.mark.parametrize(
    ("shown_at", "scanned_at", "fresh"),
    [
        pytest.param(NOW, NOW + 20, True, id="20 s later, within the skew"),
        pytest.param(NOW, NOW - 3 + PERIOD + SKEW, True, id="period end + skew: last accepted second"),
        pytest.param(NOW, NOW - 3 + PERIOD + SKEW + 1, False, id="one second beyond: a replay"),
        pytest.param(NOW, NOW + 3600, False, id="a screenshot an hour later"),
        pytest.param(NOW + 45, NOW, False, id="phone clock 45 s ahead: its period starts 42 s ahead"),
        pytest.param(NOW + 27, NOW, True, id="phone clock 27 s ahead, within the skew"),
        pytest.param(NOW - 3 - SKEW, NOW, True, id="the period ending exactly skew ago"),
    ],
)
def test_skew_edges_and_replays(
    bound: tuple[str, Ed25519PrivateKey, Keyring], shown_at: float, scanned_at: float, fresh: bool
) -> None:
    token, device, keyring = bound
    code = live_code(token, device, shown_at)
    if fresh:
        assert verify_live_code(code, keyring, scanned_at, SKEW).claims.zone == "A"
    else:
        with pytest.raises(TicketError) as error:
            verify_live_code(code, keyring, scanned_at, SKEW)
        assert error.value.kind is ErrorKind.STALE_CODE


def test_a_code_signed_by_another_device_key_is_refused(
    bound: tuple[str, Ed25519PrivateKey, Keyring],
) -> None:
    token, _, keyring = bound
    with pytest.raises(TicketError) as error:
        verify_live_code(live_code(token, Ed25519PrivateKey.generate(), NOW), keyring, NOW, SKEW)
    assert error.value.kind is ErrorKind.INVALID_SIGNATURE


def test_an_unbound_ticket_or_garbage_is_no_live_code() -> None:
    signer = SigningKey.generate()
    static = issue(TicketClaims(ticket_id="T-1", event_id=7), signer)
    keyring = Keyring([signer.trusted()])
    with pytest.raises(TicketError) as error:
        verify_live_code(live_code(static, Ed25519PrivateKey.generate(), NOW), keyring, NOW, SKEW)
    assert error.value.kind is ErrorKind.MALFORMED
    for garbage in ("EN2:", "EN2:%%%", "EN1:ABC", "EN2:" + "A" * 3000):
        with pytest.raises(TicketError) as error:
            verify_live_code(garbage, keyring, NOW, SKEW)
        assert error.value.kind is ErrorKind.MALFORMED


def test_code_size_in_qr_versions(bound: tuple[str, Ed25519PrivateKey, Keyring]) -> None:
    """Measured, not the issue's 10-M target: two Ed25519 signatures and a 32-byte key are 160
    bytes before any claim, so a reserved-seat code needs version 12 at M (see the report)."""
    token, device, _ = bound
    code = live_code(token, device, NOW)
    assert alphanumeric_version(token) <= 9  # the static token with the device key claim
    assert alphanumeric_version(code) <= 12
