"""Findings 2 and 3 of issue 19: one live client that never reads stalls nobody.

A real client that opens its WebSocket with a tiny receive buffer and then never reads, beside
a real gate (push) or a real dashboard client that keeps reading. The changes go on until the
server drops the stalled client; every one of them must reach the reading client meanwhile
(event-based waits: each change is awaited where it lands, never a fixed sleep).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import socket
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from sync_server.settings import ServerSettings
from tests.sync_server.conftest import EVENT, Server, Tickets, post_json, wait_for
from tests.sync_server.live import Live, running, scan_as

MAX_ROUNDS = 60
ROUND_TIMEOUT = 8.0
"""Failure bound of each wait: below the server's 10 s WebSocket heartbeat, which would
otherwise free a stalled client by itself and hide a pusher that waits for it."""


@contextlib.asynccontextmanager
async def never_reading_websocket(url: str, path: str, headers: dict[str, str]) -> AsyncIterator[int]:
    """A WebSocket client that completes the handshake and then never reads a byte; yields its
    local port (how the server's side of the connection is found)."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
    reader, writer = await asyncio.open_connection(sock=sock, limit=1024)
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {host}:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    answer = await reader.readuntil(b"\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 101"), answer
    try:
        yield sock.getsockname()[1]  # from here on nothing is read: the stream buffer and the socket fill up
    finally:
        writer.transport.abort()


def shrink_send_buffer(live: Live, client_port: int) -> None:
    """Give the server's side of the client's connection a small send buffer (a slow link), so
    the few messages of a test fill it rather than the megabytes loopback would buffer."""
    subs = [*live.state.gates.subscribers(), *live.state.dashboards.subscribers()]
    [transport] = [
        t
        for s in subs
        if (t := s.request.transport) is not None and t.get_extra_info("peername")[1] == client_port
    ]
    transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)


def alive(live: Live, name: str) -> bool:
    return any(t.get_name() == name and not t.done() for t in live.state.tasks)


async def test_a_gate_that_never_reads_is_dropped_while_the_others_keep_receiving(
    server: Server, tickets: Tickets, make_gate: Any
) -> None:
    ids = tickets.make(800)
    server.store.upsert_tickets(tickets.records())
    async with running(server.store, ServerSettings(push_queue=2)) as live:
        gate = make_gate("north", url=live.url)
        gate.start()
        try:
            await wait_for(lambda: gate.store.snapshot_info().tickets == 800)
            await wait_for(lambda: gate.device_id in live.state.online_ids())
            _, credential = server.enrol("stalled")
            async with never_reading_websocket(
                live.url, "/api/push", {"Authorization": f"Bearer {credential}"}
            ) as port:
                await wait_for(lambda: len(live.state.online_ids()) == 2)
                shrink_send_buffer(live, port)
                status = "revoked"
                for _ in range(MAX_ROUNDS):
                    if live.state.counters.get("push_dropped"):
                        break
                    pushes = gate.client.pushes
                    server.store.upsert_tickets(tickets.records(status=status))  # ~200 kB of deltas
                    live.state.wake.set()
                    head = str(server.store.cursor())
                    # by push (the gate does not poll while its push channel is open)
                    await wait_for(
                        lambda h=head, p=pushes: gate.store.cursor() == h and gate.client.pushes > p,
                        ROUND_TIMEOUT,
                    )
                    assert gate.store.lookup(ids[0])[0].status == status
                    status = "valid" if status == "revoked" else "revoked"
                assert live.state.counters.get("push_dropped") == 1
                assert live.state.online_ids() == {gate.device_id}
                # and the gate still hears of the next change
                server.store.upsert_tickets(tickets.records([ids[1]], status="blocked"))
                live.state.wake.set()
                await wait_for(lambda: gate.store.lookup(ids[1])[0].status == "blocked")
                assert alive(live, "change-watcher")
        finally:
            await gate.stop()


async def test_a_dashboard_that_never_reads_is_dropped_and_the_others_stay_live(
    server: Server, tickets: Tickets
) -> None:
    ids = tickets.make(120)
    server.store.upsert_tickets(tickets.records())
    server.store.add_organiser("ops", "correct horse")
    device_id, credential = server.enrol("north")
    twice = [scan_as(device_id, "north", t) for t in ids[:100]]
    again = [scan_as(device_id, "north", t) for t in ids[:100]]  # 100 conflicts: big stats messages
    for batch in (twice, again):
        assert (await post_json(f"{server.url}/api/scans", {"scans": batch}, credential))[0] == 200
    basic = {"Authorization": "Basic " + base64.b64encode(b"ops:correct horse").decode()}
    settings = ServerSettings(dashboard_queue=2, dashboard_debounce=0.01)
    async with running(server.store, settings) as live:
        latest: dict[str, Any] = {}

        async def read(ws: aiohttp.ClientWebSocketResponse) -> None:
            async for msg in ws:
                latest.update(json.loads(msg.data)["stats"])

        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(f"{live.url}/dashboard/ws", headers=basic) as ws,
        ):
            reader = asyncio.create_task(read(ws))
            try:
                await wait_for(lambda: latest.get("scans") == 200)
                async with never_reading_websocket(live.url, "/dashboard/ws", basic) as port:
                    await wait_for(lambda: sum(1 for _ in live.state.dashboards.subscribers()) == 2)
                    shrink_send_buffer(live, port)
                    expected = 200
                    for i in range(MAX_ROUNDS):
                        if live.state.counters.get("dashboard_dropped"):
                            break
                        refusal = scan_as(device_id, "north", ids[100 + i % 20], verdict="already_used")
                        assert (await post_json(f"{live.url}/api/scans", {"scans": [refusal]}, credential))[
                            0
                        ] == 200
                        expected += 1
                        await wait_for(lambda e=expected: latest.get("scans") == e, ROUND_TIMEOUT)
                    assert live.state.counters.get("dashboard_dropped") == 1
                    assert sum(1 for _ in live.state.dashboards.subscribers()) == 1
                    last = scan_as(device_id, "north", ids[119], verdict="already_used")
                    assert (await post_json(f"{live.url}/api/scans", {"scans": [last]}, credential))[0] == 200
                    await wait_for(lambda e=expected + 1: latest.get("scans") == e)
                    assert alive(live, "dashboard-pusher")
            finally:
                reader.cancel()
    assert latest["event_id"] == EVENT
