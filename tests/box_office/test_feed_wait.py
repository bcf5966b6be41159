"""The feed's long poll: a caught-up sync server is answered as soon as a change commits.

No wall-clock upper bounds (a loaded machine is slow, not wrong): the waiting request is sent
before the sale (an httpx request hook tells when), must come back after the sale began and
with the sale in it; a server that did not hold it would have answered an empty page. Only
the lower bound of an unanswered wait is timed: a timer never fires early."""

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
    sent = threading.Event()
    feed.event_hooks["request"].append(lambda _request: sent.set())

    def wait_for_change() -> None:
        body = feed.get("/api/feed", params={"after": cursor, "wait": 20}, timeout=60).json()
        answer.update(body=body, answered_at=time.monotonic())

    waiter = threading.Thread(target=wait_for_change)
    waiter.start()
    assert sent.wait(30), "the waiting request was never sent"
    feed.event_hooks["request"].clear()
    sale_started = time.monotonic()
    assert waiter.is_alive(), "an empty feed with wait must be held back"
    buy(concert, concert.buyer(), seats=["A-2-1"])
    waiter.join(60)
    assert not waiter.is_alive()
    assert [e["kind"] for e in answer["body"]["entries"]] == ["issued"]
    assert answer["answered_at"] > sale_started  # held until the sale, not answered empty before


def test_a_wait_with_no_change_ends_empty_after_the_wait(server: Server) -> None:
    feed = Concert(server).feed_client()
    started = time.monotonic()
    body = feed.get("/api/feed", params={"wait": 0.5}).json()
    assert body["entries"] == [] and time.monotonic() - started >= 0.5
    assert feed.get("/api/feed", params={"wait": 31}).status_code == 422
    assert feed.get("/api/feed", params={"wait": "soon"}).status_code == 422
