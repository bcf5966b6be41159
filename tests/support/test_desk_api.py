"""The support desk over real HTTP (SQLite and PostgreSQL): the conversation, canned replies,
the FAQ, and who may do what on every route (a buyer only their own requests, staff only
requests about their own events)."""

from __future__ import annotations

from typing import Any

import httpx

from box_office.support.faq_template import TEMPLATE
from tests.box_office.conftest import Server
from tests.box_office.helpers import Concert, hold, order


def _pending_order(concert: Concert, buyer: httpx.Client, seat: str) -> int:
    held = hold(buyer, concert.session_id, seats=[seat])
    assert held.status_code == 201, held.text
    made = order(buyer, held.json()["id"])
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def _setup(server: Server) -> dict[str, Any]:
    mine, theirs = Concert(server), Concert(server)
    alice, bob = mine.buyer(), mine.buyer()
    return {
        "mine": mine,
        "theirs": theirs,
        "alice": alice,
        "bob": bob,
        "alice_order": _pending_order(mine, alice, "A-2-1"),
        "bob_order": _pending_order(mine, bob, "A-2-2"),
    }


def test_the_conversation_between_a_buyer_and_the_promoters_staff(server: Server) -> None:
    s = _setup(server)
    alice, staff = s["alice"], s["mine"].org
    opened = alice.post(
        "/api/support/requests",
        json={
            "order_id": s["alice_order"],
            "category": "refund",
            "message": "我想退票，可以吗？",
            "lang": "zh",
        },
    )
    assert opened.status_code == 201, opened.text
    request = opened.json()
    assert request["status"] == "open" and request["category_name"] == {"zh": "退票", "en": "Refund"}
    assert request["event_id"] == s["mine"].event_id and request["overdue"] is False
    assert 0 < request["seconds_left"] <= 4 * 3600
    rid = request["id"]

    listed = staff.get("/api/console/support/requests", params={"event_id": s["mine"].event_id}).json()
    assert [r["id"] for r in listed] == [rid]
    assert listed[0]["buyer"]["email"].endswith("@example.test")

    canned = staff.post(
        "/api/console/support/canned",
        json={
            "title": "refund how",
            "body_zh": "请在订单页点击退票。",
            "body_en": "Use Refund on the order page.",
        },
    )
    assert canned.status_code == 201, canned.text
    replied = staff.post(
        f"/api/console/support/requests/{rid}/messages", json={"canned_id": canned.json()["id"]}
    )
    assert replied.status_code == 200, replied.text
    assert replied.json()["status"] == "waiting_buyer"
    assert replied.json()["messages"][-1] == {
        **replied.json()["messages"][-1],
        "author": "staff",
        "body": "请在订单页点击退票。",
    }
    assert replied.json()["reply_due_at"] is None and replied.json()["first_reply_at"] is not None

    seen = alice.get(f"/api/support/requests/{rid}").json()
    assert [m["author"] for m in seen["messages"]] == ["buyer", "staff"]
    assert "buyer" not in seen  # staff-only details stay on the console
    back = alice.post(f"/api/support/requests/{rid}/messages", json={"message": "谢谢，已经退了"})
    assert back.json()["status"] == "open" and back.json()["reply_due_at"] is not None
    assert (
        alice.post(f"/api/support/requests/{rid}/status", json={"status": "waiting_buyer"}).status_code == 409
    )
    solved = alice.post(f"/api/support/requests/{rid}/status", json={"status": "solved"})
    assert solved.json()["status"] == "solved" and solved.json()["status_name"]["en"] == "Solved"
    assert [r["id"] for r in alice.get("/api/support/requests").json()] == [rid]

    assert staff.get("/api/console/support/requests", params={"status": "solved"}).json()[0]["id"] == rid
    assert staff.get("/api/console/support/requests", params={"status": "open"}).json() == []
    reopened = staff.post(f"/api/console/support/requests/{rid}/status", json={"status": "open"})
    assert reopened.json()["status"] == "open"
    own = staff.post(
        f"/api/console/support/requests/{rid}/messages", json={"message": "Done", "then": "solved"}
    )
    assert own.json()["status"] == "solved" and own.json()["messages"][-1]["body"] == "Done"


def test_every_route_refuses_other_buyers_other_organisers_and_no_token(server: Server) -> None:
    s = _setup(server)
    alice, bob = s["alice"], s["bob"]
    mine, theirs = s["mine"], s["theirs"]
    rid = alice.post(
        "/api/support/requests",
        json={"order_id": s["alice_order"], "category": "entry", "message": "Which gate?"},
    ).json()["id"]
    anon = server.client()

    # another buyer: not found, as if the request did not exist
    assert bob.get(f"/api/support/requests/{rid}").status_code == 404
    assert bob.post(f"/api/support/requests/{rid}/messages", json={"message": "hi"}).status_code == 404
    assert bob.post(f"/api/support/requests/{rid}/status", json={"status": "solved"}).status_code == 404
    assert bob.get("/api/support/requests").json() == []
    on_alices = bob.post(
        "/api/support/requests",
        json={"order_id": s["alice_order"], "category": "refund", "message": "refund it"},
    )
    assert on_alices.status_code == 404
    # a buyer token is not a staff token, and an organiser token is not a buyer's
    assert alice.get("/api/console/support/requests").status_code == 401
    assert mine.org.get(f"/api/support/requests/{rid}").status_code == 401

    # another organiser's staff
    other = theirs.org
    assert other.get("/api/console/support/requests").json() == []
    assert other.get("/api/console/support/requests", params={"event_id": mine.event_id}).status_code == 403
    assert other.get(f"/api/console/support/requests/{rid}").status_code == 403
    assert (
        other.post(f"/api/console/support/requests/{rid}/messages", json={"message": "x"}).status_code == 403
    )
    assert (
        other.post(f"/api/console/support/requests/{rid}/status", json={"status": "solved"}).status_code
        == 403
    )
    faq = {"entries": [TEMPLATE[0]]}
    assert other.put(f"/api/events/{mine.event_id}/faq", json=faq).status_code == 403
    foreign_canned = other.post(
        "/api/console/support/canned", json={"title": "t", "body_zh": "中文", "body_en": "english"}
    ).json()["id"]
    assert (
        mine.org.post(
            f"/api/console/support/requests/{rid}/messages", json={"canned_id": foreign_canned}
        ).status_code
        == 404
    )
    assert mine.org.delete(f"/api/console/support/canned/{foreign_canned}").status_code == 404
    assert mine.org.get("/api/console/support/canned").json() == []
    assert other.delete(f"/api/console/support/canned/{foreign_canned}").status_code == 204
    # nothing changed by the refusals
    assert (
        mine.org.get(f"/api/console/support/requests/{rid}").json()["messages"][-1]["body"] == "Which gate?"
    )

    # no token at all
    for method, path, body in [
        (
            "POST",
            "/api/support/requests",
            {"order_id": s["alice_order"], "category": "other", "message": "x"},
        ),
        ("GET", "/api/support/requests", None),
        ("GET", f"/api/support/requests/{rid}", None),
        ("POST", f"/api/support/requests/{rid}/messages", {"message": "x"}),
        ("POST", f"/api/support/requests/{rid}/status", {"status": "solved"}),
        ("POST", "/api/support/ask", {"event_id": mine.event_id, "question": "停车"}),
        ("PUT", f"/api/events/{mine.event_id}/faq", faq),
        ("GET", "/api/console/support/requests", None),
        ("GET", f"/api/console/support/requests/{rid}", None),
        ("POST", f"/api/console/support/requests/{rid}/messages", {"message": "x"}),
        ("POST", f"/api/console/support/requests/{rid}/status", {"status": "solved"}),
        ("GET", "/api/console/support/canned", None),
        ("POST", "/api/console/support/canned", {"title": "t", "body_zh": "a", "body_en": "b"}),
        ("DELETE", "/api/console/support/canned/1", None),
    ]:
        answer = anon.request(method, path, json=body)
        assert answer.status_code == 401, (method, path, answer.text)
        assert answer.json()["code"] == "unauthorized"


def test_the_promoter_edits_the_faq_and_buyers_read_it(server: Server) -> None:
    concert = Concert(server)
    template = server.client().get("/api/support/faq-template").json()
    assert {"doors", "bags", "children", "parking", "real_name", "refund_policy"} <= {
        e["topic"] for e in template
    }
    put = concert.org.put(f"/api/events/{concert.event_id}/faq", json={"entries": template})
    assert put.status_code == 200, put.text
    public = server.client().get(f"/api/events/{concert.event_id}/faq").json()
    assert [e["topic"] for e in public] == [e["topic"] for e in template]
    doubled = concert.org.put(f"/api/events/{concert.event_id}/faq", json={"entries": template[:1] * 2})
    assert doubled.status_code == 409 and doubled.json()["code"] == "duplicate_topic"
    assert server.client().get("/api/events/999999/faq").status_code == 404
    edited = {**template[3], "answer_en": "No parking at all: take the metro."}
    concert.org.put(f"/api/events/{concert.event_id}/faq", json={"entries": [edited]})
    buyer = concert.buyer()
    reply = buyer.post(
        "/api/support/ask", json={"event_id": concert.event_id, "question": "Is there parking?"}
    )
    assert reply.status_code == 200, reply.text
    assert reply.json()["kind"] == "faq" and reply.json()["text"] == "No parking at all: take the metro."


def test_invalid_bodies_are_422_not_500(server: Server) -> None:
    s = _setup(server)
    alice = s["alice"]
    cases = [
        {"order_id": s["alice_order"], "category": "lost", "message": "x"},
        {"order_id": s["alice_order"], "category": "other", "message": ""},
        {"category": "other", "message": "no order, no event"},
        {"order_id": s["alice_order"], "category": "other", "message": "   "},
    ]
    for body in cases:
        answer = alice.post("/api/support/requests", json=body)
        assert answer.status_code == 422, (body, answer.text)
    assert (
        alice.post(
            "/api/support/requests", json={"event_id": 999999, "category": "other", "message": "x"}
        ).status_code
        == 404
    )


def test_blank_text_and_missing_alternatives_are_refused_as_the_schema_says(server: Server) -> None:
    s = _setup(server)
    alice, staff = s["alice"], s["mine"].org
    rid = alice.post(
        "/api/support/requests", json={"order_id": s["alice_order"], "category": "other", "message": "hello"}
    ).json()["id"]
    assert alice.post(f"/api/support/requests/{rid}/messages", json={"message": " \t "}).status_code == 422
    assert staff.post(f"/api/console/support/requests/{rid}/messages", json={}).status_code == 422
    assert (
        staff.post(f"/api/console/support/requests/{rid}/messages", json={"then": "solved"}).status_code
        == 422
    )
    schema = server.client().get("/openapi.json").json()["components"]["schemas"]
    assert [a["required"] for a in schema["StaffReplyIn"]["anyOf"]] == [["message"], ["canned_id"]]
    assert [a["required"] for a in schema["RequestIn"]["anyOf"]] == [["order_id"], ["event_id"]]
    nulls = {"order_id": None, "event_id": None, "category": "other", "message": "x"}
    assert alice.post("/api/support/requests", json=nulls).status_code == 422
