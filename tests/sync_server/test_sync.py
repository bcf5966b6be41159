"""The gate's sync client against a real server on loopback: snapshot, push, cross-gate, revocation."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import aiohttp

from tests.sync_server.conftest import EVENT, Proxy, Server, Tickets, wait_for


async def test_snapshot_then_cross_gate_use_and_revocation_arrive_by_push(
    server: Server, tickets: Tickets, make_gate: object
) -> None:
    ids = tickets.make(50)
    server.store.upsert_tickets(tickets.records())
    north, south = make_gate("north"), make_gate("south")  # type: ignore[operator]
    north.start()
    south.start()
    try:
        await wait_for(
            lambda: north.store.snapshot_info().tickets == 50 and south.store.snapshot_info().tickets == 50
        )
        first = north.scan(tickets.tokens[ids[0]])
        assert first.decision.verdict.value == "ok"
        await wait_for(lambda: south.store.lookup(ids[0])[1].first_gate == "north")
        refused = south.scan(tickets.tokens[ids[0]])
        assert refused.decision.verdict.value == "already_used"
        assert "north" in refused.decision.reason or refused.decision.details.get("gate") == "north"

        # a refund at the server reaches every online gate by the push channel
        server.store.upsert_tickets(tickets.records([ids[1]], status="revoked"))
        await wait_for(lambda: all(g.store.lookup(ids[1])[0].status == "revoked" for g in (north, south)))
        assert south.scan(tickets.tokens[ids[1]]).decision.verdict.value == "revoked"
        assert north.client.pushes > 0 and south.client.pushes > 0

        # every scan reaches the server exactly once and is acknowledged on the gates
        await wait_for(lambda: north.store.backlog() == 0 and south.store.backlog() == 0)
        assert server.store.scan_count(EVENT) == 3
        stats = server.store.stats(EVENT)
        assert stats["entries"] == 1 and stats["refusals"] == {"already_used": 1, "revoked": 1}
        devices = {d["gate_id"]: d for d in server.store.devices()}
        assert devices["north"]["software_version"].startswith("encore-gate-agent")
        assert devices["south"]["cursor"] is not None
    finally:
        await north.stop()
        await south.stop()


async def test_snapshot_download_resumes_after_the_connection_breaks(
    server: Server, tickets: Tickets, make_gate: object
) -> None:
    tickets.make(6000)
    server.store.upsert_tickets(tickets.records())
    proxy = Proxy(server.port)
    await proxy.start()
    gate = make_gate("east", url=proxy.url)  # type: ignore[operator]
    seen: list[int] = []

    totals: list[int | None] = []

    def progress(count: int, total: int | None) -> None:
        seen.append(count)
        totals.append(total)
        if len(seen) == 1:  # cut the stream after the first batch reached the store
            for writer in list(proxy.writers):
                writer.close()

    gate.client.progress = progress
    try:
        assert await gate.client.download_snapshot() == 6000
    finally:
        await gate.client.close()
        await proxy.stop()
    assert gate.store.snapshot_info().tickets == 6000
    assert proxy.connections >= 2  # the download really was cut and resumed
    assert totals[0] == 6000 and seen[-1] == 6000
    assert gate.store.cursor() == str(server.store.cursor())


async def test_organiser_revokes_a_device_and_its_client_reports_it(
    server: Server, tickets: Tickets, make_gate: object
) -> None:
    from gate_agent.status import AgentStatus

    tickets.make(5)
    server.store.upsert_tickets(tickets.records())
    server.store.add_organiser("ops", "correct horse")
    gate = make_gate("north")  # type: ignore[operator]
    status = AgentStatus(gate_id="north", direction="in", event_id=EVENT)
    gate.client.status = status
    changes: list[bool] = []
    status.listeners.append(lambda: changes.append(status.online))
    gate.start()
    try:
        await wait_for(lambda: status.online and gate.store.snapshot_info().tickets == 5)
        await wait_for(lambda: any(d["online"] for d in server.store.devices()))
        # unsafe=True: aiohttp's jar otherwise ignores cookies from an IP address like 127.0.0.1
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            login = await session.post(
                f"{server.url}/login", json={"username": "ops", "password": "correct horse"}
            )
            assert login.status == 200
            async with session.post(f"{server.url}/api/devices/{gate.device_id}/revoke") as resp:
                assert resp.status == 200
        await wait_for(lambda: not status.online and "revoked" in (status.sync_error or ""))
        assert changes[0] is True and changes[-1] is False
        assert gate.scan(next(iter(tickets.tokens.values()))).decision.verdict.value == "ok"  # still decides
        assert gate.store.backlog() == 1  # and keeps the scan
    finally:
        await gate.stop()


async def test_without_the_push_channel_the_client_polls(
    server: Server, tickets: Tickets, make_gate: object
) -> None:
    ids = tickets.make(3)
    server.store.upsert_tickets(tickets.records())
    north = make_gate("north")  # type: ignore[operator]
    south = make_gate("south", push=False, poll_interval=0.2)  # type: ignore[operator]
    north.start()
    south.start()
    try:
        await wait_for(lambda: south.store.snapshot_info().tickets == 3 and north.store.cursor() is not None)
        assert north.scan(tickets.tokens[ids[0]]).decision.verdict.value == "ok"
        await wait_for(lambda: south.store.lookup(ids[0])[1].first_gate == "north")
        assert south.client.pushes == 0
        assert south.scan(tickets.tokens[ids[0]]).decision.verdict.value == "already_used"
    finally:
        await north.stop()
        await south.stop()


async def test_a_broken_sync_setting_never_stops_the_gate(tmp_path: Path) -> None:
    from gate_agent.status import AgentStatus
    from gate_agent.sync.client import SyncClient

    status = AgentStatus(gate_id="g", direction="in", event_id=EVENT)
    config = SimpleNamespace(sync={"url": "http://127.0.0.1:9", "credential_file": "missing"}, source=None)
    client = SyncClient(store=None, config=config, status=status)
    await client.run()  # returns at once instead of raising
    assert status.online is False and "sync disabled" in (status.sync_error or "")
