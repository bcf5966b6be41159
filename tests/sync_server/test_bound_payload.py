"""Compact live codes through the venue: a bound ticket's signed bytes (``bound_payload``) go
from the sync server's store to a gate by snapshot and by pushed delta, and the gate decides
the phone's ``EN3:`` code offline; bytes altered at the server refuse the code, never admit.
Runs on SQLite and PostgreSQL (the ``server`` fixture), plus migration 0005."""

from __future__ import annotations

import base64
import time
import uuid
from pathlib import Path

import cbor2
import pytest
import sqlalchemy as sa
from alembic import command
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync_server.db import alembic_config
from tests.sync_server.conftest import EVENT, Server, Tickets, drop_postgres, fresh_postgres, wait_for
from ticket_format import TicketClaims, issue
from ticket_format.rotating import bind_device_key, bound_payload, compact_live_code
from wire.snapshot import TicketRecord


def _bound(tickets: Tickets, device: Ed25519PrivateKey) -> tuple[str, TicketRecord]:
    now = int(time.time())
    public = device.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    claims = TicketClaims(
        str(uuid.uuid4()),
        EVENT,
        zone="A",
        seat="A-2-9",
        valid_from=now - 3600,
        valid_until=now + 3600,
        version=2,
    )
    token = issue(bind_device_key(claims, public), tickets.key)
    record = TicketRecord(
        ticket_id=claims.ticket_id, version=2, event_id=EVENT, zone="A", seat="A-2-9",
        bound_payload=bound_payload(token),
    )  # fmt: skip
    return token, record


async def test_the_signed_bytes_reach_the_gate_by_snapshot_and_by_delta(
    server: Server, tickets: Tickets, make_gate: object
) -> None:
    device = Ed25519PrivateKey.generate()
    first, first_record = _bound(tickets, device)
    server.store.upsert_tickets([first_record])
    gate = make_gate("north")  # type: ignore[operator]
    gate.start()
    try:
        await wait_for(lambda: gate.store.snapshot_info().tickets == 1)
        assert gate.scan(compact_live_code(first, device, time.time())).decision.verdict.value == "ok"

        # bound after the snapshot: refused "not in this gate's list" until the delta arrives
        later, later_record = _bound(tickets, device)
        assert gate.scan(compact_live_code(later, device, time.time())).decision.details == {
            "full_code": True
        }
        server.store.upsert_tickets([later_record])
        await wait_for(lambda: gate.store.lookup(later_record.ticket_id)[0] is not None)
        assert gate.scan(compact_live_code(later, device, time.time())).decision.verdict.value == "ok"

        # the server's copy altered (another phone key slipped in): the gate refuses the codes
        thief = Ed25519PrivateKey.generate()
        assert later_record.bound_payload is not None
        protected, payload = cbor2.loads(base64.urlsafe_b64decode(later_record.bound_payload + "=="))
        claims = cbor2.loads(payload)
        claims["dk"] = thief.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        claims[4] = "VIP"
        forged = base64.urlsafe_b64encode(cbor2.dumps([protected, cbor2.dumps(claims)])).rstrip(b"=").decode()
        server.store.upsert_tickets([TicketRecord(**{**_fields(later_record), "bound_payload": forged})])
        await wait_for(lambda: gate.store.lookup(later_record.ticket_id)[0].bound_payload == forged)  # type: ignore[union-attr]
        refused = gate.scan(compact_live_code(later, thief, time.time()))
        assert refused.decision.verdict.value == "invalid_signature"
    finally:
        await gate.stop()
    snapshot = list(server.store.iter_tickets(EVENT))
    assert {r.ticket_id: r.bound_payload for r in snapshot}[
        first_record.ticket_id
    ] == first_record.bound_payload


def _fields(record: TicketRecord) -> dict[str, object]:
    return {name: getattr(record, name) for name in record.__slots__}


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_0005_adds_the_column_and_keeps_the_tickets(backend: str, tmp_path: Path) -> None:
    url = fresh_postgres() if backend == "postgres" else f"sqlite:///{tmp_path / 'sync.sqlite'}"
    try:
        config = alembic_config(url)
        command.upgrade(config, "0004")
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO tickets (ticket_id, event_id, version, status, real_name, seq)"
                    " VALUES ('T-1', 'E', 1, 'valid', false, 1)"
                )
            )
        command.upgrade(config, "0005")
        with engine.begin() as conn:
            row = conn.execute(sa.text("SELECT ticket_id, bound_payload FROM tickets")).one()
        assert tuple(row) == ("T-1", None)
        command.downgrade(config, "0004")
        with engine.begin() as conn:
            columns = {c["name"] for c in sa.inspect(conn).get_columns("tickets")}
        engine.dispose()
        assert "bound_payload" not in columns
    finally:
        if backend == "postgres":
            drop_postgres(url)


def test_importing_a_token_file_fills_the_signed_bytes_of_bound_tokens(
    tickets: Tickets, tmp_path: Path
) -> None:
    from sync_server.cli import _token_records
    from ticket_format import Keyring

    device = Ed25519PrivateKey.generate()
    bound, record = _bound(tickets, device)
    printed = issue(TicketClaims(str(uuid.uuid4()), EVENT, zone="A"), tickets.key)
    path = tmp_path / "tokens.txt"
    path.write_text(f"{bound}\n{printed}\n", encoding="utf-8")
    records = list(_token_records(path, Keyring([tickets.key.trusted()])))
    assert [r.bound_payload for r in records] == [record.bound_payload, None]
