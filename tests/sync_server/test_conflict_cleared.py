"""An admitted conflict that a late exit makes legitimate is cleared at the box office too.

North admits a ticket, South admits it again a minute later: a duplicate admission, reported
to the box office as a conflict. Then the exit gate's offline scan arrives, timed between the
two: the holder had left, so (with re-entry after exit) South's admission was a legitimate
re-entry. The sync server relabels it and tells the box office, which clears the flag.
"""

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
from tests.local_services import free_port
from tests.sync_server.conftest import post_json, wait_for


async def test_a_late_exit_clears_the_conflict_at_the_box_office(
    server: BoxOffice,  # noqa: F811
    tmp_path: Path,
) -> None:
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

    def checkins() -> dict[str, dict[str, object]]:
        return {str(c["scan_id"]): c for c in buyer.get(f"/api/tickets/{ticket}").json()["checkins"]}

    async def upload(gate: str, at: float, verdict: str = "ok", direction: str = "in") -> str:
        device = store.enrol(store.create_enrol_code(event_id, gate, direction=direction))
        scan_id = str(uuid.uuid4())
        admit = True if verdict == "ok" else None
        scan = {"scan_id": scan_id, "at": at, "verdict": verdict, "admit": admit, "gate": gate,
                "device": device.device_id, "direction": direction, "ticket_id": ticket}  # fmt: skip
        status, body = await post_json(f"http://127.0.0.1:{port}/api/scans", {"scans": [scan]}, device.credential)
        assert status == 200, body
        return scan_id

    try:
        await wait_for(lambda: any(r.ticket_id == ticket for r in store.iter_tickets(event_id)))
        event = store.event(event_id)
        assert event is not None
        store.set_event(event_id, event["keyring"], identity_key=event.get("identity_key"),
                        rules={"reentry": "after_exit"})  # fmt: skip
        now = time.time()
        north = await upload("north", now - 120)
        south = await upload("south", now - 60)
        await wait_for(lambda: checkins().get(south, {}).get("conflict") is True, timeout=20)
        assert checkins()[north]["conflict"] is False

        await upload("exit", now - 90, verdict="exit_ok", direction="out")  # offline, arrives late
        await wait_for(lambda: checkins().get(south, {}).get("conflict") is False, timeout=20)
        shown = checkins()
        assert not any(c["conflict"] for c in shown.values())
        assert shown[south + ":cleared"]["gate"] == "south"
    finally:
        await runner.cleanup()
        store.close()
