"""Selection rules for seats picked by hand, read from the database inside the hold's transaction.

The adapter around :mod:`box_office.core.orphans`: it loads every seat of the rows a request
touches (with their live status) and lets the pure rule decide. Called by
:func:`box_office.sales.holds.create_hold` right after the seats were taken, in the
same transaction (so a refusal rolls the whole hold back, and a buyer who lost a race hears
"seat taken" rather than about orphans). The picked seats were free just before, so the rule
judges the row as it was before the pick. It is on when the setting ``no_orphan_seats`` is
``on`` (``BOX_OFFICE_NO_ORPHAN_SEATS``, on by default for ``box-office serve``).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session as Db

from box_office.core.orphans import OrphanRuleError, RowSeat, check_no_orphans
from box_office.core.seating import effective_status
from box_office.errors import Conflict
from box_office.store.models import SessionSeat


def check_orphan_rule(
    db: Db,
    session_id: int,
    labels: list[str],
    now: float,
    picked: Sequence[tuple[str, str, str | None]] | None = None,
) -> None:
    """Refuse (409 ``orphan_seat``) a pick that would strand a single free seat in a row.

    Rows where the pick includes box seats are left to the box rule: a box sells whole.
    ``picked`` is each picked seat's (section, row, box) when the caller already has them.
    """
    if picked is None:
        picked = [
            (r.section, r.row, r.box)
            for r in db.connection().execute(
                select(SessionSeat.section, SessionSeat.row, SessionSeat.box).where(
                    SessionSeat.session_id == session_id, SessionSeat.label.in_(labels)
                )
            )
        ]
    wanted = set(labels)
    row_keys = {(section, row) for section, row, box in picked if box is None}
    row_keys -= {(section, row) for section, row, box in picked if box is not None}
    if not row_keys:
        return
    rows: dict[tuple[str, str], list[RowSeat]] = {}
    for seat in db.connection().execute(
        select(
            SessionSeat.section,
            SessionSeat.row,
            SessionSeat.label,
            SessionSeat.position,
            SessionSeat.status,
            SessionSeat.hold_expires_at,
        ).where(
            SessionSeat.session_id == session_id,
            tuple_(SessionSeat.section, SessionSeat.row).in_(sorted(row_keys)),
            SessionSeat.status != "removed",
        )
    ):
        free = seat.label in wanted or effective_status(seat.status, seat.hold_expires_at, now) == "available"
        rows.setdefault((seat.section, seat.row), []).append(RowSeat(seat.label, seat.position, free))
    try:
        check_no_orphans(rows, labels)
    except OrphanRuleError as exc:
        raise Conflict(str(exc), "orphan_seat") from None
