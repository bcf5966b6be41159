"""The venue feed (DESIGN contract 5): ticket changes from the box office to sync servers, and
check-ins back.

The box office appends one :class:`FeedEntry` per ticket change in the same database
transaction as the change (a transactional outbox), numbered by a monotonic integer cursor.
A sync server pulls pages with ``GET /api/feed?event_id=E&after=CURSOR`` (bearer token of a
feed client) and stores the last cursor it applied; it never misses an entry because cursors
are handed out in commit order.

The ticket record in an entry is exactly :class:`wire.snapshot.TicketRecord` (the full new
state of the ticket), so a sync server turns feed entries into gate deltas without mapping.

Check-ins flow back as :class:`CheckIn` records (``POST /api/feed/checkins``); each has the
scan id made on the gate device, so posting the same batch twice changes nothing.
Only plain data and validation live here: no I/O.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from wire.snapshot import SnapshotError, TicketRecord, parse_ticket

KINDS = ("issued", "changed", "revoked", "identity_changed")
Kind = Literal["issued", "changed", "revoked", "identity_changed"]
DIRECTIONS = ("in", "out")
MAX_PAGE = 1000
"""Largest page a client may ask for; the box office caps ``limit`` at this."""
MAX_CHECKINS = 1000
"""Largest check-in batch the box office accepts in one request."""


class FeedError(ValueError):
    """A feed page or check-in that does not follow the contract, with the reason."""


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One ticket change.

    ``kind`` says why the ticket changed: ``issued`` (first version), ``changed`` (re-issued
    with a higher version; older versions are revoked), ``revoked`` (refund or cancellation),
    ``identity_changed`` (a real-name ticket got a new holder, hence new digests and version).
    ``ticket`` is always the complete new state, so applying entries in cursor order is enough.
    """

    cursor: int
    kind: Kind
    ticket: TicketRecord
    created_at: float

    def to_json(self) -> dict[str, Any]:
        record = self.ticket.to_json()
        record.pop("type", None)
        return {"cursor": self.cursor, "kind": self.kind, "ticket": record, "created_at": self.created_at}


@dataclass(frozen=True, slots=True)
class FeedPage:
    """A page of the feed. ``next_cursor`` is what to send as ``after`` next time."""

    entries: Sequence[FeedEntry]
    next_cursor: int
    has_more: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "entries": [entry.to_json() for entry in self.entries],
            "next_cursor": self.next_cursor,
            "has_more": self.has_more,
        }


@dataclass(frozen=True, slots=True)
class CheckIn:
    """A scan the venue admitted (or recorded as an exit), reported back to the box office.

    ``scan_id`` is the random id the gate device gave the scan: the idempotency key.
    ``scanned_at`` is the device's own clock (Unix seconds); ``conflict`` is true for an
    offline admission that the sync server later found to conflict (kept, never dropped).
    """

    scan_id: str
    ticket_id: str
    version: int
    gate: str
    direction: Literal["in", "out"]
    scanned_at: float
    device_id: str | None = None
    verdict: str = "ok"
    conflict: bool = False
    clears: str | None = None
    """The scan id of an admitted conflict reported earlier that is one no more: an exit between
    the two admissions arrived late, so the re-entry was legitimate. The box office clears that
    scan's conflict flag (and its ``:conflict`` record's). The check-in itself is the exit-backed
    admission again, under its own idempotent id (``<scan_id>:cleared``)."""

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {} if self.clears is None else {"clears": self.clears}
        return data | {
            "scan_id": self.scan_id,
            "ticket_id": self.ticket_id,
            "version": self.version,
            "gate": self.gate,
            "direction": self.direction,
            "scanned_at": self.scanned_at,
            "device_id": self.device_id,
            "verdict": self.verdict,
            "conflict": self.conflict,
        }


def _number(data: Mapping[str, Any], name: str) -> float:
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FeedError(f"{name!r} must be a number")
    return float(value)


def _short_text(data: Mapping[str, Any], name: str, *, required: bool = True, limit: int = 200) -> str | None:
    value = data.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value or len(value) > limit:
        raise FeedError(f"{name!r} must be non-empty text of at most {limit} characters")
    return value


def parse_entry(data: object) -> FeedEntry:
    """A feed entry from its JSON object; raises :class:`FeedError`."""
    if not isinstance(data, dict):
        raise FeedError("a feed entry must be an object")
    cursor = data.get("cursor")
    if isinstance(cursor, bool) or not isinstance(cursor, int) or cursor < 1:
        raise FeedError("'cursor' must be a positive integer")
    kind = data.get("kind")
    if kind not in KINDS:
        raise FeedError(f"unknown kind {kind!r} (expected one of {', '.join(KINDS)})")
    try:
        ticket = parse_ticket(data.get("ticket"))
    except SnapshotError as exc:
        raise FeedError(f"entry {cursor}: {exc}") from None
    return FeedEntry(cursor=cursor, kind=kind, ticket=ticket, created_at=_number(data, "created_at"))


def parse_page(data: object) -> FeedPage:
    """A feed page from the JSON body of ``GET /api/feed``; checks cursors only increase."""
    if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
        raise FeedError("a feed page must be an object with an 'entries' list")
    entries = [parse_entry(item) for item in data["entries"]]
    for before, after in itertools.pairwise(entries):
        if after.cursor <= before.cursor:
            raise FeedError("feed cursors must increase")
    next_cursor = data.get("next_cursor")
    if isinstance(next_cursor, bool) or not isinstance(next_cursor, int) or next_cursor < 0:
        raise FeedError("'next_cursor' must be a non-negative integer")
    has_more = data.get("has_more")
    if not isinstance(has_more, bool):
        raise FeedError("'has_more' must be true or false")
    return FeedPage(entries=entries, next_cursor=next_cursor, has_more=has_more)


def parse_checkin(data: object) -> CheckIn:
    """A check-in from its JSON object; raises :class:`FeedError`."""
    if not isinstance(data, dict):
        raise FeedError("a check-in must be an object")
    version = data.get("version", 1)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise FeedError("'version' must be a positive integer")
    direction = data.get("direction", "in")
    if direction not in DIRECTIONS:
        raise FeedError("'direction' must be 'in' or 'out'")
    conflict = data.get("conflict", False)
    if not isinstance(conflict, bool):
        raise FeedError("'conflict' must be true or false")
    return CheckIn(
        scan_id=str(_short_text(data, "scan_id", limit=100)),
        ticket_id=str(_short_text(data, "ticket_id", limit=100)),
        version=version,
        gate=str(_short_text(data, "gate", limit=100)),
        direction=direction,
        scanned_at=_number(data, "scanned_at"),
        device_id=_short_text(data, "device_id", required=False, limit=100),
        verdict=str(_short_text(data, "verdict", required=False, limit=40) or "ok"),
        conflict=conflict,
        clears=_short_text(data, "clears", required=False, limit=100),
    )
