"""What the gate tells its staff: the exact reason and facts of every verdict path of
``gate_agent.rules.decide``, and the edges of the validity window.

Staff act on these words ("entered at 19:02:11 at gate north-2"), so a reason that loses its
time or gate, or a window that is off by one second at either end, is a bug a test must see.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from typing import Any

import pytest

from gate_agent.config import GateConfig
from gate_agent.rules import Usage, decide, refuse_token
from ticket_format import TicketClaims
from ticket_format.errors import ErrorKind, TicketError
from wire.snapshot import TicketRecord

T0 = 1_800_000_000  # 08:00:00 UTC
SKEW = 300.0
CLAIMS = TicketClaims(
    ticket_id="T-9",
    event_id=7,
    session_id="s1",
    zone="A",
    seat="A-1-1",
    ticket_type="adult",
    valid_from=T0,
    valid_until=T0 + 3600,
    version=2,
)
GATE = GateConfig(gate_id="north-1", event_id=7, device_id="pi-1", clock_skew=SKEW)
RECORD = TicketRecord(ticket_id="T-9", version=2, event_id=7, session_id="s1", zone="A")


@pytest.fixture(autouse=True)
def _utc_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Reasons print the local time of day; pin the zone so the words are known."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _decide(
    claims: TicketClaims = CLAIMS,
    record: TicketRecord | None = RECORD,
    usage: Usage = Usage(),
    gate: GateConfig = GATE,
    now: float = T0 + 60,
) -> tuple[str, str, dict[str, Any]]:
    decision = decide(claims, record, usage, gate, now)
    return decision.verdict.value, decision.reason, decision.details


def test_the_ticket_summary_names_every_field() -> None:
    decision = decide(CLAIMS, RECORD, Usage(), GATE, T0 + 60)
    assert decision.ticket == {
        "ticket_id": "T-9",
        "event_id": 7,
        "session_id": "s1",
        "zone": "A",
        "seat": "A-1-1",
        "ticket_type": "adult",
        "version": 2,
    }
    assert (decision.verdict.value, decision.reason) == ("ok", "welcome")


def test_a_token_that_did_not_verify_keeps_its_reason() -> None:
    decision = refuse_token(TicketError(ErrorKind.INVALID_SIGNATURE, "signature does not verify"))
    assert decision.verdict.value == "invalid_signature"
    assert decision.reason == "invalid_signature: signature does not verify"


def _record(**changes: Any) -> TicketRecord:
    return dataclasses.replace(RECORD, **changes)


def _gate(**changes: Any) -> GateConfig:
    return dataclasses.replace(GATE, **changes)


def test_refusals_about_the_ticket_say_why() -> None:
    assert _decide(record=_record(status="revoked"))[:2] == ("revoked", "refunded or cancelled")
    assert _decide(record=_record(status="blocked"))[:2] == ("blocked", "blocked by the organiser")
    assert _decide(record=_record(version=3))[:2] == ("revoked", "replaced by v3 (this is v2)")
    assert _decide(record=None, gate=_gate(require_in_snapshot=True))[:2] == (
        "revoked",
        "not in this gate's ticket list",
    )
    assert _decide(record=None)[:2] == ("ok", "welcome")


def test_the_validity_window_edges_are_inclusive_and_named_in_time() -> None:
    start, end = T0 - SKEW, T0 + 3600 + SKEW
    assert _decide(now=start)[:2] == ("ok", "welcome")
    assert _decide(now=start - 1)[:2] == ("not_yet_valid", "valid from 08:00:00")
    assert _decide(now=end)[:2] == ("ok", "welcome")
    assert _decide(now=end + 1)[:2] == ("expired", "valid until 09:00:00")
    assert _decide(now=T0 + 3600 + 1)[:2] == ("ok", "welcome"), "inside the skew after the end"


def test_wrong_gate_names_the_zone_or_type_or_says_none() -> None:
    zones = _gate(allowed_zones=("B",))
    assert _decide(gate=zones)[:2] == ("wrong_gate", "zone A does not enter here")
    assert _decide(claims=CLAIMS._replace(zone=None), gate=zones)[:2] == (
        "wrong_gate",
        "zone (none) does not enter here",
    )
    types = _gate(allowed_ticket_types=("vip",))
    assert _decide(gate=types)[:2] == ("wrong_gate", "type adult does not enter here")
    assert _decide(claims=CLAIMS._replace(ticket_type=None), gate=types)[:2] == (
        "wrong_gate",
        "type (none) does not enter here",
    )


def test_exit_and_re_entry_reasons() -> None:
    assert _decide(gate=_gate(direction="out"))[:2] == ("exit_ok", "exit recorded")
    assert _decide(usage=Usage(entries=1), gate=_gate(reentry="any"))[:2] == ("ok", "re-entry")
    outside = Usage(entries=1, inside=False, first_at=T0, first_gate="north-2")
    assert _decide(usage=outside, gate=_gate(reentry="after_exit"))[:2] == ("ok", "re-entry")
    inside = Usage(entries=1, inside=True, first_at=T0, first_gate="north-2")
    assert _decide(usage=inside, gate=_gate(reentry="after_exit"))[0] == "already_used"


@pytest.mark.parametrize(
    ("usage", "reason", "used_at", "used_gate"),
    [
        pytest.param(
            Usage(1, True, T0, "north-2", T0 + 65, "south-1"),
            "entered at 08:01:05 at gate south-1",
            T0 + 65,
            "south-1",
            id="the last scan wins",
        ),
        pytest.param(
            Usage(1, True, T0 + 5, "north-2", None, None),
            "entered at 08:00:05 at gate north-2",
            T0 + 5,
            "north-2",
            id="only the first scan is known",
        ),
        pytest.param(
            Usage(1, True, None, None, None, None),
            "entered at gate another gate",
            None,
            "another gate",
            id="nothing but a count",
        ),
        pytest.param(
            Usage(1, True, T0, None, T0 + 10, None),
            "entered at 08:00:10 at gate another gate",
            T0 + 10,
            "another gate",
            id="times without gates",
        ),
    ],
)
def test_already_used_says_when_and_where(
    usage: Usage, reason: str, used_at: float | None, used_gate: str
) -> None:
    verdict, said, details = _decide(usage=usage)
    assert (verdict, said) == ("already_used", reason)
    assert details == {"used_at": used_at, "used_gate": used_gate}


def test_static_and_live_codes_of_bound_and_unbound_tickets() -> None:
    """A picture of a bound ticket never enters; its live code does; so does any live code at an
    event that refuses static codes, and a static code only where they are allowed."""
    from ticket_format.rotating import bind_device_key

    bound = bind_device_key(CLAIMS, b"\x01" * 32)
    now = T0 + 60
    pictured = decide(bound, RECORD, Usage(), GATE, now)
    assert (pictured.verdict.value, pictured.reason) == (
        "stale_code",
        "bound to the buyer's phone: scan its live code, not a picture",
    )
    assert decide(bound, RECORD, Usage(), GATE, now, live=True).verdict.value == "ok"
    live_only = _gate(static_codes="refused")
    printed = decide(CLAIMS, RECORD, Usage(), live_only, now)
    assert (printed.verdict.value, printed.reason) == (
        "stale_code",
        "this event admits live codes from the ticket page only",
    )
    assert decide(CLAIMS, RECORD, Usage(), live_only, now, live=True).verdict.value == "ok"
    assert decide(CLAIMS, RECORD, Usage(), GATE, now).verdict.value == "ok"
