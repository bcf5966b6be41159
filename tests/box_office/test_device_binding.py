"""Binding a ticket to the buyer's phone (issue #16, rotating codes), over HTTP.

Bound: re-issued with the device key (claim ``dk``) at a higher version, fed to the venue, and
audited; the same key again changes nothing; another key is refused until step-up exists.
"""

from __future__ import annotations

import base64
import time
from typing import Any

import httpx
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.box_office.conftest import Server
from tests.box_office.helpers import Concert, buy
from ticket_format import verify
from ticket_format.errors import ErrorKind, TicketError
from ticket_format.keys import Keyring
from ticket_format.rotating import device_key_of, live_code, verify_live_code
from wire.venue_feed import parse_page


def public_b64(key: Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def bind(buyer: httpx.Client, ticket_id: str, key: Ed25519PrivateKey) -> httpx.Response:
    return buyer.post(f"/api/tickets/{ticket_id}/device-key", json={"public_key": public_b64(key)})


def audit_rows(server: Server, ticket_id: str) -> list[Any]:
    engine = sa.create_engine(server.settings.database_url)
    try:
        with engine.connect() as conn:
            return list(
                conn.execute(
                    sa.text(
                        "SELECT old_fingerprint, new_fingerprint, account_id, version FROM device_bindings"
                        " WHERE ticket_id = :t ORDER BY id"
                    ),
                    {"t": ticket_id},
                )
            )
    finally:
        engine.dispose()


def test_binding_reissues_with_the_device_key_and_feeds_the_new_version(server: Server) -> None:
    concert = Concert(server)
    buyer = concert.buyer()
    ticket = buy(concert, buyer, seats=["A-2-1"])["tickets"][0]
    feed = concert.feed_client()
    ring = Keyring.from_json(feed.get("/api/feed/keyring").json()["keyring"])
    cursor = parse_page(feed.get("/api/feed").json()).next_cursor
    phone = Ed25519PrivateKey.generate()

    bound = bind(buyer, ticket["id"], phone)
    assert bound.status_code == 200, bound.text
    body = bound.json()
    assert body["version"] == 2 and body["seat"] == "A-2-1"
    claims = verify(body["token"], ring)
    assert claims.version == 2
    assert device_key_of(claims) == phone.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert buyer.get(f"/api/tickets/{ticket['id']}").json()["token"] == body["token"]
    # The phone's code verifies against the box office's keyring, now; stale two minutes later.
    now = time.time()
    code = live_code(body["token"], phone, now)
    assert verify_live_code(code, ring, now, 20).claims.version == 2
    try:
        verify_live_code(code, ring, now + 120, 20)
        raise AssertionError("an old code was accepted")
    except TicketError as exc:
        assert exc.kind is ErrorKind.STALE_CODE
    # The gates learn the new version through the feed (contract 5).
    entries = parse_page(feed.get("/api/feed", params={"after": cursor}).json()).entries
    assert [(e.kind, e.ticket.ticket_id, e.ticket.version) for e in entries] == [("changed", ticket["id"], 2)]
    rows = audit_rows(server, ticket["id"])
    assert len(rows) == 1 and rows[0][0] is None and rows[0][1] == body["device_key_fingerprint"]
    assert rows[0][3] == 2

    # Same key again (page reopened, request retried): nothing changes, nothing is fed.
    again = bind(buyer, ticket["id"], phone)
    assert again.status_code == 200 and again.json() == body
    assert parse_page(feed.get("/api/feed", params={"after": cursor}).json()).entries == entries
    assert len(audit_rows(server, ticket["id"])) == 1

    # A later re-issue (organiser: leaked QR) keeps the binding.
    reissued = concert.org.post(f"/api/tickets/{ticket['id']}/reissue")
    assert reissued.status_code == 200, reissued.text
    token3 = buyer.get(f"/api/tickets/{ticket['id']}").json()["token"]
    assert device_key_of(verify(token3, ring)) == device_key_of(claims)


def test_another_phone_is_refused_without_step_up_and_not_audited(server: Server) -> None:
    concert = Concert(server)
    buyer = concert.buyer()
    ticket = buy(concert, buyer, seats=["A-2-2"])["tickets"][0]
    assert bind(buyer, ticket["id"], Ed25519PrivateKey.generate()).status_code == 200
    other = bind(buyer, ticket["id"], Ed25519PrivateKey.generate())
    assert other.status_code == 409, other.text
    assert other.json()["code"] == "rebind_needs_step_up"
    assert buyer.get(f"/api/tickets/{ticket['id']}").json()["version"] == 2
    assert len(audit_rows(server, ticket["id"])) == 1


def test_only_the_buyer_binds_and_only_a_key(server: Server) -> None:
    concert = Concert(server)
    buyer = concert.buyer()
    ticket = buy(concert, buyer, seats=["A-2-3"])["tickets"][0]
    path = f"/api/tickets/{ticket['id']}/device-key"
    key = {"public_key": public_b64(Ed25519PrivateKey.generate())}
    assert server.client().post(path, json=key).status_code == 401
    stranger = concert.buyer().post(path, json=key)
    assert stranger.status_code == 403 and stranger.json()["code"] == "forbidden"
    missing = buyer.post("/api/tickets/no-such-ticket/device-key", json=key)
    assert missing.status_code == 404
    for bad in ["A" * 43 + "!", "A" * 42, base64.urlsafe_b64encode(b"x" * 31).decode(), "+" * 43]:
        refused = buyer.post(path, json={"public_key": bad})
        assert refused.status_code == 422, (bad, refused.text)
        assert refused.json()["code"] in {"invalid", "bad_device_key"}
    assert buyer.post(path, json={"public_key": 5}).status_code == 422
    assert buyer.get(f"/api/tickets/{ticket['id']}").json()["version"] == 1
    assert audit_rows(server, ticket["id"]) == []
