"""Re-entry after exit when other gates' scans arrive out of order: the scans' times decide.

Before, an entry from another gate that arrived after a later exit put the holder back
"inside", so their legitimate re-entry was refused ``already_used`` until the next snapshot.
"""

from __future__ import annotations

import dataclasses

from gate_agent.config import GateConfig
from gate_agent.pipeline import ScanPipeline
from gate_agent.store import GateStore
from tests.gate_agent.conftest import Tickets


def test_an_exit_that_arrives_after_an_older_entry_lets_the_holder_back_in(
    store: GateStore, tickets: Tickets, gate: GateConfig
) -> None:
    token = tickets.new(ticket_id="T-1")
    tickets.load_into(store)
    pipe = ScanPipeline(
        store, dataclasses.replace(gate, reentry="after_exit", repeat_window=0), clock=lambda: 1000.0
    )
    assert store.record_remote_scan("x-1", "T-1", "south-exit", 200.0, "out", "exit_ok")
    assert store.record_remote_scan("e-1", "T-1", "south-1", 100.0, "in", "ok")  # older, arrives late
    assert store.lookup("T-1")[1].inside is False
    assert pipe.scan(token).verdict == "ok"  # re-entry after the exit


def test_an_exit_older_than_the_last_entry_does_not_let_a_second_person_in(
    store: GateStore, tickets: Tickets, gate: GateConfig
) -> None:
    token = tickets.new(ticket_id="T-2")
    tickets.load_into(store)
    pipe = ScanPipeline(
        store, dataclasses.replace(gate, reentry="after_exit", repeat_window=0), clock=lambda: 1000.0
    )
    assert store.record_remote_scan("e-1", "T-2", "south-1", 100.0, "in", "ok")
    assert store.record_remote_scan("e-2", "T-2", "south-1", 300.0, "in", "ok")
    assert store.record_remote_scan("x-1", "T-2", "south-exit", 200.0, "out", "exit_ok")  # late, older
    assert store.lookup("T-2")[1].inside is True
    assert pipe.scan(token).verdict == "already_used"
