"""The agent object in-process: events from inputs (tickets and ID readers) to verdicts and status."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory

from gate_agent.agent import Agent
from gate_agent.config import parse_config
from gate_agent.inputs import ScanEvent
from gate_agent.inputs.factory import _identity_emit
from gate_agent.inputs.idreader import IdParser, IdReaderSettings
from gate_agent.store import GateStore
from tests.gate_agent.conftest import HOLDER_ID, HOLDER_NAME, Tickets


def make_agent(
    tmp_path: Path, extra: dict[str, object] | None = None
) -> tuple[Agent, GateStore, MockFactory]:
    data: dict[str, object] = {
        "gate": {"id": "north-1", "event_id": "evt-1", "repeat_window": 0},
        "state": {"dir": str(tmp_path / "state")},
        "display": {"enabled": False},
        "gpio": {"green": 17, "red": 27, "amber": 22, "turnstile": 24, "show_time": 0.05},
        **(extra or {}),
    }
    config = parse_config(data, "test")
    store = GateStore.open(config.database)
    factory = MockFactory()
    return Agent(config, store, pin_factory=factory), store, factory


def test_ticket_then_id_reader_settles_the_hold(tmp_path: Path, tickets: Tickets) -> None:
    agent, store, factory = make_agent(tmp_path)
    token = tickets.new(real_name=True)
    tickets.load_into(store)
    try:
        held = agent.handle(ScanEvent(token, "hid0"))
        assert held is not None and held.verdict == "identity_required"
        assert factory.pin(22).state and agent.status.holding  # amber light, display shows the form
        delivered: list[ScanEvent] = []
        reader_emit = _identity_emit(delivered.append, IdParser(IdReaderSettings()))
        reader_emit(ScanEvent("nobody|123", "idreader"))  # a misread: not enough to admit
        reader_emit(ScanEvent(f"{HOLDER_NAME}|{HOLDER_ID}", "idreader"))
        assert agent.handle(delivered[0]) is None  # the reader's garbage is refused, the hold stays
        assert agent.status.holding
        admitted = agent.handle(delivered[1])
        assert admitted is not None and admitted.verdict == "ok" and admitted.source == "idreader"
        assert not factory.pin(22).state and factory.pin(24).state  # turnstile pulse
        assert agent.status.counts["admitted"] == 1 and agent.status.backlog == 2
        assert agent.status.last is not None and agent.status.last["verdict"] == "ok"
        recorded = store.gate_config()
        assert recorded is not None and recorded["gate_id"] == "north-1" and recorded["direction"] == "in"
    finally:
        agent.feedback.close()
        store.close()
        factory.reset()


async def test_run_without_sync_module_and_clean_stop(
    tmp_path: Path, tickets: Tickets, caplog: pytest.LogCaptureFixture
) -> None:
    agent, store, factory = make_agent(tmp_path, {"sync": {"url": "http://127.0.0.1:9"}})
    tickets.load_into(store)
    token = tickets.new()
    caplog.set_level(logging.INFO)
    try:
        task = asyncio.create_task(agent.run())
        while agent.queue is None:
            await asyncio.sleep(0.01)
        agent.emit(ScanEvent(token, "hid0"))
        agent.emit(ScanEvent("\x00\xff binary noise", "serial0"))
        for _ in range(200):
            if agent.status.counts.get("refused") == 1:
                break
            await asyncio.sleep(0.01)
        agent.stop()
        await asyncio.wait_for(task, 10)
    finally:
        store.close()
        factory.reset()
    verdicts = [r.verdict for r in caplog.records if getattr(r, "event", None) == "verdict"]  # type: ignore[attr-defined]
    assert verdicts == ["ok", "malformed"]  # signed but not in the snapshot: admitted on its signature
    # The sync client is installed here, so [sync] turns it on (it only fails to connect).
    assert agent.status.sync_enabled and "running standalone" not in caplog.text


def test_sync_configured_but_not_installed_runs_standalone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A device image without the sync package still decides scans alone, and says why."""
    real_find_spec = importlib.util.find_spec

    def without_sync(name: str, package: str | None = None) -> object:
        return None if name.startswith("gate_agent.sync") else real_find_spec(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", without_sync)
    agent, store, factory = make_agent(tmp_path, {"sync": {"url": "http://127.0.0.1:9"}})
    caplog.set_level(logging.INFO)
    try:
        agent._start_sync()
    finally:
        agent.feedback.close()
        store.close()
        factory.reset()
    assert "gate_agent.sync.client is not installed: running standalone" in caplog.text
    assert not agent.status.sync_enabled and agent.tasks == []
