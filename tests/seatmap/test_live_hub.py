"""The shared live-status hub: one database poll per tick per session whatever the number of
subscribers, the same diffs for everyone, snapshots from memory, expiry pushes, slow subscribers
kept apart, and hubs that stop when nobody listens.

Rules of the board are unit tests; the hub runs for real against a real box office (SQLite, no
sweeper, so only the live channel's own bookkeeping can say that a hold ran out): holds are made
over HTTP, the hub under test either is the server's (read over SSE) or runs in this test's event
loop on its own ``Context`` for the same database file, so its queries can be counted apart.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, event

from box_office.api.live_hub import LiveHubs, Subscription
from box_office.catalog import seat_map as catalog_seat_map
from box_office.config import Settings
from box_office.context import Context
from box_office.core.live_status import SeatBoard
from box_office.store.db import Database
from box_office.vault import Vault
from tests.seatmap.conftest import BoxOffice, make_concert, run_box_office

# ------------------------------------------------------------------ the board (pure)


def test_the_board_shows_effective_statuses_and_leaves_removed_seats_out() -> None:
    board = SeatBoard.from_rows(
        [("A-1", "available", None), ("A-2", "held", 100.0), ("A-3", "held", 10.0), ("A-4", "removed", None)],
        now=50.0,
    )
    assert board.statuses == {"A-1": "available", "A-2": "held", "A-3": "available"}
    assert board.expiries == {"A-2": 100.0}


def test_a_row_read_again_unchanged_gives_no_diff() -> None:
    board = SeatBoard.from_rows([("A-1", "available", None)], now=0.0)
    assert board.apply([("A-1", "held", 30.0)], now=1.0) == {"A-1": "held"}
    assert board.apply([("A-1", "held", 30.0)], now=2.0) == {}


def test_a_hold_is_pushed_back_only_once_it_has_run_out() -> None:
    board = SeatBoard.from_rows([("A-1", "held", 30.0), ("A-2", "held", 30.0)], now=0.0)
    assert board.expire(now=29.9) == {}
    assert board.expire(now=30.0) == {}  # runs out after its expiry, as effective_status says
    assert board.expire(now=30.1) == {"A-1": "available", "A-2": "available"}
    assert board.expire(now=60.0) == {}
    assert board.expiries == {}


def test_an_extended_hold_is_not_pushed_back_at_its_first_expiry() -> None:
    board = SeatBoard.from_rows([("A-1", "held", 30.0)], now=0.0)
    assert board.tick([("A-1", "held", 90.0)], now=20.0) == {}  # same status, later expiry
    assert board.tick([], now=31.0) == {}
    assert board.tick([], now=90.5) == {"A-1": "available"}


def test_a_seat_sold_or_released_is_not_pushed_back_at_its_old_expiry() -> None:
    board = SeatBoard.from_rows([("A-1", "held", 30.0), ("A-2", "held", 30.0)], now=0.0)
    assert board.tick([("A-1", "sold", None), ("A-2", "available", None)], now=5.0) == {
        "A-1": "sold",
        "A-2": "available",
    }
    assert board.tick([("A-2", "held", 60.0)], now=6.0) == {"A-2": "held"}
    assert board.tick([], now=31.0) == {}
    assert board.statuses == {"A-1": "sold", "A-2": "held"}


def test_a_changed_row_whose_hold_already_ran_out_shows_available() -> None:
    board = SeatBoard.from_rows([("A-1", "available", None)], now=0.0)
    assert board.tick([("A-1", "held", 4.0)], now=5.0) == {}
    assert board.expiries == {}


def test_a_removed_seat_leaves_the_board_quietly_and_a_new_one_is_pushed() -> None:
    board = SeatBoard.from_rows([("A-1", "held", 30.0)], now=0.0)
    assert board.tick([("A-1", "removed", None), ("A-9", "available", None)], now=1.0) == {"A-9": "available"}
    assert board.statuses == {"A-9": "available"}
    assert board.tick([], now=31.0) == {}


# ------------------------------------------------------------------ the hub, for real


@pytest.fixture(scope="module")
def lazy_box_office(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BoxOffice]:
    tmp: Path = tmp_path_factory.mktemp("live_hub")
    yield from run_box_office(f"sqlite:///{tmp / 'box_office.sqlite3'}", tmp, "sqlite", sweep_interval=3600.0)


@pytest.fixture
def ctx(lazy_box_office: BoxOffice) -> Iterator[Context]:
    """This test's own view of the box office's database (its own engine, so its queries are its own)."""
    url = f"sqlite:///{lazy_box_office.state_dir / 'box_office.sqlite3'}"
    key = Fernet.generate_key()
    context = Context(
        settings=Settings(database_url=url, secret_key=key, state_dir=lazy_box_office.state_dir),
        db=Database(url),
        vault=Vault(key),
    )
    yield context
    context.db.engine.dispose()


class Statements:
    """Counts SQL statements that name one session, sent to one database by any engine in this
    process (the server's and this test's): the live poll (rows changed since a time) apart, and
    all of them."""

    def __init__(self, box_office: BoxOffice, session_id: int) -> None:
        self.database = str(box_office.state_dir / "box_office.sqlite3")
        self.session_id = session_id
        self.polls = 0
        self.all = 0
        self.full_reads = 0

    def __call__(self, conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        values = params.values() if isinstance(params, dict) else params
        if many or self.session_id not in tuple(values or ()):
            return
        if self.database not in str(conn.engine.url):  # another test's box office
            return
        self.all += 1
        if "session_seats.changed_at >=" in statement:
            self.polls += 1
        elif "FROM session_seats" in statement:
            self.full_reads += 1

    def __enter__(self) -> Statements:
        event.listen(Engine, "before_cursor_execute", self)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(Engine, "before_cursor_execute", self)


def parse(text: str) -> tuple[str, Any]:
    """(event name, data) of one Server-Sent Event."""
    lines = dict(line.split(": ", 1) for line in text.strip().split("\n"))
    return lines["event"], json.loads(lines["data"])


async def hold(buyer: httpx.Client, session_id: int, body: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    """Make a hold over HTTP without blocking the loop; when it was answered, and the answer."""
    response = await asyncio.to_thread(buyer.post, f"/api/sessions/{session_id}/holds", json=body)
    assert response.status_code == 201, response.text
    answered: dict[str, Any] = response.json()
    return time.time(), answered


async def until_held(subscription: Subscription, labels: set[str], timeout: float = 10.0) -> None:
    """Read events until every label has been shown held."""
    missing = set(labels)
    async with asyncio.timeout(timeout):
        while missing:
            text = await subscription.next_event()
            assert text is not None
            name, data = parse(text)
            seats = data["seats"] if name == "snapshot" else data if name == "seats" else {}
            missing -= {label for label, status in seats.items() if status == "held"}


async def read_stream(
    client: httpx.AsyncClient, url: str, out: list[tuple[str, Any]], done: asyncio.Event
) -> None:
    """Append every event of one SSE stream to ``out`` until ``done``."""
    async with client.stream("GET", url) as response:
        assert response.status_code == 200
        name = ""
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                out.append((name, json.loads(line[6:])))
            if done.is_set():
                return


async def test_fifty_subscribers_get_the_same_diffs_from_one_poll_per_tick(
    lazy_box_office: BoxOffice,
) -> None:
    concert = make_concert(lazy_box_office)
    url = f"{lazy_box_office.url}/api/sessions/{concert.session_id}/live"
    streams: list[list[tuple[str, Any]]] = [[] for _ in range(50)]
    done = asyncio.Event()
    limits = httpx.Limits(max_connections=60)
    async with httpx.AsyncClient(timeout=httpx.Timeout(30.0, read=60.0), limits=limits) as client:
        readers = [asyncio.create_task(read_stream(client, url, out, done)) for out in streams]
        try:
            async with asyncio.timeout(30):
                while not all(streams):
                    await asyncio.sleep(0.05)
            assert all(out[0][0] == "snapshot" for out in streams)
            with Statements(lazy_box_office, concert.session_id) as quiet:
                await asyncio.sleep(2.0)
            buyer = concert.buyer()
            labels = [f"A-2-{n}" for n in range(1, 9)]
            for pair in range(0, len(labels), 2):
                await hold(buyer, concert.session_id, {"seats": labels[pair : pair + 2]})
            await hold(buyer, concert.session_id, {"ga": [{"area": "FLOOR", "quantity": 3}]})

            def complete(out: list[tuple[str, Any]]) -> bool:
                held = {
                    label for name, data in out if name == "seats" for label, s in data.items() if s == "held"
                }
                return set(labels) <= held and any(name == "ga" for name, _ in out)

            async with asyncio.timeout(10):
                while not all(complete(out) for out in streams):
                    await asyncio.sleep(0.05)
            await asyncio.sleep(0.6)  # anything else a tick would bring
        finally:
            done.set()
            for reader in readers:
                reader.cancel()
            await asyncio.gather(*readers, return_exceptions=True)
    ticks = 2.0 / 0.25
    # one poll of changed rows per tick for the whole process (50 per tick if each subscriber polled)
    assert 1 <= quiet.polls <= ticks + 2, quiet.polls
    assert quiet.full_reads == 0
    assert quiet.all <= (ticks + 2) * 5, quiet.all  # the poll and the GA stock (4 statements)
    first = streams[0]
    assert all(out == first for out in streams)
    ga = [data for name, data in first if name == "ga"][-1]
    assert ga[0]["code"] == "FLOOR" and ga[0]["held"] == 3


@pytest.fixture
async def hubs(ctx: Context) -> AsyncIterator[LiveHubs]:
    hubs = LiveHubs(ctx)
    yield hubs
    await hubs.close()


def seat_map_statuses(ctx: Context, session_id: int) -> tuple[dict[str, str], list[dict[str, Any]]]:
    seat_map = catalog_seat_map.seat_map(ctx, session_id)
    return {s["label"]: s["status"] for s in seat_map["seats"]}, seat_map["ga"]


async def test_a_late_subscriber_gets_the_hubs_state_equal_to_the_seat_map(
    lazy_box_office: BoxOffice, ctx: Context, hubs: LiveHubs
) -> None:
    concert = make_concert(lazy_box_office, hold_seconds=2)
    buyer = concert.buyer()
    async with hubs.subscribe(concert.session_id) as early:
        # runs out while the hub is watching: the snapshot must say available, as seat_map does
        _, short = await hold(buyer, concert.session_id, {"seats": ["A-1-1", "A-1-2"]})
        await until_held(early, {"A-1-1", "A-1-2"})
        await asyncio.sleep(max(0.0, short["expires_at"] - time.time()) + 0.8)
        other = concert.buyer()
        await hold(
            other, concert.session_id, {"seats": ["A-3-1", "A-3-2"], "ga": [{"area": "FLOOR", "quantity": 2}]}
        )
        await until_held(early, {"A-3-1", "A-3-2"})
        await asyncio.sleep(0.6)  # the GA poll of the same tick, and one more
        with Statements(lazy_box_office, concert.session_id) as joining:
            async with hubs.subscribe(concert.session_id) as late:
                name, data = parse(late.snapshot())
        assert joining.all == 0  # from memory, not a query
        statuses, ga = seat_map_statuses(ctx, concert.session_id)
    assert name == "snapshot"
    assert data["seats"] == statuses
    assert data["ga"] == ga
    assert statuses["A-1-1"] == "available" and statuses["A-3-1"] == "held"
    assert ga[0]["held"] == 2


async def test_a_hold_is_pushed_back_when_it_runs_out(
    lazy_box_office: BoxOffice, ctx: Context, hubs: LiveHubs
) -> None:
    concert = make_concert(lazy_box_office, hold_seconds=3)
    async with hubs.subscribe(concert.session_id) as subscription:
        _, made = await hold(concert.buyer(), concert.session_id, {"seats": ["A-4-1", "A-4-2"]})
        await until_held(subscription, {"A-4-1", "A-4-2"})
        async with asyncio.timeout(10):
            while True:
                text = await subscription.next_event()
                assert text is not None
                name, data = parse(text)
                if name == "seats" and data.get("A-4-1") == "available":
                    break
        at = time.time()
    assert data == {"A-4-1": "available", "A-4-2": "available"}
    assert made["expires_at"] <= at <= made["expires_at"] + 1.0


async def test_a_slow_subscriber_gets_a_fresh_snapshot_and_does_not_delay_the_others(
    lazy_box_office: BoxOffice, ctx: Context
) -> None:
    concert = make_concert(lazy_box_office)
    hubs = LiveHubs(ctx, queue_size=2)
    seen: dict[str, float] = {}
    try:
        async with hubs.subscribe(concert.session_id) as slow, hubs.subscribe(concert.session_id) as fast:

            async def read_fast() -> None:
                while (text := await fast.next_event()) is not None:
                    name, data = parse(text)
                    if name == "seats":
                        for label, status in data.items():
                            if status == "held":
                                seen.setdefault(label, time.time())

            reader = asyncio.create_task(read_fast())
            buyer = concert.buyer()
            answered: dict[str, float] = {}
            for row in range(1, 7):
                labels = [f"A-{row}-5", f"A-{row}-6"]
                at, _ = await hold(buyer, concert.session_id, {"seats": labels})
                answered.update(dict.fromkeys(labels, at))
                await asyncio.sleep(0.4)  # a tick apart: one diff each
            async with asyncio.timeout(5):
                while len(seen) < len(answered):
                    await asyncio.sleep(0.05)
            reader.cancel()
            assert slow.pending <= 2
            assert slow.resyncs >= 1
            text = await slow.next_event()
            assert text is not None
            name, data = parse(text)
    finally:
        await hubs.close()
    assert max(seen[label] - at for label, at in answered.items()) <= 1.0
    assert name == "snapshot"
    assert all(data["seats"][label] == "held" for label in answered)


async def test_the_hub_stops_a_little_after_its_last_subscriber_leaves(
    lazy_box_office: BoxOffice, ctx: Context
) -> None:
    concert = make_concert(lazy_box_office)
    hubs = LiveHubs(ctx, linger=0.5)
    try:
        async with hubs.subscribe(concert.session_id), hubs.subscribe(concert.session_id):
            hub = hubs.get(concert.session_id)
            assert hub is not None and hub.subscribers == 2
        assert hubs.get(concert.session_id) is hub  # a reload within the linger reuses it
        async with asyncio.timeout(5):
            await hub.task
        assert hubs.get(concert.session_id) is None
        with Statements(lazy_box_office, concert.session_id) as after:
            await asyncio.sleep(0.6)
        assert after.all == 0  # nothing polls any more
        async with hubs.subscribe(concert.session_id) as again:
            assert hubs.get(concert.session_id) not in (None, hub)
            assert parse(again.snapshot())[0] == "snapshot"
    finally:
        await hubs.close()
