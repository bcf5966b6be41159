"""The decision through the real pipeline: real tokens, a real SQLite store, every verdict."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import pytest

from gate_agent.config import GateConfig
from gate_agent.pipeline import ScanPipeline
from gate_agent.store import GateStore
from tests.gate_agent.conftest import HOLDER_ID, HOLDER_NAME, Tickets
from ticket_format import SigningKey, TicketClaims, issue

Make = Callable[..., ScanPipeline]


class Clock:
    def __init__(self) -> None:
        self.now = time.time()
        self.mono = 1000.0

    def wall(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.mono

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.mono += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


def pipeline_for(make: Make, gate: GateConfig, clock: Clock) -> ScanPipeline:
    return make(gate, clock=clock.wall, monotonic=clock.monotonic)


def test_first_entry_ok_then_already_used_with_gate_and_time(
    store: GateStore, tickets: Tickets, gate: GateConfig, make_pipeline: Make, clock: Clock
) -> None:
    token = tickets.new(seat="R3-S7")
    tickets.load_into(store)
    pipe = pipeline_for(make_pipeline, gate, clock)
    first = pipe.scan(token, source="hid0")
    assert first.verdict.value == "ok" and first.decision.admit is True
    assert first.decision.ticket is not None and first.decision.ticket["seat"] == "R3-S7"
    clock.advance(10)
    second = pipe.scan(token)
    assert second.verdict.value == "already_used" and second.decision.admit is False
    assert second.decision.details["used_gate"] == "north-1"
    assert second.decision.details["used_at"] == pytest.approx(first.at)
    journal = store.scans()
    assert [e.verdict for e in journal] == ["already_used", "ok"]
    assert journal[1].scan_id == first.scan_id and journal[1].source == "hid0"


def test_repeat_within_window_is_one_scan(
    store: GateStore, tickets: Tickets, gate: GateConfig, make_pipeline: Make, clock: Clock
) -> None:
    token = tickets.new()
    tickets.load_into(store)
    pipe = pipeline_for(make_pipeline, gate, clock)
    first = pipe.scan(token)
    clock.advance(1.0)
    again = pipe.scan(token)
    assert again.repeat and again.verdict.value == "ok" and again.scan_id == first.scan_id
    assert len(store.scans()) == 1
    clock.advance(5.0)
    assert pipe.scan(token).verdict.value == "already_used"


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("hello world", "malformed"),
        ("EN1:!!!", "malformed"),
        ("", "malformed"),
        ("EN1:" + "A" * 20000, "malformed"),
    ],
)
def test_garbage_is_malformed_and_journalled(
    store: GateStore, gate: GateConfig, make_pipeline: Make, clock: Clock, text: str, verdict: str
) -> None:
    pipe = pipeline_for(make_pipeline, gate, clock)
    assert pipe.scan(text).verdict.value == verdict
    assert store.scans()[0].verdict == verdict


def test_signature_and_key_failures(
    store: GateStore, tickets: Tickets, gate: GateConfig, make_pipeline: Make, clock: Clock
) -> None:
    token = tickets.new()
    tickets.load_into(store)
    pipe = pipeline_for(make_pipeline, gate, clock)
    stranger = issue(TicketClaims(ticket_id="x", event_id="evt-1"), SigningKey.generate())
    assert pipe.scan(stranger).verdict.value == "unknown_key"
    tampered = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]
    assert pipe.scan(tampered).verdict.value in ("invalid_signature", "malformed")


def test_ticket_facts(
    store: GateStore, tickets: Tickets, gate: GateConfig, make_pipeline: Make, clock: Clock
) -> None:
    now = int(clock.now)
    other_event = tickets.new(event_id="evt-2")
    other_session = tickets.new(session_id="matinee")
    this_session = tickets.new(session_id="evening")
    revoked = tickets.new(status="revoked")
    blocked = tickets.new(status="blocked")
    early = tickets.new(valid_from=now + 3600)
    late = tickets.new(valid_until=now - 3600)
    skewed = tickets.new(valid_from=now + 60)  # inside the 300 s clock-skew allowance
    vip = tickets.new(zone="VIP")
    kid = tickets.new(ticket_type="child")
    tickets.load_into(store)
    strict = replace(gate, session_id="evening", allowed_zones=("A",), allowed_ticket_types=("standard",))
    pipe = pipeline_for(make_pipeline, strict, clock)
    assert pipe.scan(other_event).verdict.value == "wrong_event"
    assert pipe.scan(other_session).verdict.value == "wrong_event"
    assert pipe.scan(this_session).verdict.value == "ok"
    assert pipe.scan(revoked).verdict.value == "revoked"
    assert pipe.scan(blocked).verdict.value == "blocked"
    assert pipe.scan(early).verdict.value == "not_yet_valid"
    assert pipe.scan(late).verdict.value == "expired"
    assert pipe.scan(skewed).verdict.value == "ok"
    assert pipe.scan(vip).verdict.value == "wrong_gate"
    assert pipe.scan(kid).verdict.value == "wrong_gate"


def test_older_version_is_revoked_newer_is_accepted(
    store: GateStore, tickets: Tickets, gate: GateConfig, make_pipeline: Make, clock: Clock
) -> None:
    old = tickets.new(ticket_id="t-1", version=1, record=False)
    new = tickets.new(ticket_id="t-1", version=2)
    tickets.load_into(store)
    pipe = pipeline_for(make_pipeline, gate, clock)
    result = pipe.scan(old)
    assert result.verdict.value == "revoked" and "v2" in result.decision.reason
    assert pipe.scan(new).verdict.value == "ok"


def test_unknown_ticket_policy(
    store: GateStore, tickets: Tickets, gate: GateConfig, make_pipeline: Make, clock: Clock
) -> None:
    token = tickets.new(record=False)
    tickets.load_into(store)
    assert (
        pipeline_for(make_pipeline, replace(gate, require_in_snapshot=True), clock).scan(token).verdict
        == "revoked"
    )
    assert pipeline_for(make_pipeline, gate, clock).scan(token).verdict == "ok"


def test_exit_and_reentry_policies(
    store: GateStore, tickets: Tickets, gate: GateConfig, make_pipeline: Make, clock: Clock
) -> None:
    token = tickets.new()
    tickets.load_into(store, reentry="after_exit")  # event-wide rule from the snapshot
    entry = pipeline_for(make_pipeline, gate, clock)
    exit_gate = pipeline_for(make_pipeline, replace(gate, gate_id="exit-1", direction="out"), clock)
    assert entry.scan(token).verdict == "ok"
    clock.advance(5)
    assert entry.scan(token).verdict == "already_used"  # still inside
    clock.advance(5)
    out = exit_gate.scan(token)
    assert out.verdict == "exit_ok" and out.decision.admit is None
    clock.advance(5)
    back = entry.scan(token)
    assert back.verdict == "ok" and back.decision.reason == "re-entry"
    # The gate's own config overrides the snapshot's rule.
    strict = pipeline_for(
        make_pipeline, replace(gate, reentry="none", explicit=frozenset({"reentry"})), clock
    )
    clock.advance(5)
    exit_gate.scan(token)
    clock.advance(5)
    assert strict.scan(token).verdict == "already_used"
    assert store.counts()["exits"] == 2


def test_other_gates_scan_refuses_here(
    store: GateStore, tickets: Tickets, gate: GateConfig, make_pipeline: Make, clock: Clock
) -> None:
    token = tickets.new(ticket_id="t-77")
    tickets.load_into(store)
    assert store.record_remote_scan("remote-1", "t-77", "south-2", clock.now - 60)
    assert not store.record_remote_scan("remote-1", "t-77", "south-2", clock.now - 60)  # idempotent
    result = pipeline_for(make_pipeline, gate, clock).scan(token)
    assert result.verdict == "already_used" and result.decision.details["used_gate"] == "south-2"


def test_real_name_hold_then_match_or_mismatch(
    store: GateStore, tickets: Tickets, gate: GateConfig, make_pipeline: Make, clock: Clock
) -> None:
    good = tickets.new(real_name=True)
    bad = tickets.new(real_name=True)
    tickets.load_into(store)
    pipe = pipeline_for(make_pipeline, gate, clock)
    held = pipe.scan(good)
    assert held.verdict == "identity_required" and held.decision.admit is None
    ok = pipe.present_identity(id_type="cn_ric", id_number=HOLDER_ID.lower(), name=HOLDER_NAME)
    assert ok.verdict == "ok"
    assert pipe.scan(bad).verdict == "identity_required"
    mismatch = pipe.present_identity(id_type="passport", id_number="E12345678")
    assert mismatch.verdict == "identity_mismatch"
    with pytest.raises(ValueError, match="no ticket is waiting"):
        pipe.present_identity(id_type="cn_ric", id_number=HOLDER_ID)
    assert pipe.scan(bad).verdict == "identity_required"
    with pytest.raises(ValueError, match="resident ID"):
        pipe.present_identity(id_type="cn_ric", id_number="110105194912310021")
    assert [e.verdict for e in store.scans()][:3] == [
        "identity_required",
        "identity_mismatch",
        "identity_required",
    ]
