"""Binding a ticket to the buyer's phone (issue #16, rotating codes), over HTTP.

Bound: re-issued with the device key (claim ``dk``) at a higher version, fed to the venue, and
audited; the same key again changes nothing; another key is refused until step-up exists.
"""

from __future__ import annotations

import base64
import re
import time
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from box_office.core.device_binding import (
    StepUp,
    StepUpWait,
    check_step_up,
    fingerprint,
    step_up_digest,
    step_up_wait,
)
from box_office.core.errors import RuleError
from tests.box_office.conftest import Server
from tests.box_office.helpers import Concert, buy
from ticket_format import verify
from ticket_format.errors import ErrorKind, TicketError
from ticket_format.keys import Keyring
from ticket_format.rotating import (
    bound_payload,
    compact_live_code,
    device_key_of,
    live_code,
    parse_compact_code,
    verify_compact_code,
    verify_live_code,
)
from wire.venue_feed import parse_page


def raw(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def public_b64(key: Ed25519PrivateKey) -> str:
    return base64.urlsafe_b64encode(raw(key)).rstrip(b"=").decode()


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
    # ... with the signed bytes a gate verifies the phone's compact EN3 codes against
    issued = parse_page(feed.get("/api/feed").json()).entries[0].ticket
    assert issued.ticket_id == ticket["id"] and issued.bound_payload is None  # not bound yet
    assert entries[0].ticket.bound_payload == bound_payload(body["token"])
    compact = parse_compact_code(compact_live_code(body["token"], phone, now))
    assert verify_compact_code(compact, entries[0].ticket.bound_payload, ring, now, 20).claims.seat == "A-2-1"
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
    last = parse_page(feed.get("/api/feed", params={"after": cursor}).json()).entries[-1].ticket
    assert (last.version, last.bound_payload) == (3, bound_payload(token3))


def emailed_code(server: Server, ticket_id: str, already: int) -> str:
    """The code of the newest step-up e-mail about the ticket (after ``already`` of them)."""
    deadline = time.monotonic() + 10
    while True:
        mails = [
            text
            for m in server.smtp.messages
            if "Code to move" in str(m["Subject"]) and ticket_id in (text := str(m.get_content()))
        ]
        if len(mails) > already or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert len(mails) == already + 1, len(mails)
    found = re.search(r"Your confirmation code: (\d{6})", mails[-1])
    assert found and "您的确认码" in mails[-1]
    return found.group(1)


def test_another_phone_needs_the_emailed_code_and_is_audited(server: Server) -> None:
    concert = Concert(server)
    buyer = concert.buyer()
    ticket = buy(concert, buyer, seats=["A-2-2"])["tickets"][0]
    first, second, third = (Ed25519PrivateKey.generate() for _ in range(3))
    step_up = f"/api/tickets/{ticket['id']}/device-key/step-up"
    assert buyer.post(step_up).json()["code"] == "not_bound"  # nothing to move yet
    assert bind(buyer, ticket["id"], first).status_code == 200
    other = bind(buyer, ticket["id"], second)
    assert other.status_code == 409 and other.json()["code"] == "rebind_needs_step_up"
    assert concert.buyer().post(step_up).status_code == 403

    asked = buyer.post(step_up)
    assert asked.status_code == 202 and asked.json()["expires_in"] == 600
    code = emailed_code(server, ticket["id"], 0)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    path = f"/api/tickets/{ticket['id']}/device-key"
    move = {"public_key": public_b64(second)}
    for _ in range(5):
        refused = buyer.post(path, json=move | {"step_up_code": wrong})
        assert refused.status_code == 403 and refused.json()["code"] == "step_up_wrong", refused.text
    locked = buyer.post(path, json=move | {"step_up_code": code})
    assert locked.status_code == 403 and locked.json()["code"] == "step_up_locked"
    assert buyer.get(f"/api/tickets/{ticket['id']}").json()["version"] == 2

    assert buyer.post(step_up).status_code == 202
    code = emailed_code(server, ticket["id"], 1)
    moved = buyer.post(path, json=move | {"step_up_code": code})
    assert moved.status_code == 200, moved.text
    assert moved.json()["version"] == 3
    # The first phone's codes stop working: its key is no longer the ticket's.
    ring = Keyring.from_json(concert.feed_client().get("/api/feed/keyring").json()["keyring"])
    assert verify(moved.json()["token"], ring).version == 3
    spent = buyer.post(path, json={"public_key": public_b64(third), "step_up_code": code})
    assert spent.status_code == 403 and spent.json()["code"] == "step_up_missing"

    rows = audit_rows(server, ticket["id"])
    account = rows[0][2]
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        (None, fingerprint(raw(first)), account, 2),
        (fingerprint(raw(first)), fingerprint(raw(second)), account, 3),
    ]


def test_step_up_codes_expire_and_are_kept_as_keyed_digests() -> None:
    digest = step_up_digest(b"k" * 32, "t1", "123456")
    assert digest != step_up_digest(b"j" * 32, "t1", "123456") != step_up_digest(b"k" * 32, "t2", "123456")
    fresh = StepUp(digest, expires_at=1000.0, attempts=0, used=False)
    check_step_up(fresh, digest, 999.0)
    for state, now, reason in [
        (fresh, 1000.0, "step_up_expired"),
        (fresh._replace(attempts=5), 10.0, "step_up_locked"),
        (fresh._replace(used=True), 10.0, "step_up_missing"),
        (None, 10.0, "step_up_missing"),
    ]:
        with pytest.raises(RuleError) as refused:
            check_step_up(state, digest, now)
        assert refused.value.code == reason
    with pytest.raises(RuleError, match="wrong"):
        check_step_up(fresh, step_up_digest(b"k" * 32, "t1", "654321"), 10.0)


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


def test_step_up_code_requests_are_rate_limited_per_ticket(server: Server) -> None:
    concert = Concert(server)
    buyer = concert.buyer()
    ticket = buy(concert, buyer, seats=["A-3-3"])["tickets"][0]
    assert bind(buyer, ticket["id"], Ed25519PrivateKey.generate()).status_code == 200
    step_up = f"/api/tickets/{ticket['id']}/device-key/step-up"
    for _ in range(3):
        assert buyer.post(step_up).status_code == 202
    refused = buyer.post(step_up)
    assert refused.status_code == 429, refused.text
    body = refused.json()
    assert body["code"] == "step_up_too_many_ticket"
    assert 890 <= body["retry_after"] <= 900 and refused.headers["Retry-After"] == str(body["retry_after"])
    assert "try again in 15 min" in body["detail"] and "15 分钟后再试" in body["detail"]
    # the refusal sent nothing and spent nothing: the third code still moves the ticket
    code = emailed_code(server, ticket["id"], 2)
    moved = buyer.post(
        f"/api/tickets/{ticket['id']}/device-key",
        json={"public_key": public_b64(Ed25519PrivateKey.generate()), "step_up_code": code},
    )
    assert moved.status_code == 200, moved.text


def test_step_up_code_requests_are_rate_limited_per_account(server: Server) -> None:
    concert = Concert(server)
    buyer = concert.buyer()
    tickets = buy(concert, buyer, seats=["A-3-4", "A-3-5", "A-3-6", "A-3-7"])["tickets"]
    for ticket in tickets:
        assert bind(buyer, ticket["id"], Ed25519PrivateKey.generate()).status_code == 200
    asked = [
        buyer.post(f"/api/tickets/{t['id']}/device-key/step-up").status_code
        for t in tickets
        for _ in range(3)
    ]
    assert asked == [202] * 10 + [429, 429], asked  # 10 per account: the fourth ticket's 2nd and 3rd
    refused = buyer.post(f"/api/tickets/{tickets[3]['id']}/device-key/step-up")
    assert refused.json()["code"] == "step_up_too_many_account"
    assert 3590 <= int(refused.headers["Retry-After"]) <= 3600
    assert "您的账户" in refused.json()["detail"]
    # another buyer is not held back by this one
    other = concert.buyer()
    mine = buy(concert, other, seats=["A-3-8"])["tickets"][0]
    assert bind(other, mine["id"], Ed25519PrivateKey.generate()).status_code == 200
    assert other.post(f"/api/tickets/{mine['id']}/device-key/step-up").status_code == 202


@pytest.mark.parametrize(
    ("ticket_times", "account_times", "expected"),
    [
        ([], [], None),
        ([100.0, 200.0], [100.0, 200.0], None),
        ([100.0, 200.0, 300.0], [], None),  # 100 left the 900 s window just now
        ([200.0, 300.0, 400.0], [], StepUpWait("ticket", 100)),  # the oldest leaves at 1100
        ([10.0, 400.0, 500.0, 600.0], [], StepUpWait("ticket", 300)),  # 10 is out of the window
        ([999.0, 950.0, 900.0, 10.0], [], StepUpWait("ticket", 800)),  # any order
        ([], [float(t) for t in range(1, 11)], StepUpWait("account", 2601)),
        ([], [float(t) for t in range(1, 10)], None),
        ([800.0, 850.0, 900.0], [float(t) for t in range(1, 11)], StepUpWait("ticket", 700)),
    ],
)
def test_step_up_wait_rule(
    ticket_times: list[float], account_times: list[float], expected: StepUpWait | None
) -> None:
    assert step_up_wait(ticket_times, account_times, 1000.0) == expected


def order_mails(server: Server, order_id: int, count: int) -> list[Any]:
    """The order's e-mails once ``count`` of them arrived (polled, 10 s at most)."""
    deadline = time.monotonic() + 10
    while True:
        page = f"{server.settings.public_url}/me/orders/{order_id}"  # this server's order (sinks are shared)
        mine = re.compile(re.escape(page) + r"(?!\d)")
        mails = [m for m in server.smtp.messages if mine.search(m.get_body(("plain",)).get_content())]
        if len(mails) >= count or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert len(mails) == count, [str(m["Subject"]) for m in mails]
    return mails


def test_a_bound_tickets_qr_is_not_mailed_again(server: Server) -> None:
    concert = Concert(server)
    buyer = concert.buyer()
    done = buy(concert, buyer, seats=["A-3-9", "A-3-10"])
    bound, printed = done["tickets"]
    first = order_mails(server, done["id"], 1)[0]
    assert len([p for p in first.walk() if p.get_content_type() == "image/png"]) == 2  # inline (CID)
    assert bind(buyer, bound["id"], Ed25519PrivateKey.generate()).status_code == 200
    # the organiser re-issues the bound ticket (say, a leaked picture): the order is mailed again
    assert concert.org.post(f"/api/tickets/{bound['id']}/reissue").status_code == 200
    again = order_mails(server, done["id"], 2)[1]
    images = [p for p in again.walk() if p.get_content_type() == "image/png"]
    assert [p.get_filename() for p in images] == [f"{printed['id']}.png"]
    text = again.get_body(("plain",)).get_content()
    page = f"/tickets/{bound['id']}/live"
    assert f"请在手机上打开门票页面出示动态二维码：{server.settings.public_url}{page}" in text
    assert (
        f"Open the ticket page on your phone and show its live code: {server.settings.public_url}{page}"
        in text
    )
    assert f"/tickets/{printed['id']}/live" not in text


def test_a_holder_change_of_a_bound_ticket_mails_no_qr(server: Server) -> None:
    from tests.box_office.helpers import hold, order, pay, wait_status

    concert = Concert(server, session={"real_name": True})
    buyer = concert.buyer()
    held = hold(buyer, concert.session_id, seats=["A-1-9"]).json()
    holder = {"name": "Li Si", "id_type": "passport", "id_number": "E12345678"}
    made = order(buyer, held["id"], tickets=[{"seat": "A-1-9", "holder": holder}]).json()
    pay(buyer, made["id"])
    ticket = wait_status(buyer, made["id"], "ticketed")["tickets"][0]
    order_mails(server, made["id"], 1)
    assert bind(buyer, ticket["id"], Ed25519PrivateKey.generate()).status_code == 200
    changed = buyer.put(
        f"/api/tickets/{ticket['id']}/holder",
        json={"name": "Wang Wu", "id_type": "passport", "id_number": "E87654321"},
    )
    assert changed.status_code == 200, changed.text
    again = order_mails(server, made["id"], 2)[1]
    assert [p for p in again.walk() if p.get_content_type() == "image/png"] == []
    text = again.get_body(("plain",)).get_content()
    assert f"/tickets/{ticket['id']}/live" in text and "截图无法入场" in text
