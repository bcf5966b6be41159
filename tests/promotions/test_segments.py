"""Segments of the organiser's own buyers, a coupon granted to a segment, told only to those who
consented, every e-mail with a working opt-out link (real SMTP on loopback; SQLite, PostgreSQL)."""

from __future__ import annotations

import re

import httpx

from tests.box_office.conftest import Server
from tests.box_office.helpers import Concert, buy, hold
from tests.promotions.helpers import coupon, make


def mails_to(server: Server, address: str) -> list[str]:
    return [m.get_content() for m in server.smtp.messages if m["To"] == address]


def consent(buyer: httpx.Client, yes: bool) -> None:
    answer = buyer.put("/api/me/marketing", json={"consent": yes})
    assert answer.status_code == 200, answer.text


def test_segment_grant_tells_only_consenting_buyers_and_opt_out_is_honoured(server: Server) -> None:
    concert = Concert(server)
    stalls, vip, abandoned = (f"{n}.{id(concert)}@seg.test" for n in ("stalls", "vip", "left"))
    a, b, c = concert.buyer(email=stalls), concert.buyer(email=vip), concert.buyer(email=abandoned)
    consent(a, True)
    consent(c, True)
    buy(concert, a, best_available={"zone": "A", "quantity": 1})
    buy(concert, b, best_available={"zone": "VIP", "quantity": 1})
    held = hold(c, concert.session_id, best_available={"zone": "A", "quantity": 1}).json()
    assert c.delete(f"/api/holds/{held['id']}").status_code == 200
    other = Concert(server)
    buy(other, other.buyer(), best_available={"zone": "A", "quantity": 1})  # another organiser's buyer

    preview = "/api/organiser/segments/preview"
    assert make(concert.org, preview, {"kind": "past_buyers", "artist": "Concert", "city": "Hall"}, 200) == {
        "size": 2,
        "consenting": 1,
    }
    assert make(concert.org, preview, {"kind": "past_buyers", "zone": "VIP"}, 200)["size"] == 1
    assert make(concert.org, preview, {"kind": "abandoned"}, 200) == {"size": 1, "consenting": 1}

    gift = coupon(concert, kind="amount_off", value=2000)
    message = {"zh": "老朋友专享", "en": "For our returning fans"}
    told = make(
        concert.org,
        f"/api/coupons/{gift['id']}/grant",
        {"segment": {"kind": "past_buyers"}, "message": message},
        200,
    )
    assert told == {
        "segment_size": 2,
        "granted": 2,
        "told_by_email": 1,
        "told_by_sms": 0,
        "not_told_no_consent": 1,
    }
    assert mails_to(server, vip) == []
    [mail] = mails_to(server, stalls)
    assert "老朋友专享" in mail and "For our returning fans" in mail
    code = re.search(r"Coupon Coupon: ([A-Z0-9]{12})", mail)
    link = re.search(r"Unsubscribe: (\S+)", mail)
    assert code and link
    stranger = Concert(server)
    refused = stranger.org.post(
        f"/api/coupons/{gift['id']}/grant", json={"segment": {"kind": "past_buyers"}, "message": message}
    )
    assert refused.status_code == 403

    # the code works for its buyer; the opt-out link stops further messages
    held = hold(a, concert.session_id, best_available={"zone": "A", "quantity": 1}).json()
    used = a.post(
        "/api/orders",
        json={"hold_id": held["id"], "email": stalls, "coupon": code.group(1)},
        headers={"Idempotency-Key": "seg-1"},
    )
    assert used.status_code == 201 and used.json()["total_cents"] == 18000
    out = httpx.get(link.group(1))
    assert out.status_code == 200 and "退订" in out.text
    again = coupon(concert, kind="amount_off", value=1000)
    told = make(
        concert.org,
        f"/api/coupons/{again['id']}/grant",
        {"segment": {"kind": "past_buyers"}, "message": message},
        200,
    )
    assert told["granted"] == 2 and told["told_by_email"] == 0 and len(mails_to(server, stalls)) == 1
    told = make(
        concert.org,
        f"/api/coupons/{again['id']}/grant",
        {"segment": {"kind": "abandoned"}, "message": message},
        200,
    )
    assert told["granted"] == 1 and told["told_by_email"] == 1 and len(mails_to(server, abandoned)) == 1
