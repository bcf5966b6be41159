"""The buyer pages' session (issue #13): cookie flags, no session fixation, CSRF, and pages
that show only the signed-in buyer's orders."""

from __future__ import annotations

import re

import httpx

from box_office.core.otp import normalise_phone
from tests.box_office.buyer_fixtures import buyers_server, code_sent_to, new_phone, sign_in, skip
from tests.box_office.conftest import Server
from tests.box_office.helpers import Concert, buy

__all__ = ["buyers_server"]


def csrf_of(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


def page_sign_in(server: Server, browser: httpx.Client, phone: str) -> httpx.Response:
    form = browser.get("/me/signin")
    before = len(server.sms.sent)
    sent = browser.post(
        "/me/signin", data={"csrf": csrf_of(form), "next": "/me/orders", "channel": "sms", "target": phone}
    )
    assert sent.status_code == 200, sent.text
    challenge = re.search(r'name="challenge" value="([^"]+)"', sent.text).group(1)  # type: ignore[union-attr]
    code = code_sent_to(server, normalise_phone(phone), before)
    return browser.post(
        "/me/signin/verify",
        data={"csrf": csrf_of(sent), "next": "/me/orders", "challenge": challenge, "code": code},
    )


def test_session_cookie_is_new_at_sign_in_httponly_and_samesite(buyers_server: Server) -> None:
    browser = buyers_server.client()
    planted = "attacker-chosen-session-value"
    browser.cookies.set("encore_session", planted, domain="127.0.0.1")
    signed = page_sign_in(buyers_server, browser, new_phone())
    assert signed.status_code == 303 and signed.headers["location"] == "/me/orders"
    cookie = next(h for h in signed.headers.get_list("set-cookie") if h.startswith("encore_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    value = cookie.split(";")[0].split("=", 1)[1]
    assert value != planted and len(value) >= 40
    # the planted value signs nobody in; the new one does
    attacker = buyers_server.client()
    attacker.cookies.set("encore_session", planted, domain="127.0.0.1")
    assert attacker.get("/me/orders").status_code == 303
    browser.cookies.clear()
    browser.cookies.set("encore_session", value, domain="127.0.0.1")
    assert browser.get("/me/orders").status_code == 200


def test_forms_refuse_cross_site_and_tokenless_posts(buyers_server: Server) -> None:
    browser = buyers_server.client()
    form = browser.get("/me/signin")
    data = {"csrf": csrf_of(form), "next": "/me/orders", "channel": "sms", "target": new_phone()}
    missing = browser.post("/me/signin", data=data | {"csrf": ""})
    assert missing.status_code == 403 and "刷新" in missing.text
    other = buyers_server.client()
    other_token = csrf_of(other.get("/me/signin"))
    assert browser.post("/me/signin", data=data | {"csrf": other_token}).status_code == 403
    evil = browser.post("/me/signin", data=data, headers={"Origin": "https://evil.example"})
    assert evil.status_code == 403
    assert len([1 for to, _ in buyers_server.sms.sent if to == normalise_phone(data["target"])]) == 0
    assert browser.post("/me/signin", data=data).status_code == 200  # the page's own form works
    # signed in: the sign-out form needs the session's token too
    signed = buyers_server.client()
    page_sign_in(buyers_server, signed, new_phone())
    assert signed.post("/me/signout", data={"csrf": other_token}).status_code == 403
    assert signed.get("/me/orders").status_code == 200
    out = signed.post("/me/signout", data={"csrf": csrf_of(signed.get("/me/account"))})
    assert out.status_code == 303 and "storage" in out.headers["clear-site-data"]
    assert signed.get("/me/orders").status_code == 303


def test_pages_show_only_the_buyers_own_orders(buyers_server: Server) -> None:
    concert = Concert(buyers_server)
    phone = new_phone()
    api, _ = sign_in(buyers_server, phone)
    done = buy(concert, api, seats=["A-1-1"])
    mine = buyers_server.client()
    stranger = buyers_server.client()
    page_sign_in(buyers_server, stranger, new_phone())
    assert stranger.get(f"/me/orders/{done['id']}").status_code == 404
    assert stranger.get("/me/orders/999999").status_code == 404
    # the page session of the same number is the same account
    skip(buyers_server, 61)
    page_sign_in(buyers_server, mine, phone)
    page = mine.get(f"/me/orders/{done['id']}", headers={"Accept-Language": "en"})
    assert page.status_code == 200 and "Test Concert" in page.text and "Test Hall" in page.text
    assert "Section A, row 1, seat 1" in page.text and "data:image/png;base64," in page.text
    assert f'href="/me/orders/{done["id"]}/refund"' not in page.text  # not built yet: shown as coming
    assert "coming soon" in page.text


def test_the_page_session_gives_the_seat_map_a_token_and_a_fresh_step_up(buyers_server: Server) -> None:
    concert = Concert(buyers_server)
    rule = concert.org.put(f"/api/events/{concert.event_id}/step-up", json={"above_cents": 10000})
    assert rule.status_code == 200
    browser = buyers_server.client()
    assert browser.post("/me/api-token", headers={"X-Encore-Page": "1"}).status_code == 401
    page_sign_in(buyers_server, browser, new_phone())
    assert browser.post("/me/api-token").status_code == 403  # not the page's own script
    made = browser.post("/me/api-token", headers={"X-Encore-Page": "1"})
    assert made.status_code == 200 and made.json()["device_id"].startswith("d1.")
    api = buyers_server.client(made.json()["token"])
    api.headers["X-Device-Id"] = made.json()["device_id"]
    held = api.post(f"/api/sessions/{concert.session_id}/holds", json={"seats": ["A-3-1"]}).json()
    order = api.post(
        "/api/orders", json={"hold_id": held["id"], "email": "a@b.test"}, headers={"Idempotency-Key": "k1"}
    )
    path = f"/api/orders/{order.json()['id']}/payments"
    assert api.post(path, json={"provider": "sandbox"}).json()["code"] == "step_up_required"
    proof = browser.post("/me/step-up-proof", headers={"X-Encore-Page": "1"})  # signed in just now
    assert proof.status_code == 200
    paid = api.post(path, json={"provider": "sandbox"}, headers={"X-Step-Up": proof.json()["step_up"]})
    assert paid.status_code == 201, paid.text
    skip(buyers_server, 301)  # five minutes later the sign-in is no longer fresh
    assert browser.post("/me/step-up-proof", headers={"X-Encore-Page": "1"}).status_code == 403
