"""Findings 6-9 of issue 19 and the personal-text rule: scan times outside the window are kept
but flagged and never take another scan's entry; every field is bounded (400 naming it, or a
``rejected`` entry in a partial batch, never a 500); logs are JSON; raw scanned text is not kept."""

from __future__ import annotations

import io
import json
import logging
import time
from typing import Any

import aiohttp
from sqlalchemy import select

from sync_server import db, logs
from tests.sync_server.conftest import EVENT, Server, Tickets, post_json
from tests.sync_server.live import scan_as


def stored(server: Server, scan_id: str) -> Any:
    with server.store.engine.connect() as conn:
        return conn.execute(select(db.scans).where(db.scans.c.scan_id == scan_id)).one()


async def test_a_back_dated_admission_is_flagged_and_never_takes_the_entry(
    server: Server, tickets: Tickets
) -> None:
    """Finding 6: a scan at ``at = -1e12`` became the ticket's entry; far-future times were stored."""
    [ticket, other] = tickets.make(2)
    server.store.upsert_tickets(tickets.records())
    north_id, north = server.enrol("north")
    south_id, south = server.enrol("south")
    real = scan_as(north_id, "north", ticket)
    assert (await post_json(f"{server.url}/api/scans", {"scans": [real]}, north))[0] == 200
    back_dated = scan_as(south_id, "south", ticket, at=-1e12)
    future = scan_as(south_id, "south", other, at=time.time() + 30 * 24 * 3600)
    status, body = await post_json(f"{server.url}/api/scans", {"scans": [back_dated, future]}, south)
    assert status == 200 and len(body["acknowledged"]) == 2  # kept, as sent
    entry, flagged = stored(server, real["scan_id"]), stored(server, back_dated["scan_id"])
    assert (entry.outcome, entry.time_flag) == ("entry", None)
    assert (flagged.outcome, flagged.conflicts_with, flagged.time_flag) == (
        "conflict",
        real["scan_id"],
        "past",
    )
    assert flagged.at == -1e12  # the scan itself is never rewritten
    assert stored(server, future["scan_id"]).time_flag == "future"
    used = next(r for r in server.store.iter_tickets(EVENT) if r.ticket_id == ticket)
    assert used.used_gate == "north" and used.used_at == real["at"]
    # the future-dated admission of the other ticket is its entry, dated by its arrival
    other_use = next(r for r in server.store.iter_tickets(EVENT) if r.ticket_id == other)
    assert other_use.used_at is not None and other_use.used_at <= time.time()
    stats = server.store.stats(EVENT)
    assert stats["time_flagged"] == 2
    assert {d["device_id"]: d["time_flagged"] for d in stats["devices"]} == {north_id: 0, south_id: 2}


async def test_a_gate_with_a_wrong_clock_is_shown_to_organisers(server: Server) -> None:
    _device_id, credential = server.enrol("north")
    batch = {"scans": [], "sent_at": time.time() + 2 * 3600}
    assert (await post_json(f"{server.url}/api/scans", batch, credential))[0] == 200
    [device] = server.store.stats(EVENT)["devices"]
    assert device["clock_wrong"] is True and 7100 < device["clock_offset"] < 7300


async def test_cursor_sizes_are_bounded_on_upload_and_on_the_push_channel(server: Server) -> None:
    """Finding 7: a 1.5 MB cursor was stored and served to every dashboard."""
    _device_id, credential = server.enrol("north")
    status, body = await post_json(
        f"{server.url}/api/scans", {"scans": [], "cursor": "9" * 1_500_000}, credential
    )
    assert status == 400 and "'cursor'" in body["detail"]
    auth = {"Authorization": f"Bearer {credential}"}
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"{server.url}/api/push", headers=auth) as ws,
    ):
        assert (await ws.receive_json())["type"] == "hello"
        await ws.send_json({"type": "status", "cursor": "7" * 5000, "backlog": 10**30})
        answer = await ws.receive_json()
        assert answer["type"] == "error" and "'cursor'" in answer["error"]
    assert server.store.devices()[0]["cursor"] is None


async def test_out_of_range_integers_deep_json_and_lone_surrogates_get_400_naming_the_field(
    server: Server, tickets: Tickets
) -> None:
    """Finding 8: these answered 500 (and with ``backlog`` the scan was committed all the same)."""
    [ticket] = tickets.make(1)
    server.store.upsert_tickets(tickets.records())
    device_id, credential = server.enrol("north")
    url = f"{server.url}/api/scans"
    cases: dict[str, dict[str, Any]] = {
        "'ticket_version'": {"scans": [scan_as(device_id, "north", ticket, ticket_version=10**30)]},
        "'backlog'": {"scans": [scan_as(device_id, "north", ticket)], "backlog": 10**30},
        "'reason'": {"scans": [scan_as(device_id, "north", None, verdict="malformed", reason="bad \ud800")]},
        "'details'": {
            "scans": [scan_as(device_id, "north", None, verdict="malformed", details={"a": "\udfff"})]
        },
    }
    for field, body in cases.items():
        status, answer = await post_json(url, body, credential)
        assert status == 400 and field in answer["detail"] and answer["code"] == "invalid", (field, answer)
    assert server.store.scan_count() == 0  # nothing committed behind a refusal
    auth = {"Authorization": f"Bearer {credential}"}
    async with aiohttp.ClientSession(headers=auth) as session:
        async with session.get(f"{server.url}/api/deltas", params={"after": str(10**30)}) as resp:
            assert resp.status == 400 and "'after'" in (await resp.json())["detail"]
        deep = ("[" * 3000 + "]" * 3000).encode()
        async with session.post(url, data=deep) as resp:
            assert resp.status == 400 and "nested" in (await resp.json())["detail"]
    # in a partial batch the bad scans are named and the good one kept
    good = scan_as(device_id, "north", ticket)
    bad = [body["scans"][0] for field, body in cases.items() if field != "'backlog'"]
    status, answer = await post_json(url, {"scans": [*bad, good], "partial": True}, credential)
    assert status == 200 and answer["acknowledged"] == [good["scan_id"]]
    assert [(r["index"], r["code"]) for r in answer["rejected"]] == [
        (0, "invalid"),
        (1, "invalid"),
        (2, "invalid"),
    ]
    assert server.store.scan_count() == 1


async def test_a_scan_id_with_a_newline_cannot_forge_a_log_line(server: Server) -> None:
    """Finding 9: a rejected ``scan_id`` containing a newline wrote a forged line into the log."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.json_formatter())
    logger = logging.getLogger("sync_server")
    logger.addHandler(handler)
    try:
        device_id, credential = server.enrol("north")
        forged = '1\n2026-11-27 12:00:00 INFO sync_server organiser "admin" logged in'
        bad = {**scan_as(device_id, "north", None, verdict="malformed"), "scan_id": forged, "verdict": "nope"}
        status, _ = await post_json(f"{server.url}/api/scans", {"scans": [bad], "partial": True}, credential)
        assert status == 200
    finally:
        logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert any(r.get("scan_id") == forged for r in records)
    assert not any(line.startswith("2026-11-27") for line in lines)


async def test_the_server_never_stores_raw_text_of_scans_that_are_not_tickets(
    server: Server, tickets: Tickets
) -> None:
    [ticket] = tickets.make(1)
    server.store.upsert_tickets(tickets.records())
    device_id, credential = server.enrol("north")
    not_a_ticket = scan_as(
        device_id,
        "north",
        None,
        verdict="malformed",
        details={"text": "13800138000", "note": "x", "length": 11},
    )
    a_ticket = scan_as(
        device_id, "north", ticket, details={"text": "13800138000", "identity_source": "staff"}
    )
    status, _ = await post_json(f"{server.url}/api/scans", {"scans": [not_a_ticket, a_ticket]}, credential)
    assert status == 200
    assert stored(server, not_a_ticket["scan_id"]).details == {"length": 11, "scrubbed": ["note", "text"]}
    assert stored(server, a_ticket["scan_id"]).details == {"identity_source": "staff", "scrubbed": ["text"]}
