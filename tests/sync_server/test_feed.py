"""The feed puller against the real box office over HTTP: tickets in, check-ins back (contract 5)."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from aiohttp import web

from sync_server.app import create_app
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
        credential = store.enrol(code).credential
        scan = {"scan_id": str(uuid.uuid4()), "at": time.time(), "verdict": "ok", "admit": True,
                "gate": "east-2", "device": "pi-7", "ticket_id": tickets[0]["id"]}  # fmt: skip
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
