"""Faults over real HTTP on loopback: a server outage during a burst, a link that drops or stalls."""

from __future__ import annotations

import asyncio
import random

import pytest

from tests.sync_server.conftest import EVENT, Proxy, Server, Tickets, wait_for


@pytest.mark.slow
async def test_server_outage_during_a_burst_at_four_gates(
    server: Server, tickets: Tickets, make_gate: object
) -> None:
    ids = tickets.make(120)
    server.store.upsert_tickets(tickets.records())
    gates = [make_gate(f"gate-{n}") for n in range(4)]  # type: ignore[operator]
    for gate in gates:
        gate.start()
    try:
        await wait_for(lambda: all(g.store.snapshot_info().tickets == 120 for g in gates))
        # online: a few entries go through normally
        for i, gate in enumerate(gates):
            assert gate.scan(tickets.tokens[ids[i]]).decision.verdict.value == "ok"
        await wait_for(lambda: all(g.store.backlog() == 0 for g in gates))

        await server.stop()
        rng = random.Random(7)
        decided = doubles = 0
        for i in range(4, 100):
            gate = gates[i % 4]
            assert gate.scan(tickets.tokens[ids[i]]).decision.verdict.value == "ok"
            decided += 1
            if i % 10 == 0:  # the same ticket at a second gate while offline: an admitted conflict
                other = gates[(i + 1 + rng.randrange(3)) % 4]
                assert other.scan(tickets.tokens[ids[i]]).decision.verdict.value == "ok"
                decided += 1
                doubles += 1
            await asyncio.sleep(0)
        await wait_for(lambda: not any(g.client._online["up"] for g in gates))
        assert sum(g.store.backlog() for g in gates) == decided
        journalled = {e.scan_id for g in gates for e in g.store.pending_scans(10_000)}

        await server.start()
        await wait_for(lambda: all(g.store.backlog() == 0 for g in gates), timeout=30)
    finally:
        for gate in gates:
            await gate.stop()
    stored = server.store.scan_count(EVENT)
    assert stored == 4 + decided  # every scan exactly once
    stats = server.store.stats(EVENT)
    assert stats["entries"] == 100
    assert doubles == 9 and stats["conflict_count"] == doubles
    assert {c["kind"] for c in stats["conflicts"]} == {"duplicate_admission"}
    from sqlalchemy import select

    from sync_server import db

    with server.store.engine.connect() as conn:
        held = set(conn.execute(select(db.scans.c.scan_id)).scalars())
    assert journalled <= held


@pytest.mark.parametrize("mode", ["drop_responses", "stall"])
async def test_link_drops_or_stalls_mid_upload_no_scan_lost_none_doubled(
    server: Server, tickets: Tickets, make_gate: object, mode: str
) -> None:
    ids = tickets.make(60)
    server.store.upsert_tickets(tickets.records())
    proxy = Proxy(server.port)
    await proxy.start()
    gate = make_gate("west", url=proxy.url, batch_size=7, request_timeout=1.0)  # type: ignore[operator]
    try:
        assert await gate.client.download_snapshot() == 60
        for ticket_id in ids[:30]:
            gate.scan(tickets.tokens[ticket_id])
        proxy.mode = mode
        gate.start()
        if mode == "drop_responses":
            # uploads reach the server but no acknowledgement comes back
            await wait_for(lambda: server.store.scan_count(EVENT) >= 7 and proxy.cut >= 2)
        else:
            await asyncio.sleep(2.5)  # longer than the client's read timeout: it gives up and retries
        assert gate.store.backlog() == 30
        for ticket_id in ids[30:]:
            gate.scan(tickets.tokens[ticket_id])
        proxy.mode = "pass"
        await wait_for(lambda: gate.store.backlog() == 0, timeout=30)
    finally:
        await gate.stop()
        await proxy.stop()
    assert server.store.scan_count(EVENT) == 60
    assert server.store.stats(EVENT)["entries"] == 60
