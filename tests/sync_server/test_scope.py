"""Findings 1, 5 and 11 of issue 19: a device writes only its own event, gate, device id,
direction and zones; enrolment codes only for known events, wrong codes throttled per address."""

from __future__ import annotations

import pytest

from sync_server.settings import ServerSettings
from sync_server.store import UnknownEvent
from tests.sync_server.conftest import EVENT, Keyring_json, Server, Tickets, post_json, wait_for
from tests.sync_server.live import FakeClock, running, scan_as
from ticket_format import SigningKey
from wire.snapshot import TicketRecord

OTHER = "evt-other"


async def test_a_device_of_another_event_cannot_use_this_events_tickets_and_the_holder_gets_in(
    server: Server, tickets: Tickets, make_gate: object
) -> None:
    """Finding 1, seen from a real gate: event B's device "admits" event A's ticket."""
    ids = tickets.make(3)
    server.store.upsert_tickets(tickets.records())
    server.store.set_event(OTHER, Keyring_json(SigningKey.generate()))
    intruder = server.store.enrol(server.store.create_enrol_code(OTHER, "b-gate"))
    gate = make_gate("north")  # type: ignore[operator]
    gate.start()
    try:
        await wait_for(lambda: gate.store.snapshot_info().tickets == 3)
        forged = scan_as(intruder.device_id, "b-gate", ids[0])
        status, body = await post_json(f"{server.url}/api/scans", {"scans": [forged]}, intruder.credential)
        assert status == 403, body
        assert body["code"] == "out_of_scope" and ids[0] in body["detail"] and OTHER in body["detail"]
        status, body = await post_json(
            f"{server.url}/api/scans", {"scans": [forged], "partial": True}, intruder.credential
        )
        assert status == 200 and body["acknowledged"] == []
        assert [(r["index"], r["code"]) for r in body["rejected"]] == [(0, "out_of_scope")]
        assert server.store.scan_count() == 0
        # whatever the server holds now has reached the gate: the real holder still gets in
        await wait_for(lambda: gate.store.cursor() == str(server.store.cursor()))
        assert gate.scan(tickets.tokens[ids[0]]).decision.verdict.value == "ok"
        attempts = server.store.stats(OTHER)["attempts"]
        assert (attempts["requests"], attempts["scans"]) == (2, 2)
        assert attempts["recent"][0]["device_id"] == intruder.device_id
    finally:
        await gate.stop()


def test_no_enrolment_code_for_an_event_the_server_does_not_know(server: Server) -> None:
    """Finding 1's second device and finding 11: its code named an event never imported."""
    with pytest.raises(UnknownEvent, match="never-imported"):
        server.store.create_enrol_code("never-imported", "ghost-gate")


async def test_a_device_cannot_claim_another_gate_device_id_direction_or_zone(
    server: Server, tickets: Tickets
) -> None:
    """Finding 5 (and the direction and zone of its configuration)."""
    ids = tickets.make(2, zones=("A", "B"))  # ids[0] in zone A, ids[1] in zone B
    server.store.upsert_tickets(tickets.records())
    code = server.store.create_enrol_code(EVENT, "north", "in", ["A"])
    me = server.store.enrol(code)
    url = f"{server.url}/api/scans"
    claims = {
        "gate 'ghost-gate'": scan_as(me.device_id, "ghost-gate", ids[0]),
        "device 'someone-else'": scan_as("someone-else", "north", ids[0]),
        "direction 'out'": scan_as(me.device_id, "north", ids[0], direction="out", verdict="exit_ok"),
        "zone 'B'": scan_as(me.device_id, "north", ids[1]),
    }
    for words, scan in claims.items():
        status, body = await post_json(url, {"scans": [scan]}, me.credential)
        assert (status, body["code"]) == (403, "out_of_scope"), (words, body)
        assert words in body["detail"], body
    assert server.store.scan_count() == 0
    # in a partial batch the out-of-scope scans are named and the rest are kept
    good = scan_as(me.device_id, "north", ids[0])
    status, body = await post_json(url, {"scans": [*claims.values(), good], "partial": True}, me.credential)
    assert status == 200 and body["acknowledged"] == [good["scan_id"]]
    assert [r["index"] for r in body["rejected"]] == [0, 1, 2, 3]
    stats = server.store.stats(EVENT)
    assert [g["gate"] for g in stats["by_gate"]] == ["north"] and stats["entries"] == 1
    assert stats["attempts"]["scans"] == 8 and stats["attempts"]["requests"] == 5


async def test_a_ticket_of_another_session_is_out_of_scope(server: Server, tickets: Tickets) -> None:
    [ticket] = tickets.make(1)
    server.store.set_event(EVENT, Keyring_json(tickets.key), session_id="s1")
    server.store.upsert_tickets([TicketRecord(ticket_id=ticket, version=1, event_id=EVENT, session_id="s2")])
    me = server.store.enrol(server.store.create_enrol_code(EVENT, "north"))
    status, body = await post_json(
        f"{server.url}/api/scans", {"scans": [scan_as(me.device_id, "north", ticket)]}, me.credential
    )
    assert status == 403 and "session 's2'" in body["detail"]


async def test_wrong_enrolment_codes_are_throttled_per_address(server: Server) -> None:
    """Finding 11: 1,000 wrong codes a second drew no throttling."""
    clock = FakeClock()
    settings = ServerSettings(enrol_free_per_address=3, clock=clock)
    code = server.store.create_enrol_code(EVENT, "north")
    async with running(server.store, settings) as live:
        url = f"{live.url}/api/enrol"
        for _ in range(4):
            assert (await post_json(url, {"code": "WRNG-WRNG-WRNG"}))[0] == 403
        status, body = await post_json(url, {"code": code})  # even the right code waits
        assert (status, body["code"]) == (429, "too_many_attempts")
        clock.now += 2  # the back-off after the 4th failure is 1 s
        status, body = await post_json(url, {"code": code})
        assert status == 201, body
        assert live.state.counters["enrol_throttled"] == 1


def test_a_device_reads_only_its_own_session(server: Server, tickets: Tickets) -> None:
    """Scope on reads: the snapshot and the deltas of an event with a session hold no ticket of
    another session, even when the feed brought one in."""
    ids = tickets.make(3)
    event = server.store.event(EVENT)
    assert event is not None
    server.store.set_event(EVENT, event["keyring"], session_id="S1")
    mine, sessionless, theirs = ids
    server.store.upsert_tickets(
        [
            TicketRecord(ticket_id=mine, version=1, event_id=EVENT, session_id="S1", zone="A"),
            TicketRecord(ticket_id=sessionless, version=1, event_id=EVENT, zone="A"),
            TicketRecord(ticket_id=theirs, version=1, event_id=EVENT, session_id="S2", zone="A"),
        ]
    )
    assert sorted(r.ticket_id for r in server.store.iter_tickets(EVENT)) == sorted([mine, sessionless])
    assert sorted(r.ticket_id for r in server.store.deltas(EVENT, 0).tickets) == sorted([mine, sessionless])
