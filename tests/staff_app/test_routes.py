"""The staff app's server side (sync_server/staff/routes.py), without a browser."""

from __future__ import annotations

import re
from typing import Any

import aiohttp


async def get(url: str, **kwargs: Any) -> tuple[int, dict[str, str], bytes]:
    async with aiohttp.ClientSession() as session, session.get(url, allow_redirects=False, **kwargs) as r:
        return r.status, dict(r.headers), await r.read()


async def post(url: str, credential: str | None = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {credential}"} if credential else {}
    async with aiohttp.ClientSession() as session, session.post(url, headers=headers) as r:
        return r.status, await r.json()


async def test_the_app_is_served_with_its_types_and_a_strict_policy(server: Any) -> None:
    status, headers, body = await get(server.url + "/staff/")
    assert status == 200 and b'<script type="module" src="/staff/app.js">' in body
    assert "script-src 'self' 'wasm-unsafe-eval'" in headers["Content-Security-Policy"]
    assert headers["Content-Type"].startswith("text/html")
    for path, kind in (
        ("app.js", "text/javascript"),
        ("sw.js", "text/javascript"),
        ("manifest.webmanifest", "application/manifest+json"),
        ("vendor/zxing/zxing_reader.wasm", "application/wasm"),
        ("vendor/zxing/LICENSE-zxing-cpp.txt", "text/plain"),
    ):
        status, headers, _ = await get(f"{server.url}/staff/{path}")
        assert (status, headers["Content-Type"].split(";")[0]) == (200, kind), path
    assert (await get(server.url + "/staff"))[0] == 301
    _, _, worker = await get(server.url + "/staff/sw.js")
    assert re.search(rb'const CACHE = "encore-staff-[0-9a-f]{16}";', worker)  # versioned by content


async def test_only_the_apps_own_files_are_served(server: Any) -> None:
    for path in ("nothing.js", "../routes.py", "%2e%2e/routes.py", "__init__.py", "vendor/zxing/"):
        status, headers, _ = await get(f"{server.url}/staff/{path}")
        assert status == 404, path
        assert headers["Content-Type"].startswith("application/json")


async def test_a_push_ticket_needs_a_live_credential_and_works_once(server: Any) -> None:
    assert (await post(server.url + "/staff/api/push-ticket"))[0] == 401
    assert (await post(server.url + "/staff/api/push-ticket", "gate-nobody_x"))[0] == 401
    device_id, credential = server.enrol("side-door")
    status, body = await post(server.url + "/staff/api/push-ticket", credential)
    assert status == 200 and body["expires_in"] == 30
    ticket = body["ticket"]
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"{server.url}/staff/api/push?ticket={ticket}") as ws:
            hello = await ws.receive_json(timeout=10)
            assert hello["type"] == "hello" and hello["device_id"] == device_id
        again = await get(f"{server.url}/staff/api/push?ticket={ticket}")  # spent
        assert again[0] == 401 and b"push_ticket" in again[2]
    assert server.store.revoke_device(device_id)
    assert (await post(server.url + "/staff/api/push-ticket", credential))[0] == 403
