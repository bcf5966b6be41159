"""The QR budget from DESIGN.md: a reserved-seat ticket fits QR version 8 at ECC level M."""

from __future__ import annotations

from ticket_format import SigningKey, TicketClaims, issue
from ticket_format.qr import make_qr


def test_reserved_seat_ticket_fits_version_8_m(signing_key: SigningKey, reserved_claims: TicketClaims):
    token = issue(reserved_claims, signing_key)
    qr = make_qr(token)
    print(f"\nreserved-seat token: {len(token)} characters -> QR {qr.version}-{qr.error}, mode {qr.mode}")
    assert qr.error == "M"
    assert qr.mode == "alphanumeric"
    assert qr.version <= 8


def test_reissued_ticket_with_higher_version_still_fits(
    signing_key: SigningKey, reserved_claims: TicketClaims
):
    token = issue(reserved_claims._replace(version=250), signing_key)
    assert make_qr(token).version <= 8


def test_a_much_longer_ticket_needs_a_bigger_code(signing_key: SigningKey, reserved_claims: TicketClaims):
    """The size check is able to fail."""
    bloated = reserved_claims._replace(seat="Section 112, Row 23, Seat 18, aisle side")
    assert make_qr(issue(bloated, signing_key)).version > 8
