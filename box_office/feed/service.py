"""The venue feed (contract 5): a transactional outbox of ticket changes, and check-ins back.

:func:`append` is called inside the transaction that changes the ticket, so the entry exists
if and only if the change committed. Cursors come from one counter row updated as the last
write of the transaction: its row lock is held until commit, so cursors are handed out in
commit order and a reader that has seen cursor N will never later find an entry below N.
"""

from __future__ import annotations

from typing import Any, Literal, cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session as Db

from box_office.context import Context
from box_office.core import holders
from box_office.store.models import CheckIn as CheckInRow
from box_office.store.models import FeedCounter, Ticket
from box_office.store.models import FeedEntry as FeedRow
from ticket_format.rotating import bound_payload as signed_bytes_of
from wire.snapshot import TicketRecord
from wire.venue_feed import MAX_PAGE, CheckIn, FeedEntry, FeedPage

_RECORD_FIELDS = frozenset(TicketRecord.__slots__)


def sealed_identity(ticket: Ticket) -> str | None:
    """The holder's digests sealed under the ticket's signature (contract 3), for a valid signed
    real-name ticket; only the ticket's own QR code opens it at the gate."""
    if (
        ticket.status != "valid"
        or not ticket.token
        or (ticket.id_digest is None and ticket.name_digest is None)
    ):
        return None
    return holders.seal_for_gates(ticket.token, ticket.id, ticket.id_digest, ticket.name_digest)


def bound_payload(ticket: Ticket) -> str | None:
    """For a valid ticket bound to the buyer's phone: its signed bytes without the signature, so
    gates can verify the phone's compact ``EN3:`` codes (which carry only the signatures)."""
    if ticket.status != "valid" or not ticket.token or ticket.device_key is None:
        return None
    return signed_bytes_of(ticket.token)


def ticket_record(ticket: Ticket, real_name: bool) -> TicketRecord:
    """The gate's view of a ticket (no personal data: the holder's digests only sealed)."""
    status: Literal["valid", "revoked"] = "valid" if ticket.status == "valid" else "revoked"
    return TicketRecord(
        ticket_id=ticket.id,
        version=ticket.version,
        event_id=ticket.event_id,
        session_id=ticket.session_id,
        zone=ticket.zone,
        seat=ticket.seat_label,
        ticket_type=ticket.ticket_type,
        status=status,
        real_name=real_name,
        identity_sealed=sealed_identity(ticket) if real_name else None,
        used_at=ticket.checked_in_at,
        used_gate=ticket.checked_in_gate,
        bound_payload=bound_payload(ticket),
    )


def append(ctx: Context, db: Db, changes: list[tuple[str, Ticket, bool]]) -> None:
    """Write feed entries ``(kind, ticket, real_name)`` in the current transaction.

    Call this as the last write of the transaction (it takes the counter's row lock).
    """
    if not changes:
        return
    db.flush()
    last = (
        db.connection()
        .execute(
            update(FeedCounter)
            .where(FeedCounter.id == 1)
            .values(value=FeedCounter.value + len(changes))
            .returning(FeedCounter.value)
        )
        .scalar_one()
    )
    first = last - len(changes) + 1
    now = ctx.now()
    rows = []
    for offset, (kind, ticket, real_name) in enumerate(changes):
        record = ticket_record(ticket, real_name).to_json()
        record.pop("type", None)
        rows.append(
            {
                "cursor": first + offset,
                "event_id": ticket.event_id,
                "kind": kind,
                "ticket_id": ticket.id,
                "record": record,
                "created_at": now,
            }
        )
    # Written at once (one executemany), not at commit: the counter's lock is held meanwhile.
    db.connection().execute(insert(FeedRow), rows)


def page(ctx: Context, event_id: int, after: int, limit: int) -> FeedPage:
    """A page of the event's feed after ``after`` (contract 5)."""
    with ctx.db.read() as db:
        return read_page(db, event_id, after, limit)


def checkins(ctx: Context, event_id: int, items: list[CheckIn]) -> dict[str, list[str]]:
    """Record check-ins from the venue, in one transaction (see :func:`record_checkins`)."""
    return ctx.db.write(lambda db: record_checkins(ctx, db, event_id, items))


def read_page(db: Db, event_id: int, after: int, limit: int) -> FeedPage:
    limit = max(1, min(limit, MAX_PAGE))
    rows = db.scalars(
        select(FeedRow)
        .where(FeedRow.event_id == event_id, FeedRow.cursor > after)
        .order_by(FeedRow.cursor)
        .limit(limit + 1)
    ).all()
    has_more = len(rows) > limit
    rows = rows[:limit]
    entries = [
        FeedEntry(
            cursor=row.cursor,
            kind=row.kind,  # type: ignore[arg-type]
            # entries written before contract 3's seals also hold id_digest/name_digest: dropped
            ticket=TicketRecord(**{k: v for k, v in row.record.items() if k in _RECORD_FIELDS}),
            created_at=row.created_at,
        )
        for row in rows
    ]
    next_cursor = rows[-1].cursor if rows else after
    return FeedPage(entries=entries, next_cursor=next_cursor, has_more=has_more)


def record_checkins(ctx: Context, db: Db, event_id: int, checkins: list[CheckIn]) -> dict[str, list[str]]:
    """Store check-ins once each (by scan id) and show them on the ticket.

    Returns which scan ids were new, duplicates, or for unknown tickets (kept out, reported).
    """
    now = ctx.now()
    result: dict[str, list[str]] = {"accepted": [], "duplicates": [], "unknown_tickets": []}
    insert = sqlite_insert if ctx.db.is_sqlite else pg_insert
    for item in checkins:
        ticket = db.get(Ticket, item.ticket_id)
        if ticket is None or ticket.event_id != event_id:
            result["unknown_tickets"].append(item.scan_id)
            continue
        values: dict[str, Any] = {
            "scan_id": item.scan_id,
            "ticket_id": item.ticket_id,
            "version": item.version,
            "gate": item.gate,
            "direction": item.direction,
            "verdict": item.verdict,
            "conflict": item.conflict,
            "device_id": item.device_id,
            "scanned_at": item.scanned_at,
            "received_at": now,
        }
        table = cast(Table, CheckInRow.__table__)
        inserted = (
            db.connection()
            .execute(
                insert(table)
                .values(**values)
                .on_conflict_do_nothing(index_elements=["scan_id"])
                .returning(table.c.scan_id)
            )
            .first()
        )
        if inserted is None:
            result["duplicates"].append(item.scan_id)
            continue
        result["accepted"].append(item.scan_id)
        if item.clears is not None:  # a conflict reported earlier is a legitimate re-entry after all
            db.connection().execute(
                update(table)
                .where(
                    table.c.ticket_id == item.ticket_id,
                    table.c.scan_id.in_((item.clears, item.clears + ":conflict")),
                )
                .values(conflict=False)
            )
            continue
        if item.verdict not in ("ok", "exit_ok") and not item.conflict:
            continue
        if item.direction == "in":
            if ticket.checked_in_at is None or item.scanned_at < ticket.checked_in_at:
                ticket.checked_in_at = item.scanned_at
                ticket.checked_in_gate = item.gate
            ticket.inside = True
        else:
            ticket.inside = False
    return result


def ticket_checkins(db: Db, ticket_id: str) -> list[dict[str, Any]]:
    rows = db.scalars(
        select(CheckInRow).where(CheckInRow.ticket_id == ticket_id).order_by(CheckInRow.scanned_at)
    )
    return [
        {
            "scan_id": r.scan_id,
            "gate": r.gate,
            "direction": r.direction,
            "verdict": r.verdict,
            "conflict": r.conflict,
            "scanned_at": r.scanned_at,
        }
        for r in rows
    ]
