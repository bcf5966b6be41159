"""The local store: atomic snapshots, deltas, the journal and its acknowledgement."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from gate_agent.config import GateConfig
from gate_agent.pipeline import ScanPipeline
from gate_agent.store import SCHEMA_VERSION, GateStore
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


def test_quarantined_scans_leave_the_upload_queue_but_never_the_journal(
    tmp_path: Path, tickets: Tickets, gate: GateConfig
) -> None:
    path = tmp_path / "gate.sqlite"
    with GateStore.open(path) as store:
        pipe = ScanPipeline(store, gate, monotonic=iter(range(0, 10**6, 100)).__next__)
        tickets.load_into(store)
        ids = [pipe.scan(f"garbage {i}").scan_id for i in range(4)]
        assert store.quarantine(ids[1], "400: 'gate' must be non-empty text of at most 200 characters")
        assert not store.quarantine(ids[1], "again")  # already parked
        assert not store.quarantine("unknown", "no such scan")
        assert [p.scan_id for p in store.pending_scans()] == [ids[0], ids[2], ids[3]]
        assert store.backlog() == 3 and store.quarantined_count() == 1
        store.mark_acknowledged([ids[0], ids[2], ids[3]])
        assert not store.quarantine(ids[0], "acknowledged scans are the server's")
        assert store.prune_acknowledged(older_than=1e12) == 3  # the quarantined one is kept

    with GateStore.open(path) as store:  # durable across a restart
        (parked,) = store.quarantined()
        assert parked.entry.scan_id == ids[1] and not parked.entry.acked
        assert parked.reason.startswith("400: 'gate'") and parked.quarantined_at > 0
        assert parked.to_json()["quarantine_reason"] == parked.reason
        assert store.pending_scans() == [] and store.backlog() == 0
        assert store.release_quarantined([ids[1]]) == 1
        assert [p.scan_id for p in store.pending_scans()] == [ids[1]]
        assert store.quarantined_count() == 0


def test_a_store_of_the_first_schema_gains_the_quarantine_columns(
    tmp_path: Path, tickets: Tickets, gate: GateConfig
) -> None:
    path = tmp_path / "gate.sqlite"
    with GateStore.open(path) as store:
        tickets.load_into(store)
        scan_id = ScanPipeline(store, gate).scan("garbage").scan_id
        # turn the file back into what the first release wrote
        store.conn.execute("ALTER TABLE scans DROP COLUMN quarantined_at")
        store.conn.execute("ALTER TABLE scans DROP COLUMN quarantine_reason")
        store.conn.execute("PRAGMA user_version=1")
    with GateStore.open(path) as store:
        assert store.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert [p.scan_id for p in store.pending_scans()] == [scan_id]
        assert store.quarantine(scan_id, "refused") and store.backlog() == 0
