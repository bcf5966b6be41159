"""The gate's sync client against a real server on loopback: snapshot, push, cross-gate, revocation."""

from __future__ import annotations

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

    def progress(count: int) -> None:
        seen.append(count)
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
    assert gate.store.cursor() == str(server.store.cursor())
