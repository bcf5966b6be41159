"""The HTTP API over real loopback: enrolment, credentials, bad requests, idempotent ingest."""

from __future__ import annotations

import base64
import time
import uuid

import aiohttp

from tests.sync_server.conftest import EVENT, Server, Tickets, post_json
from wire.sync_api import MAX_BATCH


def scan(
    ticket_id: str | None, at: float, verdict: str = "ok", gate: str = "g1", device: str = "g1"
) -> dict[str, object]:
    """A scan as gate ``gate``'s device ``device`` (the server checks both against the credential)."""
    admit = True if verdict == "ok" else (None if verdict == "exit_ok" else False)
    return {
        "scan_id": str(uuid.uuid4()),
        "at": at,
        "verdict": verdict,
        "admit": admit,
        "gate": gate,
        "device": device,
        "direction": "in",
        "reason": "",
        "source": "test",
        "ticket_id": ticket_id,
    }


async def test_enrolment_code_works_once_and_gives_each_device_its_own_credential(server: Server) -> None:
    code = server.store.create_enrol_code(EVENT, "north-1", "in", ["A"])
    status, body = await post_json(f"{server.url}/api/enrol", {"code": code.lower()})
    assert status == 201
    assert (body["gate_id"], body["event_id"], body["allowed_zones"], body["direction"]) == (
        "north-1",
        EVENT,
        ["A"],
        "in",
    )
    status, again = await post_json(f"{server.url}/api/enrol", {"code": code})
    assert status == 409 and "already used" in again["error"]
    other = server.store.create_enrol_code(EVENT, "north-1")
    status, second = await post_json(f"{server.url}/api/enrol", {"code": other})
    assert status == 201 and second["credential"] != body["credential"]
    assert second["device_id"] != body["device_id"]


async def test_expired_and_unknown_codes_are_refused(server: Server) -> None:
    code = server.store.create_enrol_code(EVENT, "g", ttl=-1)
    assert (await post_json(f"{server.url}/api/enrol", {"code": code}))[0] == 410
    assert (await post_json(f"{server.url}/api/enrol", {"code": "NOPE-NOPE-NOPE"}))[0] == 403
    assert (await post_json(f"{server.url}/api/enrol", {"cod": "x"}))[0] == 400


async def test_bad_requests_get_4xx_with_a_message_and_others_are_still_served(
    server: Server, tickets: Tickets
) -> None:
    device, credential = server.enrol("g1")
    url = f"{server.url}/api/scans"
    async with aiohttp.ClientSession() as session:
        auth = {"Authorization": f"Bearer {credential}"}
        async with session.post(url, data=b"{not json", headers=auth) as resp:
            assert resp.status == 400 and "JSON" in (await resp.json())["error"]
        async with session.post(url, json={"scans": [{"scan_id": "x"}]}, headers=auth) as resp:
            assert resp.status == 400 and "scans[0]" in (await resp.json())["error"]
        big = {"scans": [scan(None, 1.0, "malformed", device=device) for _ in range(MAX_BATCH + 1)]}
        async with session.post(url, json=big, headers=auth) as resp:
            assert resp.status == 413 and str(MAX_BATCH) in (await resp.json())["error"]
        async with session.post(url, data=b"x" * (3 * 1024 * 1024), headers=auth) as resp:
            assert resp.status == 413
        async with session.post(url, json={"scans": []}, headers={"Authorization": "Bearer wrong"}) as resp:
            assert resp.status == 401 and "credential" in (await resp.json())["error"]
        async with session.post(url, json={"scans": []}) as resp:
            assert resp.status == 401
        async with session.get(f"{server.url}/api/deltas?after=abc", headers=auth) as resp:
            assert resp.status == 400
        # the same server still serves a good request
        good = {"scans": [scan(None, time.time(), "malformed", device=device)]}
        async with session.post(url, json=good, headers=auth) as resp:
            assert resp.status == 200


async def test_revoked_device_is_cut_off_at_its_next_request(server: Server) -> None:
    device, credential = server.enrol("g1")
    assert (await post_json(f"{server.url}/api/scans", {"scans": []}, credential))[0] == 200
    assert server.store.revoke_device(device)
    status, body = await post_json(f"{server.url}/api/scans", {"scans": []}, credential)
    assert status == 403 and "revoked" in body["error"]
    listed = {d["device_id"]: d for d in server.store.devices()}
    assert listed[device]["revoked"] and not listed[device]["online"]


async def test_uploads_are_idempotent_by_scan_id(server: Server, tickets: Tickets) -> None:
    [ticket] = tickets.make(1)
    server.store.upsert_tickets(tickets.records())
    device, credential = server.enrol("g1")
    now = time.time()
    batch = {
        "scans": [
            scan(ticket, now - 100, device=device),
            scan(ticket, now - 99, "already_used", device=device),
        ]
    }
    status, first = await post_json(f"{server.url}/api/scans", batch, credential)
    assert status == 200 and first["duplicates"] == 0 and len(first["acknowledged"]) == 2
    status, second = await post_json(f"{server.url}/api/scans", batch, credential)
    assert status == 200 and second["duplicates"] == 2
    assert server.store.scan_count(EVENT) == 2
    stats = server.store.stats(EVENT, now=now)
    assert stats["entries"] == 1 and stats["refusals"] == {"already_used": 1}


async def test_offline_duplicates_are_flagged_as_admitted_conflicts_with_both_scans(
    server: Server, tickets: Tickets
) -> None:
    [ticket] = tickets.make(1)
    server.store.upsert_tickets(tickets.records())
    north_device, north = server.enrol("north")
    south_device, south = server.enrol("south")
    now = time.time()
    later = scan(ticket, now - 1000, gate="north", device=north_device)
    earlier = scan(ticket, now - 2000, gate="south", device=south_device)
    await post_json(f"{server.url}/api/scans", {"scans": [later]}, north)  # arrives first
    await post_json(f"{server.url}/api/scans", {"scans": [earlier]}, south)
    stats = server.store.stats(EVENT, now=now)
    assert stats["entries"] == 1 and stats["conflict_count"] == 1
    [conflict] = stats["conflicts"]
    assert (conflict["scan_id"], conflict["gate"], conflict["kind"]) == (
        later["scan_id"],
        "north",
        "duplicate_admission",
    )
    assert (conflict["first_scan_id"], conflict["first_gate"]) == (earlier["scan_id"], "south")
    assert server.store.scan_count(EVENT) == 2  # nothing dropped


async def test_admission_of_a_ticket_revoked_before_the_scan_is_a_conflict(
    server: Server, tickets: Tickets
) -> None:
    [ticket] = tickets.make(1)
    server.store.upsert_tickets(tickets.records())
    server.store.upsert_tickets(tickets.records(status="revoked"))
    device, credential = server.enrol("g1")
    admission = scan(ticket, time.time() + 1, device=device)
    await post_json(f"{server.url}/api/scans", {"scans": [admission]}, credential)
    stats = server.store.stats(EVENT)
    assert stats["entries"] == 0
    assert [c["kind"] for c in stats["conflicts"]] == ["revoked_before_scan"]


async def test_organiser_endpoints_are_never_anonymous(server: Server) -> None:
    server.store.add_organiser("ops", "correct horse")
    async with aiohttp.ClientSession() as session:
        for path in ("/api/stats", "/api/devices", "/metrics"):
            async with session.get(server.url + path) as resp:
                assert resp.status == 401, path
        async with session.get(server.url + "/", allow_redirects=False) as resp:
            assert resp.status == 302 and resp.headers["Location"] == "/login"
        basic = {"Authorization": "Basic " + base64.b64encode(b"ops:correct horse").decode()}
        async with session.get(server.url + "/metrics", headers=basic) as resp:
            assert resp.status == 200
            text = await resp.text()
            assert f'encore_entries{{event="{EVENT}"}} 0' in text
        wrong = {"Authorization": "Basic " + base64.b64encode(b"ops:wrong").decode()}
        async with session.get(server.url + "/api/stats", headers=wrong) as resp:
            assert resp.status == 401
