"""One poison journal entry never blocks a gate's uploads: it is quarantined, the rest flow.

Real parts: the sync server on loopback (SQLite and PostgreSQL), the gate's SQLite store, the
production scan pipeline and sync client; and, for the transient answers, a stand-in HTTP
server that answers every upload with the status under test.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
from aiohttp import web

from gate_agent.config import GateConfig
from gate_agent.store import GateStore, JournalEntry
from gate_agent.sync.client import SyncClient, SyncSettings
from tests.sync_server.conftest import EVENT, Gate, Server, Tickets, free_port, wait_for


def poison(gate: str, *, ticket_id: str = "x" * 300) -> JournalEntry:
    """A journal entry the wire contract refuses (a ticket id longer than 200 characters)."""
    return JournalEntry(
        scan_id=str(uuid.uuid4()), seq=0, at=time.time(), verdict="invalid_signature",
        reason="forged", admit=False, gate=gate, device="pi", direction="in", source="test",
        ticket_id=ticket_id,
    )  # fmt: skip


async def test_a_poison_entry_is_quarantined_and_later_scans_still_upload(
    server: Server, tickets: Tickets, make_gate: object
) -> None:
    ids = tickets.make(4)
    server.store.upsert_tickets(tickets.records())
    gate: Gate = make_gate("north")  # type: ignore[operator]
    bad = poison("north")
    gate.store.journal(bad)  # the oldest entry: before the fix it blocked every scan behind it
    before = [gate.scan(tickets.tokens[i]).scan_id for i in ids[:2]]
    gate.start()
    try:
        # the client counts the parked scan just after the store holds it: wait for both
        await wait_for(
            lambda: (
                gate.store.backlog() == 0
                and gate.store.quarantined_count() == 1
                and gate.client.quarantined == 1
            )
        )
        assert server.store.scan_count(EVENT) == 2
        (parked,) = gate.store.quarantined()
        assert parked.entry.scan_id == bad.scan_id and not parked.entry.acked
        assert "'ticket_id' must be non-empty text of at most 200 characters" in parked.reason
        assert gate.client.quarantined == 1

        later = [gate.scan(tickets.tokens[i]).scan_id for i in ids[2:]]
        await wait_for(lambda: gate.store.backlog() == 0 and server.store.scan_count(EVENT) == 4)
        assert gate.store.quarantined_count() == 1  # kept, never deleted, never sent again
        uploaded = {s.scan_id for s in gate.store.scans(limit=10) if s.acked}
        assert uploaded == set(before + later)
    finally:
        await gate.stop()


async def test_an_older_server_refusing_the_whole_batch_gets_it_in_halves(
    server: Server, tickets: Tickets, make_gate: object
) -> None:
    """Without per-scan results (as from a server before them) the batch is bisected."""
    ids = tickets.make(7)
    server.store.upsert_tickets(tickets.records())
    gate: Gate = make_gate("south")  # type: ignore[operator]
    gate.client.partial_uploads = False
    good = [gate.scan(tickets.tokens[i]).scan_id for i in ids[:3]]
    bad = [poison("south"), poison("south", ticket_id="with\x00nul")]
    gate.store.journal(bad[0])
    good += [gate.scan(tickets.tokens[i]).scan_id for i in ids[3:5]]
    gate.store.journal(bad[1])
    good += [gate.scan(tickets.tokens[i]).scan_id for i in ids[5:]]
    try:
        assert await gate.client.upload_once() == 9  # every entry acknowledged or parked
    finally:
        await gate.client.close()
    assert gate.store.backlog() == 0
    assert server.store.scan_count(EVENT) == 7
    reasons = {q.entry.scan_id: q.reason for q in gate.store.quarantined()}
    assert set(reasons) == {b.scan_id for b in bad}
    assert reasons[bad[0].scan_id].startswith("400: scans[0]: 'ticket_id' must be non-empty text")
    assert reasons[bad[1].scan_id] == "400: scans[0]: 'ticket_id' must not contain NUL characters"


@pytest.mark.parametrize("status", [500, 503, 429, 408, 404])
async def test_transient_answers_are_retried_and_quarantine_nothing(status: int, tmp_path: Path) -> None:
    posts: list[int] = []

    async def scans(request: web.Request) -> web.Response:
        posts.append(len((await request.json())["scans"]))
        return web.json_response({"error": "try again later"}, status=status)

    app = web.Application()
    app.router.add_post("/api/scans", scans)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    store = GateStore.open(tmp_path / "gate.sqlite")
    table = {"url": f"http://127.0.0.1:{port}", "credential": "c"}
    config = GateConfig(gate_id="west", event_id=EVENT, device_id="pi")
    namespace = SimpleNamespace(sync=table, source=None, gate=config)
    client = SyncClient(store=store, config=namespace, settings=SyncSettings(table))
    try:
        for _ in range(3):
            store.journal(poison("west"))
        for _ in range(2):
            with pytest.raises(Exception, match=str(status)):
                await client.upload_once()
        assert posts == [3, 3]  # the whole batch each time: no bisection, nothing parked
        assert store.backlog() == 3 and store.quarantined_count() == 0
    finally:
        await client.close()
        await runner.cleanup()
        store.close()


async def test_the_server_stores_the_valid_scans_of_a_partial_batch_and_names_the_others(
    server: Server,
) -> None:
    from tests.sync_server.conftest import post_json

    device, credential = server.enrol("east")
    good = {"scan_id": str(uuid.uuid4()), "at": time.time(), "verdict": "malformed", "admit": False,
            "gate": "east", "device": device}  # fmt: skip
    bad = {**good, "scan_id": str(uuid.uuid4()), "verdict": "fabulous"}
    url = f"{server.url}/api/scans"
    # without the flag: the whole batch is refused, as before
    status, body = await post_json(url, {"scans": [good, bad]}, credential)
    assert status == 400 and "scans[1]: unknown verdict 'fabulous'" in body["error"]
    assert server.store.scan_count(EVENT) == 0
    status, body = await post_json(url, {"scans": [bad, good], "partial": True}, credential)
    assert status == 200, body
    assert body["acknowledged"] == [good["scan_id"]]
    assert body["rejected"] == [
        {
            "index": 0,
            "scan_id": bad["scan_id"],
            "error": "scans[0]: unknown verdict 'fabulous'",
            "code": "invalid",
        }
    ]
    assert server.store.scan_count(EVENT) == 1
    status, body = await post_json(url, {"scans": [good], "partial": "yes"}, credential)
    assert status == 400 and "'partial'" in body["error"]
