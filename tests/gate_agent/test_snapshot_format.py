"""wire.snapshot: streaming JSON Lines with a footer that catches truncation."""

from __future__ import annotations

import io

import pytest

from tests.gate_agent.conftest import Tickets
from wire.snapshot import SnapshotError, SnapshotReader, TicketRecord, parse_ticket


def test_round_trip_streams_every_ticket(tickets: Tickets) -> None:
    for _ in range(5):
        tickets.new()
    tickets.new(real_name=True, seat="R1-S2")
    reader = SnapshotReader(io.StringIO(tickets.snapshot_text(cursor="42", reentry="after_exit")))
    assert reader.header.cursor == "42"
    assert reader.header.rules == {"reentry": "after_exit"}
    records = list(reader)
    assert records == tickets.records
    assert reader.footer is not None and reader.footer.count == 6


@pytest.mark.parametrize("cut", [1, 2, 3])
def test_truncated_snapshot_is_refused(tickets: Tickets, cut: int) -> None:
    for _ in range(3):
        tickets.new()
    lines = tickets.snapshot_text().splitlines(keepends=True)
    reader = SnapshotReader(io.StringIO("".join(lines[:-cut])))
    with pytest.raises(SnapshotError, match="truncated"):
        list(reader)


def test_miscounted_footer_and_bad_lines(tickets: Tickets) -> None:
    tickets.new()
    lines = tickets.snapshot_text().splitlines(keepends=True)
    doubled = [lines[0], lines[1], lines[1], lines[2]]
    with pytest.raises(SnapshotError, match="footer says 1"):
        list(SnapshotReader(io.StringIO("".join(doubled))))
    with pytest.raises(SnapshotError, match="line 2: not JSON"):
        list(SnapshotReader(io.StringIO(lines[0] + "{oops\n" + lines[2])))
    with pytest.raises(SnapshotError, match="unknown status"):
        parse_ticket({"ticket_id": "t", "event_id": 1, "status": "lost"})
    with pytest.raises(SnapshotError, match="format"):
        SnapshotReader(io.StringIO('{"type":"header","format":"other/9"}\n'))
    with pytest.raises(SnapshotError, match="empty"):
        SnapshotReader(io.StringIO(""))


def test_ticket_line_omits_empty_fields() -> None:
    record = TicketRecord(ticket_id="t1", version=2, event_id=7, status="revoked")
    assert record.to_json() == {
        "type": "ticket",
        "ticket_id": "t1",
        "version": 2,
        "event_id": 7,
        "status": "revoked",
    }
    assert parse_ticket(record.to_json()) == record
