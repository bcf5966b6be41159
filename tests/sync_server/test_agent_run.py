"""``gate-agent run`` as a real process with the sync client inside, against a live sync server."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.sync_server.conftest import EVENT, Server, Tickets, free_port, wait_for

BIN = Path(sys.executable).parent


@pytest.mark.slow
async def test_running_agent_syncs_uploads_and_hears_revocations(
    server: Server, tickets: Tickets, tmp_path: Path
) -> None:
    ids = tickets.make(5)
    server.store.upsert_tickets(tickets.records())
    code = server.store.create_enrol_code(EVENT, "north", "in")
    config = tmp_path / "etc" / "gate.toml"
    enrol = await asyncio.to_thread(
        subprocess.run,
        [str(BIN / "gate-agent"), "enrol", server.url, code, "--config", str(config),
         "--state-dir", str(tmp_path / "state")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert enrol.returncode == 0, enrol.stderr
    port = free_port()
    with config.open("a") as out:
        out.write(f'\n[display]\nhost = "127.0.0.1"\nport = {port}\n')
    agent = await asyncio.create_subprocess_exec(
        str(BIN / "gate-agent"), "run", "--config", str(config),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    display = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:

            async def status() -> dict[str, object]:
                try:
                    async with session.get(f"{display}/api/status") as resp:
                        return dict(await resp.json())
                except aiohttp.ClientError:
                    return {}

            async def synced() -> bool:
                state = await status()
                devices = server.store.devices()
                return bool(state.get("online")) and devices[0]["cursor"] == str(server.store.cursor())

            await wait_for(synced, timeout=30)
            # the display's actions need the staff session: sign in as a browser on the device would
            async with session.get(f"{display}/api/session") as resp:
                code = (await resp.json())["pairing_code"]
            async with session.post(f"{display}/api/session", json={"secret": code}) as resp:
                staff = {"X-CSRF-Token": (await resp.json())["csrf"]}
            async with session.post(
                f"{display}/api/scan", json={"text": tickets.tokens[ids[0]]}, headers=staff
            ) as resp:
                answer = await resp.json()
                assert answer["verdict"] == "ok", answer
            await wait_for(lambda: server.store.scan_count(EVENT) == 1)

            server.store.upsert_tickets(tickets.records([ids[1]], status="revoked"))
            await wait_for(synced)
            async with session.post(
                f"{display}/api/scan", json={"text": tickets.tokens[ids[1]]}, headers=staff
            ) as resp:
                assert (await resp.json())["verdict"] == "revoked"
            await wait_for(lambda: server.store.scan_count(EVENT) == 2)
            assert server.store.stats(EVENT)["refusals"] == {"revoked": 1}
    finally:
        agent.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(agent.communicate(), 20)
    assert agent.returncode == 0, err.decode()[-2000:]
