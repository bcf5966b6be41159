"""Exchange, transfer and postponement reach a real gate within a second (contract 5): the box office, the
sync server and a gate agent run as real processes on loopback; the gate reads a serial
scanner (a pty). After an exchange and after a transfer the old QR is refused (``revoked``:
replaced by a higher version) one second later; the exchanged ticket's new QR is admitted."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import httpx
import pytest

from encore.demo.concert import add_session, buy_tickets, create_concert
from encore.demo.mailbox import Mailbox
from tests.e2e.stack import Venue, free_port, wait_for
from tests.e2e.test_concert import Scanner, last_verdict

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def scan(gate: object, scanner: Scanner, ticket_id: str, token: str) -> str:
    before = len(gate.verdicts_for(ticket_id))  # type: ignore[attr-defined]
    scanner.scan(token)
    return last_verdict(gate, ticket_id, before)  # type: ignore[arg-type]


def test_exchange_and_transfer_revoke_the_old_qr_at_the_gate_within_a_second(tmp_path: Path) -> None:
    mailbox = Mailbox(tmp_path / "mail", free_port())
    mailbox.start()
    venue = Venue(tmp_path)
    scanner = Scanner()
    try:
        venue.start_box_office(mailbox.port)
        concert = create_concert(venue.box_office)
        session_id = add_session(concert, "Tonight", real_name=False)
        exchanged, given = buy_tickets(concert, ["C-10-1", "C-10-2"], None, session_id=session_id)
        venue.start_sync_server(concert.feed_token)
        wait_for(lambda: venue.stats().get("sold") == 2, 60, "the sync server to hold both tickets")
        serial = "\n".join(
            [
                "[[inputs]]",
                'name = "scanner"',
                'profile = "datalogic-magellan-serial"',
                f'device = "{scanner.path}"',
                "",
            ]
        )
        gate = venue.enrol_gate("A", concert.event_id, serial)
        venue.start_gate(gate)
        wait_for(lambda: gate.status().get("online"), 60, "the gate online")

        buyer = httpx.Client(
            base_url=venue.box_office,
            headers={"Authorization": f"Bearer {exchanged.buyer_token}"},
            timeout=30,
        )
        moved = buyer.post(f"/api/tickets/{exchanged.ticket_id}/exchange", json={"seat": "C-10-5"})
        assert moved.status_code == 200, moved.text
        time.sleep(1.0)  # the contract: refused within one second
        assert scan(gate, scanner, exchanged.ticket_id, exchanged.token) == "revoked"
        new_token = buyer.get(f"/api/tickets/{exchanged.ticket_id}").json()["token"]
        assert scan(gate, scanner, exchanged.ticket_id, new_token) == "ok"

        email = f"friend-{uuid.uuid4().hex[:6]}@example.test"
        made = httpx.post(f"{venue.box_office}/api/accounts", json={"email": email}, timeout=30)
        friend = httpx.Client(
            base_url=venue.box_office, headers={"Authorization": f"Bearer {made.json()['token']}"}, timeout=30
        )
        offer = buyer.post(f"/api/tickets/{given.ticket_id}/transfers", json={"to_email": email})
        assert offer.status_code == 201, offer.text
        assert friend.post(f"/api/transfers/{offer.json()['id']}/accept", json={}).status_code == 200
        time.sleep(1.0)
        assert scan(gate, scanner, given.ticket_id, given.token) == "revoked"

        # postponed: every ticket re-issued for the new date; the gate refuses the previous QR
        organiser = httpx.Client(
            base_url=venue.box_office,
            headers={"Authorization": f"Bearer {concert.organiser_token}"},
            timeout=30,
        )
        start = time.time() + 7200
        moved_on = organiser.post(
            f"/api/sessions/{session_id}/postpone", json={"starts_at": start, "ends_at": start + 7200}
        )
        assert moved_on.status_code == 202, moved_on.text
        job = moved_on.json()["id"]
        wait_for(
            lambda: organiser.get(f"/api/bulk-jobs/{job}").json()["status"] == "done", 60, "the postponement"
        )
        time.sleep(1.0)
        assert scan(gate, scanner, exchanged.ticket_id, new_token) == "revoked"
    finally:
        venue.stop()
        mailbox.stop()
        scanner.close()
