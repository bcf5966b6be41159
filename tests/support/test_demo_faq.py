"""The demo concert (``encore demo``) gets an FAQ, so its buyers can ask the bot."""

from __future__ import annotations

from encore.demo.concert import create_concert
from tests.box_office.conftest import Server


def test_the_demo_concert_has_an_faq_the_bot_answers_from(server: Server) -> None:
    concert = create_concert(server.url)
    faq = server.client().get(f"/api/events/{concert.event_id}/faq").json()
    assert {"doors", "bags", "children", "parking", "real_name", "refund_policy"} <= {e["topic"] for e in faq}
    buyer = server.client(
        server.client().post("/api/accounts", json={"email": "fan@example.test"}).json()["token"]
    )
    reply = buyer.post("/api/support/ask", json={"event_id": concert.event_id, "question": "几点开始入场？"})
    assert reply.json()["kind"] == "faq" and reply.json()["topic"] == "doors"
