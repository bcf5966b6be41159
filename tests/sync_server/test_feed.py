"""The feed puller against the real box office over HTTP: tickets in, check-ins back (contract 5)."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from aiohttp import web

from sync_server.app import STATE, create_app
from sync_server.feed import FeedSettings
from sync_server.store import ServerStore
from tests.box_office.conftest import Server as BoxOffice
from tests.box_office.conftest import server, smtp  # noqa: F401  (the real box office fixtures)
from tests.box_office.helpers import Concert, buy
from tests.sync_server.conftest import free_port, post_json, wait_for


async def test_tickets_arrive_from_the_box_office_and_checkins_flow_back(
    server: BoxOffice,  # noqa: F811
    tmp_path: Path,
) -> None:
    concert = Concert(server)
    buyer = concert.buyer()
    tickets = buy(concert, buyer, seats=["A-2-1", "A-2-2"])["tickets"]
    feed_token = concert.feed_client().headers["Authorization"].removeprefix("Bearer ")
    store = ServerStore.open(f"sqlite:///{tmp_path / 'sync.sqlite'}")
    runner = web.AppRunner(
        create_app(store, FeedSettings(server.url, feed_token, interval=0.2, long_poll=0.5))
    )
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    event_id = str(concert.event_id)
    try:
        await wait_for(lambda: sum(1 for _ in store.iter_tickets(event_id)) == 2)
        known = {r.ticket_id: r for r in store.iter_tickets(event_id)}
        assert set(known) == {t["id"] for t in tickets}
        assert store.event(event_id)["keyring"]["keys"]  # type: ignore[index]

        code = store.create_enrol_code(event_id, "east-2")
        enrolment = store.enrol(code)
        credential = enrolment.credential
        scan = {"scan_id": str(uuid.uuid4()), "at": time.time(), "verdict": "ok", "admit": True,
                "gate": "east-2", "device": enrolment.device_id, "ticket_id": tickets[0]["id"]}  # fmt: skip
        assert (await post_json(f"http://127.0.0.1:{port}/api/scans", {"scans": [scan]}, credential))[
            0
        ] == 200

        def checked_in() -> bool:
            shown = buyer.get(f"/api/tickets/{tickets[0]['id']}").json()
            return bool(shown.get("inside")) and shown.get("checked_in_gate") == "east-2"

        await wait_for(checked_in)

        # a refund at the box office revokes the ticket here (and so at every gate)
        refunded = buy(concert, buyer, seats=["A-3-1"])
        await wait_for(lambda: sum(1 for _ in store.iter_tickets(event_id)) == 3)
        answer = concert.org.post(f"/api/organiser/orders/{refunded['id']}/refund")
        assert answer.status_code == 200, answer.text
        gone = refunded["tickets"][0]["id"]
        await wait_for(
            lambda: any(r.ticket_id == gone and r.status == "revoked" for r in store.iter_tickets(event_id))
        )
    finally:
        await runner.cleanup()
        store.close()


async def test_a_conflict_found_after_the_checkin_was_reported_reaches_the_box_office(
    server: BoxOffice,  # noqa: F811
    tmp_path: Path,
) -> None:
    """East admits a ticket and it is reported; then West's earlier offline admission arrives.

    West's scan becomes the entry and East's the admitted conflict, although the box office was
    already told East's scan was a plain check-in. The box office ignores a re-post of the same
    scan id, so the conflict must arrive as its own record, once.
    """
    concert = Concert(server)
    buyer = concert.buyer()
    ticket = buy(concert, buyer, seats=["A-1-1"])["tickets"][0]["id"]
    feed_token = concert.feed_client().headers["Authorization"].removeprefix("Bearer ")
    store = ServerStore.open(f"sqlite:///{tmp_path / 'sync.sqlite'}")
    runner = web.AppRunner(
        create_app(store, FeedSettings(server.url, feed_token, interval=0.2, long_poll=0.5))
    )
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    event_id = str(concert.event_id)

    def checkins() -> list[dict[str, object]]:
        return list(buyer.get(f"/api/tickets/{ticket}").json()["checkins"])

    async def upload(gate: str, at: float) -> str:
        code = store.create_enrol_code(event_id, gate)
        enrolment = store.enrol(code)
        credential = enrolment.credential
        scan_id = str(uuid.uuid4())
        scan = {"scan_id": scan_id, "at": at, "verdict": "ok", "admit": True,
                "gate": gate, "device": enrolment.device_id, "ticket_id": ticket}  # fmt: skip
        status, body = await post_json(f"http://127.0.0.1:{port}/api/scans", {"scans": [scan]}, credential)
        assert status == 200, body
        return scan_id

    try:
        await wait_for(lambda: any(r.ticket_id == ticket for r in store.iter_tickets(event_id)))
        now = time.time()
        east = await upload("east", now)
        await wait_for(lambda: [c["scan_id"] for c in checkins()] == [east])
        assert checkins()[0]["conflict"] is False

        west = await upload("west", now - 120)  # admitted offline two minutes earlier
        await wait_for(lambda: any(c["conflict"] for c in checkins()), timeout=20)
        shown = checkins()
        conflicts = [c for c in shown if c["conflict"]]
        assert len(conflicts) == 1 and conflicts[0]["gate"] == "east"
        assert conflicts[0]["scanned_at"] == now
        assert {c["scan_id"] for c in shown if not c["conflict"]} == {east, west}
        assert buyer.get(f"/api/tickets/{ticket}").json()["checked_in_gate"] == "west"

        # a late admission that is later in time is reported as a conflict straight away
        south = await upload("south", now + 60)
        await wait_for(lambda: any(c["scan_id"] == south for c in checkins()))
        assert next(c for c in checkins() if c["scan_id"] == south)["conflict"] is True

        # several more rounds report nothing twice
        puller = runner.app[STATE].feed
        assert puller is not None
        rounds = puller.rounds
        await wait_for(lambda: puller.rounds >= rounds + 3)
        assert len(checkins()) == 4
    finally:
        await runner.cleanup()
        store.close()
