"""Nothing personal on a lost device (issue 16): what an attacker holding a gate's files learns.

The attacker of these tests has the whole state directory (database, WAL) and therefore every
key on the device, including the event's identity key; they do not have the tickets' QR codes.
"""

from __future__ import annotations

import io
import json
import sqlite3
import stat
import uuid
from collections.abc import Callable
from pathlib import Path

from gate_agent.config import GateConfig
from gate_agent.pipeline import ScanPipeline
from gate_agent.store import GateStore
from gate_agent.sync.enrol import write_config
from tests.gate_agent.conftest import EVENT, HOLDER_ID, IDENTITY_KEY, Tickets
from ticket_format import TicketClaims, issue
from ticket_format.identity import HolderDigests, id_digest, name_digest, parse_id, seal_identity
from ticket_format.token import signature_of
from wire.snapshot import SnapshotReader, TicketRecord, write_snapshot
from wire.sync_api import Enrolment

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = [chr(code) for code in range(0x4E00, 0x4E00 + 1500)]
"""A slice of the CJK block (the real attack took all 20,992 characters; 0.85 s)."""


def _holders() -> list[str]:
    return [SURNAMES[i % 20] + GIVEN[(i * 37) % len(GIVEN)] for i in range(25)]


def _enumerate_names(key: bytes, haystack: Callable[[str], bool]) -> set[str]:
    """The published attack: digest every surname x character, look for it in the gate's data."""
    found = set()
    for surname in SURNAMES:
        for given in GIVEN:
            if haystack(name_digest(key, surname + given)):
                found.add(surname + given)
    return found


def _state_bytes(path: Path) -> bytes:
    """Every byte of the store on disk: the database file and its WAL, as a thief copies them."""
    return b"".join(p.read_bytes() for p in sorted(path.parent.iterdir()) if p.is_file())


def test_a_stolen_gate_database_yields_no_holder_name(tmp_path: Path, tickets: Tickets) -> None:
    names = _holders()
    records, tokens = [], []
    for name in names:
        claims = TicketClaims(ticket_id=str(uuid.uuid4()), event_id=EVENT, zone="A")
        token = issue(claims, tickets.key)
        holder = HolderDigests(
            id_digest(IDENTITY_KEY, parse_id("cn_ric", HOLDER_ID)), name_digest(IDENTITY_KEY, name)
        )
        records.append(
            TicketRecord(
                ticket_id=claims.ticket_id, version=1, event_id=EVENT, zone="A", real_name=True,
                identity_sealed=seal_identity(signature_of(token), claims.ticket_id, holder),
            )
        )  # fmt: skip
        tokens.append(token)
    # The attack works: against the digests in clear (what the first release's snapshot
    # carried) it recovers every holder.
    clear = {name_digest(IDENTITY_KEY, name) for name in names}
    assert _enumerate_names(IDENTITY_KEY, clear.__contains__) == set(names)

    path = tmp_path / "state" / "gate.sqlite"
    buffer = io.StringIO()
    write_snapshot(buffer, tickets.header(), records)
    with GateStore.open(path) as store:
        reader = SnapshotReader(io.StringIO(buffer.getvalue()))
        store.apply_snapshot(reader.header, reader)
        key = store.identity_key()  # the thief has every key on the device
        # the gate still checks the holder when the ticket is shown
        pipe = ScanPipeline(store, GateConfig(gate_id="g", event_id=EVENT, device_id="d"))
        assert pipe.scan(tokens[3]).verdict == "identity_required"
        assert pipe.present_identity(name=names[3], id_type="cn_ric", id_number=HOLDER_ID).verdict == "ok"
    assert key == IDENTITY_KEY
    disk = _state_bytes(path)
    hay = disk.hex()

    def on_disk(digest: str) -> bool:
        return digest in hay or digest.encode() in disk

    assert _enumerate_names(key, on_disk) == set()
    assert not on_disk(id_digest(key, parse_id("cn_ric", HOLDER_ID)))
    assert not any(name.encode() in disk for name in names)


def test_a_typed_id_number_leaves_no_digits_in_the_journal_or_the_upload(
    tmp_path: Path, gate: GateConfig
) -> None:
    path = tmp_path / "gate.sqlite"
    with GateStore.open(path) as store:
        pipe = ScanPipeline(store, gate)
        assert pipe.scan(HOLDER_ID).verdict == "malformed"
        assert pipe.scan("EN1:" + HOLDER_ID).verdict == "malformed"
        typed, prefixed = reversed(store.scans())
        uploaded = [e.details for e in store.pending_scans()]
    assert uploaded == [typed.details, prefixed.details]  # the upload carries the same, nothing more
    sample = typed.details["sample"] if typed.details else {}
    assert set(sample) == {"length", "shape", "hash"}
    assert sample["length"] == 18 and sample["shape"] == "9{17}A" and len(sample["hash"]) == 16
    assert prefixed.details is not None and prefixed.details["sample"]["prefix"] == "EN1:"
    for details in (typed.details, prefixed.details):
        without_hash = {k: v for k, v in (details or {})["sample"].items() if k != "hash"}  # random hex
        shown = json.dumps(without_hash)
        assert not any(HOLDER_ID[i : i + 3] in shown for i in range(16)), shown
    assert HOLDER_ID.encode() not in _state_bytes(path)


def _first_release_store(path: Path, tickets: Tickets) -> str:
    """A store file as schema 2 left it: digests in clear, a typed ID number as a scan sample."""
    with GateStore.open(path) as store:
        tickets.load_into(store)
    conn = sqlite3.connect(path)
    conn.executescript(
        """DROP TABLE tickets;
           CREATE TABLE tickets (ticket_id TEXT PRIMARY KEY, version INTEGER, event_id TEXT,
             session_id TEXT, zone TEXT, seat TEXT, ticket_type TEXT, status TEXT, real_name INTEGER,
             id_digest TEXT, name_digest TEXT, used_at FLOAT, used_gate TEXT);
           PRAGMA user_version=2;"""
    )
    digest = id_digest(IDENTITY_KEY, parse_id("cn_ric", HOLDER_ID))
    conn.execute(
        "INSERT INTO tickets VALUES ('T-1', 1, ?, NULL, 'A', NULL, NULL, 'valid', 1, ?, ?, NULL, NULL)",
        (EVENT, digest, name_digest(IDENTITY_KEY, "张三")),
    )
    conn.execute(
        """INSERT INTO scans (scan_id, at, verdict, reason, admit, gate, device, direction, source,
                              details, acked)
           VALUES ('s-1', 1.0, 'malformed', 'x', 0, 'g', 'd', 'in', 'manual', ?, 1)""",
        (json.dumps({"text": HOLDER_ID}),),
    )
    conn.commit()
    conn.close()
    return digest


def test_the_migration_scrubs_digests_and_samples_from_an_old_store(tmp_path: Path, tickets: Tickets) -> None:
    path = tmp_path / "gate.sqlite"
    digest = _first_release_store(path, tickets)
    assert digest.encode() in _state_bytes(path) and HOLDER_ID.encode() in _state_bytes(path)
    with GateStore.open(path) as store:
        (scan,) = store.scans()
        record, _ = store.lookup("T-1")
        columns = [row[1] for row in store.conn.execute("PRAGMA table_info(tickets)")]
    sample = (scan.details or {}).get("sample", {})
    assert scan.details == {"sample": {"length": 18, "shape": "9{17}A", "hash": sample.get("hash")}}
    assert record is not None and record.real_name and record.identity_sealed is None
    assert "id_digest" not in columns and "name_digest" not in columns
    disk = _state_bytes(path)
    assert digest.encode() not in disk and HOLDER_ID.encode() not in disk


def test_state_files_are_owner_only(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o755)
    path = state / "gate.sqlite"
    path.touch(mode=0o644)
    path.chmod(0o644)
    with GateStore.open(path) as store:
        store.record_gate_config({"gate": "g"})
        files = [p for p in state.iterdir() if p.is_file()]
        assert {p.name for p in files} >= {"gate.sqlite", "gate.sqlite-wal"}
        assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files)
    assert stat.S_IMODE(state.stat().st_mode) == 0o700


def test_an_existing_credential_file_is_narrowed_to_the_owner(tmp_path: Path) -> None:
    (tmp_path / "sync-credential").write_text("old\n")
    (tmp_path / "sync-credential").chmod(0o644)
    enrolment = Enrolment.parse(
        {"device_id": "d", "credential": "s3cret", "event_id": EVENT, "gate_id": "g", "direction": "in"}
    )
    written = write_config(tmp_path / "gate.toml", enrolment, "https://sync", state_dir=tmp_path)
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert "s3cret" not in (tmp_path / "gate.toml").read_text()
