"""The local store: atomic snapshots, deltas, the journal and its acknowledgement."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from gate_agent.config import GateConfig
from gate_agent.pipeline import ScanPipeline
from gate_agent.store import GateStore
from tests.gate_agent.conftest import Tickets
from wire.snapshot import SnapshotError, SnapshotReader, TicketRecord


def test_store_settings_are_durable(store: GateStore) -> None:
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_truncated_snapshot_keeps_the_old_one(store: GateStore, tickets: Tickets) -> None:
    for _ in range(10):
        tickets.new()
    tickets.load_into(store, cursor="5")
    tickets.new()
    text = tickets.snapshot_text(cursor="9")
    cut = "".join(text.splitlines(keepends=True)[:-1])
    reader = SnapshotReader(io.StringIO(cut))
    with pytest.raises(SnapshotError):
        store.apply_snapshot(reader.header, reader, batch_size=3)
    assert store.cursor() == "5" and store.snapshot_info().tickets == 10
    reader = SnapshotReader(io.StringIO(text))
    assert store.apply_snapshot(reader.header, reader, batch_size=3) == 11
    assert store.cursor() == "9" and store.snapshot_info().tickets == 11


def test_delta_revokes_and_snapshot_keeps_local_use(
    store: GateStore, tickets: Tickets, gate: GateConfig
) -> None:
    token = tickets.new(ticket_id="a")
    other = tickets.new(ticket_id="b")
    tickets.load_into(store)
    pipe = ScanPipeline(store, gate, monotonic=iter(range(0, 10**6, 100)).__next__)
    assert pipe.scan(token).verdict == "ok"
    store.apply_delta(
        [TicketRecord(ticket_id="b", version=1, event_id="evt-1", status="revoked")], cursor="2"
    )
    assert store.cursor() == "2"
    assert pipe.scan(other).verdict == "revoked"
    tickets.load_into(store, cursor="3")  # a fresh snapshot that does not know about our scan
    assert pipe.scan(token).verdict == "already_used"


def test_snapshot_used_at_refuses(store: GateStore, tickets: Tickets, gate: GateConfig) -> None:
    token = tickets.new(ticket_id="c")
    tickets.records[-1] = TicketRecord(
        ticket_id="c",
        version=1,
        event_id="evt-1",
        zone="A",
        ticket_type="standard",
        used_at=1.7e9,
        used_gate="west",
    )
    tickets.load_into(store)
    result = ScanPipeline(store, gate).scan(token)
    assert result.verdict == "already_used" and result.decision.details["used_gate"] == "west"


def test_journal_acknowledgement(store: GateStore, tickets: Tickets, gate: GateConfig) -> None:
    pipe = ScanPipeline(store, gate, monotonic=iter(range(0, 10**6, 100)).__next__)
    tickets.load_into(store)
    ids = [pipe.scan(f"garbage {i}").scan_id for i in range(5)]
    assert store.backlog() == 5
    pending = store.pending_scans(limit=3)
    assert [p.scan_id for p in pending] == ids[:3]  # oldest first
    assert store.mark_acknowledged([ids[0], ids[1], "unknown"]) == 2
    assert store.backlog() == 3
    assert [p.scan_id for p in store.pending_scans()] == ids[2:]
    assert store.prune_acknowledged(older_than=1e12) == 2  # only acknowledged scans are deleted
    assert store.backlog() == 3 and len(store.scans()) == 3


def test_reopen_and_bad_file(tmp_path: Path, tickets: Tickets) -> None:
    path = tmp_path / "gate.sqlite"
    with GateStore.open(path) as first:
        tickets.load_into(first, cursor="7")
    with GateStore.open(path) as second:
        assert second.cursor() == "7" and second.integrity_check() == "ok"
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database" * 100)
    from gate_agent.store import StoreError

    with pytest.raises(StoreError):
        GateStore.open(junk)


def test_delta_with_used_at_refuses_with_that_gate(
    store: GateStore, tickets: Tickets, gate: GateConfig
) -> None:
    """Another gate's entry can arrive as a delta carrying ``used_at``/``used_gate``."""
    token = tickets.new(ticket_id="d")
    tickets.load_into(store)
    store.apply_delta(
        [
            TicketRecord(
                ticket_id="d",
                version=1,
                event_id="evt-1",
                zone="A",
                ticket_type="standard",
                used_at=1.7e9,
                used_gate="south",
            )
        ],
        cursor="9",
    )
    result = ScanPipeline(store, gate).scan(token)
    assert result.verdict == "already_used" and result.decision.details["used_gate"] == "south"
