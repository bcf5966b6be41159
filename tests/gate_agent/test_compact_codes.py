"""Compact live codes (``EN3:``) at the gate: verified against the ticket list's signed bytes
(``bound_payload``), through the real pipeline and a real store file.

Admitted now, ``stale_code`` after the window, ``invalid_signature`` for another phone's key or
a tampered list, refused ``revoked`` ("not in this gate's ticket list", ask for the full code)
when the gate has no signed bytes for that ticket version; the full ``EN2:`` code still enters.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import uuid
from pathlib import Path

import cbor2
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gate_agent.config import GateConfig
from gate_agent.pipeline import ScanPipeline
from gate_agent.store import GateStore
from tests.gate_agent.conftest import EVENT, HOLDER_ID, HOLDER_NAME, IDENTITY_KEY, Tickets
from ticket_format import TicketClaims, issue
from ticket_format.identity import HolderDigests, id_digest, name_digest, parse_id, seal_identity
from ticket_format.rotating import PERIOD, bind_device_key, bound_payload, compact_live_code, live_code
from ticket_format.token import signature_of
from wire.snapshot import SnapshotReader, TicketRecord, write_snapshot

NOW = 119_702_733 * PERIOD + 3.0


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def _bound(
    tickets: Tickets,
    device: Ed25519PrivateKey,
    *,
    version: int = 2,
    real_name: bool = False,
    listed: bool = True,
) -> str:
    public = device.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    claims = TicketClaims(
        ticket_id=str(uuid.uuid4()), event_id=EVENT, zone="A", seat="A-1-1", version=version
    )
    token = issue(bind_device_key(claims, public), tickets.key)
    sealed = None
    if real_name:
        holder = HolderDigests(
            id_digest(IDENTITY_KEY, parse_id("cn_ric", HOLDER_ID)), name_digest(IDENTITY_KEY, HOLDER_NAME)
        )
        sealed = seal_identity(signature_of(token), claims.ticket_id, holder)
    tickets.records.append(
        TicketRecord(
            ticket_id=claims.ticket_id, version=version, event_id=EVENT, zone="A", seat="A-1-1",
            real_name=real_name, identity_sealed=sealed,
            bound_payload=bound_payload(token) if listed else None,
        )
    )  # fmt: skip
    return token


def _pipe(store: GateStore, gate: GateConfig, clock: Clock) -> ScanPipeline:
    return ScanPipeline(store, dataclasses.replace(gate, reentry="any", repeat_window=0), clock=clock)


def test_a_compact_code_enters_and_its_screenshot_does_not(
    store: GateStore, tickets: Tickets, gate: GateConfig
) -> None:
    device = Ed25519PrivateKey.generate()
    token = _bound(tickets, device)
    tickets.load_into(store)
    clock = Clock()
    pipe = _pipe(store, gate, clock)
    shot = compact_live_code(token, device, clock.now)
    admitted = pipe.scan(shot)
    assert admitted.verdict == "ok" and admitted.decision.ticket is not None
    assert admitted.decision.ticket["seat"] == "A-1-1"  # the claims come from the verified list bytes
    clock.now += PERIOD + gate.code_skew + 1  # the screenshot, replayed after the window
    assert pipe.scan(shot).verdict == "stale_code"
    assert (
        pipe.scan(compact_live_code(token, Ed25519PrivateKey.generate(), clock.now)).verdict
        == "invalid_signature"
    )
    assert pipe.scan(compact_live_code(token, device, clock.now)).verdict == "ok"
    assert pipe.scan(live_code(token, device, clock.now)).verdict == "ok"  # the full code too
    assert pipe.scan(token).verdict == "stale_code"  # a picture of the static QR
    journal = store.pending_scans()
    assert [e.verdict for e in journal] == ["ok", "stale_code", "invalid_signature", "ok", "ok", "stale_code"]
    assert journal[0].ticket_id == tickets.records[0].ticket_id


def test_without_the_signed_bytes_the_gate_asks_for_the_full_code(
    store: GateStore, tickets: Tickets, gate: GateConfig
) -> None:
    device = Ed25519PrivateKey.generate()
    unlisted = _bound(tickets, device, listed=False)  # an old feed entry, before bound_payload
    newer = _bound(tickets, device, version=3)
    tickets.records[-1] = dataclasses.replace(
        tickets.records[-1], version=2, bound_payload=None
    )  # list behind
    unknown = _bound(tickets, device)
    del tickets.records[-1]  # bound after this gate's last snapshot
    tickets.load_into(store)
    clock = Clock()
    pipe = _pipe(store, gate, clock)
    for token in (unlisted, newer, unknown):
        outcome = pipe.scan(compact_live_code(token, device, clock.now))
        assert outcome.verdict == "revoked" and "full code" in outcome.decision.reason, outcome.decision
        assert outcome.decision.details == {"full_code": True}
        assert outcome.decision.ticket is None  # nothing verified: no ticket id journalled
    # the phone's "full code" carries its own claims and signatures: each enters
    for token in (unlisted, newer, unknown):
        assert pipe.scan(live_code(token, device, clock.now)).verdict == "ok"
    assert [e.ticket_id for e in store.pending_scans()][:3] == [None, None, None]


def test_a_replaced_refunded_or_blocked_ticket_is_refused_as_such(
    store: GateStore, tickets: Tickets, gate: GateConfig
) -> None:
    device = Ed25519PrivateKey.generate()
    old = _bound(tickets, device, version=2)
    tickets.records[-1] = dataclasses.replace(tickets.records[-1], version=3)  # re-issued since
    refunded = _bound(tickets, device)
    tickets.records[-1] = dataclasses.replace(tickets.records[-1], status="revoked", bound_payload=None)
    blocked = _bound(tickets, device)
    tickets.records[-1] = dataclasses.replace(tickets.records[-1], status="blocked")
    tickets.load_into(store)
    clock = Clock()
    pipe = _pipe(store, gate, clock)
    replaced = pipe.scan(compact_live_code(old, device, clock.now))
    assert replaced.verdict == "revoked" and "replaced by v3" in replaced.decision.reason
    assert (
        pipe.scan(compact_live_code(refunded, device, clock.now)).decision.reason == "refunded or cancelled"
    )
    assert pipe.scan(compact_live_code(blocked, device, clock.now)).verdict == "blocked"


def test_a_tampered_ticket_list_refuses_instead_of_admitting(
    store: GateStore, tickets: Tickets, gate: GateConfig
) -> None:
    """A sync server (or a file on the way) that edits the signed bytes cannot mint a ticket."""
    device, thief = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    token = _bound(tickets, device)
    record = tickets.records[-1]
    assert record.bound_payload is not None
    protected, payload = cbor2.loads(base64.urlsafe_b64decode(record.bound_payload + "=="))
    claims = cbor2.loads(payload)
    claims["dk"] = thief.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    forged = base64.urlsafe_b64encode(cbor2.dumps([protected, cbor2.dumps(claims)])).rstrip(b"=").decode()
    tickets.records[-1] = dataclasses.replace(record, bound_payload=forged)
    buffer = io.StringIO()
    write_snapshot(buffer, tickets.header(), tickets.records)
    reader = SnapshotReader(io.StringIO(buffer.getvalue()))
    store.apply_snapshot(reader.header, reader)
    clock = Clock()
    pipe = _pipe(store, gate, clock)
    # the thief signs with the key they put into the list, using the QR's ticket signature
    assert pipe.scan(compact_live_code(token, thief, clock.now)).verdict == "invalid_signature"
    assert pipe.scan(compact_live_code(token, device, clock.now)).verdict == "invalid_signature"
    assert pipe.scan(live_code(token, device, clock.now)).verdict == "ok"  # the full code decides alone


def test_a_real_name_compact_code_opens_its_seal_with_the_qrs_signature(
    store: GateStore, tickets: Tickets, gate: GateConfig
) -> None:
    device = Ed25519PrivateKey.generate()
    token = _bound(tickets, device, real_name=True)
    tickets.load_into(store)
    clock = Clock()
    pipe = _pipe(store, gate, clock)
    assert pipe.scan(compact_live_code(token, device, clock.now)).verdict == "identity_required"
    assert pipe.present_identity(id_type="cn_ric", id_number=HOLDER_ID, name=HOLDER_NAME).verdict == "ok"


def test_the_store_keeps_the_signed_bytes_through_deltas(store: GateStore, tickets: Tickets) -> None:
    device = Ed25519PrivateKey.generate()
    tickets.load_into(store)
    token = _bound(tickets, device)
    store.apply_delta([tickets.records[-1]], "2")
    record, _ = store.lookup(tickets.records[-1].ticket_id)
    assert record is not None and record.bound_payload == bound_payload(token)


def test_the_snapshot_line_carries_and_checks_bound_payload() -> None:
    from wire.snapshot import MAX_BOUND_PAYLOAD_TEXT, SnapshotError, parse_ticket, ticket_line

    line = {"ticket_id": "T-1", "version": 2, "event_id": EVENT, "bound_payload": "gkE-QQ_"}
    record = parse_ticket(line)
    assert record.bound_payload == "gkE-QQ_"
    assert '"bound_payload":"gkE-QQ_"' in ticket_line(record)
    assert parse_ticket({**line, "bound_payload": None}).bound_payload is None
    for bad in ("gk+/", "a b", 12, "A" * (MAX_BOUND_PAYLOAD_TEXT + 1)):
        try:
            parse_ticket({**line, "bound_payload": bad})
        except SnapshotError as exc:
            assert "bound_payload" in str(exc)
        else:
            raise AssertionError(f"accepted {bad!r}")


def test_a_schema_3_store_gains_the_column(tmp_path: Path, tickets: Tickets) -> None:
    path = tmp_path / "old.sqlite"
    with GateStore.open(path) as store:
        tickets.new()
        tickets.load_into(store)
        store.conn.execute("ALTER TABLE tickets DROP COLUMN bound_payload")
        store.conn.execute("PRAGMA user_version=3")
    with GateStore.open(path) as store:
        assert store.conn.execute("PRAGMA user_version").fetchone()[0] == 4
        record, _ = store.lookup(tickets.records[0].ticket_id)
        assert record is not None and record.bound_payload is None
        device = Ed25519PrivateKey.generate()
        token = _bound(tickets, device)
        store.apply_delta([tickets.records[-1]], "2")
        pipe = _pipe(store, GateConfig(gate_id="g", event_id=EVENT), Clock())
        assert pipe.scan(compact_live_code(token, device, NOW)).verdict == "ok"
