"""Rotating codes at the gate: live codes enter, screenshots and static codes of bound tickets
get ``stale_code``, printed tickets follow the event's policy."""

from __future__ import annotations

import dataclasses
import uuid

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gate_agent.config import GateConfig
from gate_agent.pipeline import ScanPipeline
from gate_agent.store import GateStore
from tests.gate_agent.conftest import EVENT, HOLDER_ID, HOLDER_NAME, Tickets
from ticket_format import TicketClaims, issue
from ticket_format.rotating import PERIOD, bind_device_key, live_code
from wire.snapshot import TicketRecord
from wire.sync_api import VERDICTS

NOW = 119_702_733 * PERIOD + 3.0


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def _bound(tickets: Tickets, device: Ed25519PrivateKey, real_name: bool = False) -> str:
    public = device.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    claims = bind_device_key(TicketClaims(ticket_id=str(uuid.uuid4()), event_id=EVENT, zone="A"), public)
    token = issue(claims, tickets.key)
    tickets.records.append(
        TicketRecord(ticket_id=claims.ticket_id, version=1, event_id=EVENT, zone="A", real_name=real_name)
    )
    return token


def test_live_code_enters_and_its_screenshot_does_not(
    store: GateStore, tickets: Tickets, gate: GateConfig
) -> None:
    device = Ed25519PrivateKey.generate()
    token = _bound(tickets, device)
    other = _bound(tickets, Ed25519PrivateKey.generate())
    tickets.load_into(store)
    clock = Clock()
    pipe = ScanPipeline(store, dataclasses.replace(gate, reentry="any", repeat_window=0), clock=clock)
    shot = live_code(token, device, clock.now)
    assert pipe.scan(shot).verdict == "ok"
    clock.now += PERIOD + gate.code_skew + 1  # the screenshot, replayed after the window
    stale = pipe.scan(shot)
    assert stale.verdict == "stale_code" and stale.decision.admit is False
    assert pipe.scan(token).verdict == "stale_code"  # the static part of a bound ticket
    assert pipe.scan(live_code(other, device, clock.now)).verdict == "invalid_signature"  # wrong key
    assert pipe.scan(live_code(token, device, clock.now)).verdict == "ok"  # the phone's current code
    assert "stale_code" in VERDICTS  # uploads of the new verdict are accepted by the wire schema
    assert [e.verdict for e in store.pending_scans()][-4:] == [
        "stale_code",
        "stale_code",
        "invalid_signature",
        "ok",
    ]


def test_printed_tickets_follow_the_event_policy(
    store: GateStore, tickets: Tickets, gate: GateConfig
) -> None:
    printed = tickets.new(zone="A")
    tickets.load_into(store, static_codes="refused")
    pipe = ScanPipeline(store, gate)
    refused = pipe.scan(printed)
    assert refused.verdict == "stale_code" and "live codes" in refused.decision.reason
    tickets.load_into(store, cursor="2", static_codes="allowed")
    assert ScanPipeline(store, gate).scan(printed).verdict == "ok"


def test_a_live_real_name_ticket_is_held_then_checked(
    store: GateStore, tickets: Tickets, gate: GateConfig
) -> None:
    device = Ed25519PrivateKey.generate()
    token = _bound(tickets, device, real_name=True)
    tickets.load_into(store)
    clock = Clock()
    pipe = ScanPipeline(store, gate, clock=clock)
    assert pipe.scan(live_code(token, device, clock.now)).verdict == "identity_required"
    outcome = pipe.present_identity(id_type="cn_ric", id_number=HOLDER_ID, name=HOLDER_NAME)
    assert outcome.verdict == "identity_mismatch"  # held live (not refused stale): no seal in this record
    assert "holder identity" in outcome.decision.reason
