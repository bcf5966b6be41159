"""The feed's long poll: a caught-up sync server is answered as soon as a change commits."""

from __future__ import annotations

import threading
import time
from typing import Any

from tests.box_office.conftest import Server
from tests.box_office.helpers import Concert, buy


def test_a_waiting_feed_request_returns_when_a_ticket_changes(server: Server) -> None:
    concert = Concert(server)
    feed = concert.feed_client()
    cursor = feed.get("/api/feed").json()["next_cursor"]
    answer: dict[str, Any] = {}

    def wait_for_change() -> None:
        started = time.monotonic()
        body = feed.get("/api/feed", params={"after": cursor, "wait": 20}, timeout=30).json()
        answer.update(body=body, seconds=time.monotonic() - started)

    waiter = threading.Thread(target=wait_for_change)
    waiter.start()
    time.sleep(1.0)
    assert waiter.is_alive(), "an empty feed with wait must be held back"
    buy(concert, concert.buyer(), seats=["A-2-1"])
    sold_at = time.monotonic()
    waiter.join(25)
    assert [e["kind"] for e in answer["body"]["entries"]] == ["issued"]
    assert 1.0 <= answer["seconds"] < 20
    assert time.monotonic() - sold_at < 5


def test_a_wait_with_no_change_ends_empty_after_the_wait(server: Server) -> None:
    feed = Concert(server).feed_client()
    started = time.monotonic()
    body = feed.get("/api/feed", params={"wait": 0.5}).json()
    assert body["entries"] == [] and time.monotonic() - started >= 0.5
    assert feed.get("/api/feed", params={"wait": 31}).status_code == 422
    assert feed.get("/api/feed", params={"wait": "soon"}).status_code == 422
