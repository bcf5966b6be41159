"""Shared fixtures: keys and realistic claims."""

from __future__ import annotations

import pytest

from ticket_format import Keyring, SigningKey, TicketClaims


@pytest.fixture(scope="session")
def signing_key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture(scope="session")
def keyring(signing_key: SigningKey) -> Keyring:
    return Keyring([signing_key.trusted()])


@pytest.fixture()
def reserved_claims() -> TicketClaims:
    """A realistic reserved-seat ticket, as the box office issues them."""
    return TicketClaims(
        ticket_id="3f1c8a52-9d4e-4b6a-8f0e-2b7c5d9e1a34",
        event_id=412,
        session_id=1003,
        zone="VIP-A",
        seat="B-12-07",
        ticket_type="adult",
        valid_from=1_795_000_000,
        valid_until=1_795_030_000,
        version=2,
    )


@pytest.fixture()
def ga_claims() -> TicketClaims:
    return TicketClaims(
        ticket_id="GA-000123",
        event_id="spring-tour-2027",
        session_id="SH-2",
        zone="FLOOR",
        ticket_type="standing",
        valid_from=1_795_000_000,
        valid_until=1_795_100_000,
    )
