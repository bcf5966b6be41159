"""The pure rules of issue 19: scope, scan time window, personal text, throttling, origins."""

from __future__ import annotations

from sync_server.origin import cross_site
from sync_server.personal import scrub_details
from sync_server.scan_time import TimeWindow
from sync_server.scope import scope_violation
from sync_server.store import Device, TicketScope
from sync_server.throttle import Throttle
from wire.sync_api import Scan

DEVICE = Device("d1", "evt", "north", "in", ("A",), False)


def scan(**fields: object) -> Scan:
    base: dict[str, object] = {
        "scan_id": "s", "at": 1.0, "verdict": "ok", "gate": "north", "device": "d1",
        "direction": "in", "admit": True, "ticket_id": "t",
    }  # fmt: skip
    return Scan.parse(base | fields)


def test_scope_allows_own_admissions_and_refusals_of_foreign_tickets_only() -> None:
    mine = TicketScope("evt", None, "A")
    assert scope_violation(DEVICE, scan(), mine, None) is None
    foreign = TicketScope("other", None, "A")
    assert "not a ticket of event 'evt'" in str(scope_violation(DEVICE, scan(), foreign, None))
    assert "not a ticket" in str(scope_violation(DEVICE, scan(), None, None))
    wrong_event = scan(verdict="wrong_event", admit=False)
    assert scope_violation(DEVICE, wrong_event, foreign, None) is None  # a fact about this gate
    assert "zone 'B'" in str(scope_violation(DEVICE, scan(), TicketScope("evt", None, "B"), None))
    assert "session" in str(scope_violation(DEVICE, scan(), TicketScope("evt", "s2", "A"), "s1"))
    assert "gate" in str(
        scope_violation(DEVICE, scan(gate="south", admit=False, verdict="revoked"), mine, None)
    )
    assert "exits" in str(scope_violation(DEVICE, scan(verdict="exit_ok", admit=None), mine, None))


def test_time_window_flags_far_past_and_future_only() -> None:
    window = TimeWindow(past=3600, future=60)
    assert [window.flag(at, 10_000.0) for at in (10_000.0, 9_000.0, 5_000.0, 10_100.0)] == [
        None,
        None,
        "past",
        "future",
    ]


def test_raw_text_is_scrubbed_and_non_ticket_scans_keep_no_text() -> None:
    assert scrub_details({"text": "x", "used_gate": "n"}, is_ticket=True) == {
        "used_gate": "n",
        "scrubbed": ["text"],
    }
    assert scrub_details({"note": "phone", "n": 3}, is_ticket=False) == {"n": 3, "scrubbed": ["note"]}
    assert scrub_details({"identity_source": "staff"}, is_ticket=True) == {"identity_source": "staff"}
    # the gate's description of what was read is kept, in exactly that form (gate_agent.samples)
    described = {"sample": {"length": 18, "shape": "9{17}A", "hash": "0123456789abcdef"}}
    assert scrub_details(described, is_ticket=False) == described
    for smuggled in (
        {"length": 11, "shape": "13800138000"},  # digits outside run counts
        {"length": 11, "shape": "9{13800138000}"},  # a number as a run count
        {"length": 3, "shape": "AAA", "name": "x"},  # another key
        {"length": 3, "hash": "not a hash"},
        {"length": 3, "prefix": "tel:"},
        "9{11}",
    ):
        assert scrub_details({"sample": smuggled}, is_ticket=False) == {"scrubbed": ["sample"]}, smuggled


def test_throttle_locks_out_with_doubling_back_off_and_forgets() -> None:
    now = [0.0]
    throttle = Throttle(free=2, base=1.0, cap=4.0, forget=100.0, clock=lambda: now[0])
    assert [throttle.failed("k") for _ in range(5)] == [0.0, 0.0, 1.0, 2.0, 4.0]
    assert throttle.retry_after("k") == 4.0
    now[0] = 500.0
    assert throttle.retry_after("k") == 0.0 and throttle.failed("k") == 0.0
    small = Throttle(free=1, max_keys=2, clock=lambda: 0.0)
    for key in ("a", "b", "c"):
        small.failed(key)
    assert small.retry_after("a") == 0.0  # the oldest key was dropped: memory stays bounded
    # counted in advance and taken back: a success does not use up the free attempts
    ahead = Throttle(free=1, clock=lambda: 0.0)
    for _ in range(5):
        ahead.failed("ip")
        ahead.forgive("ip")
    assert ahead.retry_after("ip") == 0.0 and ahead.failed("ip") == 0.0


def test_origin_check() -> None:
    own = "http://sync.venue:8443"
    assert cross_site(None, None, own) is None
    assert cross_site("http://sync.venue:8443", None, own) is None
    assert cross_site(None, "http://sync.venue:8443/dash", own) is None
    assert cross_site("https://evil.example", None, own) is not None
    assert cross_site("null", None, own) is not None
    assert cross_site("https://sync.example.org", None, own, {"https://sync.example.org"}) is None
