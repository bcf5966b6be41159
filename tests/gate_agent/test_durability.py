"""Crash safety: an agent taking scans is SIGKILLed at random points, again and again.

After every kill: every scan whose verdict the agent emitted is in the journal, no ticket was
admitted twice, and SQLite's integrity check passes.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from pathlib import Path

import pytest

from gate_agent.store import GateStore
from tests.gate_agent.agent_process import AgentProcess, Scanner, write_config
from tests.gate_agent.conftest import Tickets

KILLS = 50


@pytest.mark.slow
def test_sigkill_at_random_points_loses_nothing(tmp_path: Path, tickets: Tickets) -> None:
    rng = random.Random(20261124)
    pool = [tickets.new() for _ in range(30)]
    scanner = Scanner(tmp_path / "ttyScanner")
    config = write_config(tmp_path, scanner.link, repeat_window=0.0)
    with GateStore.open(tmp_path / "state" / "gate.sqlite") as store:
        tickets.load_into(store)
    emitted: dict[str, dict[str, object]] = {}
    try:
        for round_number in range(KILLS):
            agent = AgentProcess(config)
            try:
                agent.wait_ready()
                scanner.drain()
                for _ in range(rng.randint(1, 12)):
                    scanner.scan(rng.choice(pool) if rng.random() < 0.85 else f"noise-{rng.random()}")
                    time.sleep(rng.uniform(0, 0.02))
                time.sleep(rng.uniform(0, 0.05))  # kill while scans may still be in flight
            finally:
                agent.kill()
            for verdict in agent.verdicts():
                emitted[str(verdict["scan_id"])] = verdict
            with GateStore.open(tmp_path / "state" / "gate.sqlite") as store:
                assert store.integrity_check() == "ok", f"round {round_number}"
                journal = {entry.scan_id: entry for entry in store.scans(limit=1_000_000)}
                missing = [scan_id for scan_id in emitted if scan_id not in journal]
                assert not missing, f"round {round_number}: emitted but not journalled: {missing}"
                for scan_id, verdict in emitted.items():
                    assert journal[scan_id].verdict == verdict["verdict"]
                admitted = Counter(e.ticket_id for e in journal.values() if e.verdict == "ok")
                assert max(admitted.values(), default=0) <= 1, (
                    f"round {round_number}: a ticket admitted twice"
                )
    finally:
        scanner.close()
    assert len(emitted) >= KILLS  # the test did exercise the agent
    assert any(v["verdict"] == "ok" for v in emitted.values())
    assert any(v["verdict"] == "already_used" for v in emitted.values())
