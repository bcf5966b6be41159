"""Seat-map views, the top of the funnel: counted in memory per process, written per minute.

Why buffered: the seat map is the most-read page of an on-sale spike; one database write per
view would put a write on its hot path. Counts are added up in memory and written as one
upsert (INSERT ... ON CONFLICT, safe across processes) per (session, minute) by
:meth:`ViewCounter.flush` (the background loop, and every
analytics read, call it).
"""

from __future__ import annotations

import threading
from collections import Counter

from sqlalchemy import case
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session as Db

from box_office.console.tables import SeatmapView, WaitingRoomPeak
from box_office.context import Context


class ViewCounter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[int, int]] = Counter()

    def add(self, session_id: int, now: float) -> None:
        with self._lock:
            self._counts[(session_id, int(now // 60))] += 1

    def flush(self, ctx: Context) -> int:
        """Write what was counted since the last flush; returns how many views were written."""
        with self._lock:
            counts, self._counts = self._counts, Counter()
        if not counts:
            return 0

        insert = sqlite_insert if ctx.db.is_sqlite else pg_insert

        def work(db: Db) -> None:
            for (session_id, minute), views in sorted(counts.items()):
                statement = insert(SeatmapView).values(session_id=session_id, minute=minute, views=views)
                db.execute(
                    statement.on_conflict_do_update(
                        index_elements=["session_id", "minute"],
                        set_={"views": SeatmapView.views + statement.excluded.views},
                    )
                )

        try:
            ctx.db.write(work)
        except Exception:
            with self._lock:  # give them back: the next flush tries again
                self._counts.update(counts)
            raise
        return sum(counts.values())


class WaitingPeaks:
    """The longest waiting-room line seen per minute in this process, written as the greater of
    what the table has and what was seen (so several processes leave the longest single line)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._peaks: dict[int, int] = {}

    def note(self, now: float, length: int) -> None:
        minute = int(now // 60)
        with self._lock:
            if length > self._peaks.get(minute, -1):
                self._peaks[minute] = length

    def flush(self, ctx: Context) -> int:
        with self._lock:
            peaks, self._peaks = self._peaks, {}
        if not peaks:
            return 0
        insert = sqlite_insert if ctx.db.is_sqlite else pg_insert

        def work(db: Db) -> None:
            for minute, peak in sorted(peaks.items()):
                statement = insert(WaitingRoomPeak).values(minute=minute, peak=peak)
                greater = case(
                    (statement.excluded.peak > WaitingRoomPeak.peak, statement.excluded.peak),
                    else_=WaitingRoomPeak.peak,
                )
                db.execute(statement.on_conflict_do_update(index_elements=["minute"], set_={"peak": greater}))

        ctx.db.write(work)
        return len(peaks)
