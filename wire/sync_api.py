"""Gate agent <-> sync server (DESIGN contract 4): the HTTP and WebSocket messages.

Plain data and validation only, no I/O. Both sides import this module, so a field renamed
here is renamed for both.

Endpoints (all JSON unless noted; every request after enrolment carries
``Authorization: Bearer <credential>``):

- ``POST /api/enrol`` :class:`EnrolRequest` -> :class:`Enrolment` (the device's own credential
  and configuration; the code works once and expires).
- ``GET /api/snapshot[?after=TICKET_ID]`` -> ``wire.snapshot`` JSON Lines, streamed. ``after``
  resumes an interrupted download: the tickets after that id (ids ascend), with a fresh header.
- ``GET /api/deltas?after=CURSOR[&limit=N]`` -> :class:`DeltaPage` (full ticket states changed
  after the cursor, oldest first).
- ``POST /api/scans`` :class:`ScanBatch` -> :class:`ScanAck` (idempotent by ``scan_id``). With
  ``partial: true`` the valid scans are stored and the invalid ones named in ``rejected``
  (200) instead of the whole batch being refused (400).
- ``GET /api/push`` WebSocket: the server sends :class:`DeltaPage` messages (``type: delta``)
  as tickets change (revocations, other gates' entries); the device may send
  :class:`StatusMessage`. A device that does not read its messages fast enough is dropped
  (close code 4008); it reconnects and catches up from its cursor with ``/api/deltas``.

Scope (enforced by the server): a device reads and writes only its own event (and that event's
session), as the gate and device id it was enrolled as, in its direction and zones. A scan that
names another gate or device, another direction, or admits (or lets out) a ticket that is not
of its event, session or zones is refused: 403 ``out_of_scope`` for the whole batch, or, in a
``partial`` batch, listed in ``rejected`` with ``code: out_of_scope`` while the rest are kept.

Bounds: every text field has a length limit, integers fit the server's columns (32-bit), cursors
are at most 20 digits, ``details`` is a small flat-ish object (depth 4, 4 KiB), text must be
valid Unicode (no NUL, no lone surrogates). A field out of bounds is a 400 naming the field (or,
in a ``partial`` batch, a ``rejected`` entry with ``code: invalid``).

Time: a scan's own time (``at``) is the gate's clock. The server keeps scans whose time lies
outside its window (by default 24 h back, 5 min ahead) but flags them and never lets them take
another scan's place as the entry. A batch may carry ``sent_at`` (the device clock when it
sent the batch) so the server can show the device's clock offset to organisers.

Personal text: the server never stores raw scanned text of scans that are not tickets. It drops
``details.text`` and, for a scan without a ``ticket_id``, every text value of ``details``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from wire.snapshot import SnapshotError, TicketRecord, parse_ticket

MAX_BATCH = 1000
"""Most scans in one upload; a bigger batch is refused with 413."""
MAX_BODY = 2 * 1024 * 1024
"""Largest request body the server reads (bytes)."""
MAX_DELTA_PAGE = 5000
MAX_INT32 = 2**31 - 1
"""Largest integer the server's columns take (``ticket_version``, ``backlog``)."""
MAX_CURSOR_DIGITS = 20
"""A cursor is the decimal text of a non-negative 64-bit counter."""
MAX_CURSOR = 2**63 - 1
MAX_REASON = 500
MAX_SOURCE = 100
MAX_DETAILS_BYTES = 4096
MAX_DETAILS_DEPTH = 4
DIRECTIONS = ("in", "out")
VERDICTS = (
    "ok",
    "exit_ok",
    "already_used",
    "revoked",
    "invalid_signature",
    "unknown_key",
    "malformed",
    "wrong_event",
    "not_yet_valid",
    "expired",
    "wrong_gate",
    "identity_required",
    "identity_mismatch",
    "blocked",
)


class WireError(ValueError):
    """A message that breaks the contract; the text says which field and why (sent back as 400)."""

    code = "invalid"


def _obj(data: object, what: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise WireError(f"{what} must be a JSON object")
    return data


def _check_text(value: str, name: str) -> str:
    """Text the databases can store: no NUL character, no lone surrogate (invalid UTF-8)."""
    if "\x00" in value:
        raise WireError(f"{name!r} must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise WireError(f"{name!r} must be valid Unicode text (no lone surrogates)") from None
    return value


def _text(data: Mapping[str, Any], name: str, *, required: bool = True, limit: int = 200) -> str | None:
    value = data.get(name)
    if value is None:
        if required:
            raise WireError(f"missing {name!r}")
        return None
    if not isinstance(value, str) or not value or len(value) > limit:
        raise WireError(f"{name!r} must be non-empty text of at most {limit} characters")
    return _check_text(value, name)


def _free_text(data: Mapping[str, Any], name: str, limit: int) -> str:
    """Optional text that may be empty (``reason``, ``source``), at most ``limit`` characters."""
    value = data.get(name) or ""
    if not isinstance(value, str) or len(value) > limit:
        raise WireError(f"{name!r} must be text of at most {limit} characters")
    return _check_text(value, name)


def _number(data: Mapping[str, Any], name: str) -> float:
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise WireError(f"{name!r} must be a number")
    return float(value)


def _integer(data: Mapping[str, Any], name: str, *, limit: int = MAX_INT32) -> int | None:
    """An optional integer from 0 to ``limit`` (the server's column holds no more)."""
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= limit:
        raise WireError(f"{name!r} must be an integer from 0 to {limit}")
    return value


def parse_cursor(value: object, name: str = "cursor") -> int | None:
    """A cursor as sent (text of digits, or an integer): at most 20 digits, at most 2**63 - 1."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise WireError(f"{name!r} must be a cursor (digits)")
    text = str(value)
    if not text.isascii() or not text.isdigit() or len(text) > MAX_CURSOR_DIGITS or int(text) > MAX_CURSOR:
        raise WireError(f"{name!r} must be a cursor of at most {MAX_CURSOR_DIGITS} digits")
    return int(text)


def _details(value: object) -> dict[str, Any]:
    """``details``: a small JSON object of short text, numbers and booleans (depth, size bounded)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise WireError("'details' must be an object")

    def walk(item: object, depth: int) -> None:
        if depth > MAX_DETAILS_DEPTH:
            raise WireError(f"'details' must be nested at most {MAX_DETAILS_DEPTH} deep")
        if isinstance(item, dict):
            for key, inner in item.items():
                _check_text(str(key), "details")
                walk(inner, depth + 1)
        elif isinstance(item, list):
            for inner in item:
                walk(inner, depth + 1)
        elif isinstance(item, str):
            _check_text(item, "details")
        elif isinstance(item, float) and not math.isfinite(item):
            raise WireError("'details' must hold finite numbers")

    walk(value, 1)
    if len(json.dumps(value, ensure_ascii=False)) > MAX_DETAILS_BYTES:
        raise WireError(f"'details' must be at most {MAX_DETAILS_BYTES} characters of JSON")
    return value


@dataclass(frozen=True, slots=True)
class EnrolRequest:
    code: str
    device_name: str | None = None
    software_version: str | None = None

    @classmethod
    def parse(cls, data: object) -> EnrolRequest:
        obj = _obj(data, "enrolment request")
        code = _text(obj, "code", limit=100)
        assert code is not None
        return cls(
            code, _text(obj, "device_name", required=False), _text(obj, "software_version", required=False)
        )


@dataclass(frozen=True, slots=True)
class Enrolment:
    """What a device gets once: its credential (shown only here) and its gate configuration."""

    device_id: str
    credential: str
    event_id: str
    gate_id: str
    direction: str
    allowed_zones: tuple[str, ...] = ()
    session_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["allowed_zones"] = list(self.allowed_zones)
        return data

    @classmethod
    def parse(cls, data: object) -> Enrolment:
        obj = _obj(data, "enrolment")
        zones = obj.get("allowed_zones") or []
        if not isinstance(zones, list) or not all(isinstance(z, str) for z in zones):
            raise WireError("'allowed_zones' must be a list of text")
        direction = obj.get("direction", "in")
        if direction not in DIRECTIONS:
            raise WireError("'direction' must be 'in' or 'out'")
        return cls(
            device_id=str(_text(obj, "device_id")),
            credential=str(_text(obj, "credential", limit=300)),
            event_id=str(_text(obj, "event_id")),
            gate_id=str(_text(obj, "gate_id")),
            direction=direction,
            allowed_zones=tuple(zones),
            session_id=_text(obj, "session_id", required=False),
        )


@dataclass(frozen=True, slots=True)
class Scan:
    """One scan from a device journal (``gate_agent.store.JournalEntry.to_json()``)."""

    scan_id: str
    at: float
    verdict: str
    gate: str
    device: str
    direction: str = "in"
    admit: bool | None = None
    reason: str = ""
    source: str = ""
    ticket_id: str | None = None
    ticket_version: int | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["details"] = dict(self.details)
        return data

    @classmethod
    def parse(cls, data: object) -> Scan:
        obj = _obj(data, "scan")
        verdict = obj.get("verdict")
        if verdict not in VERDICTS:
            raise WireError(f"unknown verdict {verdict!r}")
        direction = obj.get("direction", "in")
        if direction not in DIRECTIONS:
            raise WireError("'direction' must be 'in' or 'out'")
        admit = obj.get("admit")
        if admit is not None and not isinstance(admit, bool):
            raise WireError("'admit' must be true, false or null")
        return cls(
            scan_id=str(_text(obj, "scan_id", limit=64)),
            at=_number(obj, "at"),
            verdict=verdict,
            gate=str(_text(obj, "gate")),
            device=str(_text(obj, "device")),
            direction=direction,
            admit=admit,
            reason=_free_text(obj, "reason", MAX_REASON),
            source=_free_text(obj, "source", MAX_SOURCE),
            ticket_id=_text(obj, "ticket_id", required=False),
            ticket_version=_integer(obj, "ticket_version"),
            details=_details(obj.get("details")),
        )


@dataclass(frozen=True, slots=True)
class Rejection:
    """A scan of a batch the server refused for good (it breaks this contract), with the reason.

    ``index`` is its position in the batch; ``scan_id`` is given when it could be read.
    ``code`` (added with the scope rules; older clients ignore it): ``invalid`` for a scan that
    breaks the bounds of this contract, ``out_of_scope`` for one the device may not write.
    """

    index: int
    scan_id: str | None
    error: str
    code: str = "invalid"

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "scan_id": self.scan_id, "error": self.error, "code": self.code}

    @classmethod
    def parse(cls, data: object) -> Rejection:
        obj = _obj(data, "rejection")
        index = obj.get("index")
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise WireError("'index' must be a non-negative integer")
        scan_id = obj.get("scan_id")
        if scan_id is not None and not isinstance(scan_id, str):
            raise WireError("'scan_id' must be text or null")
        error = obj.get("error")
        code = obj.get("code")
        return cls(index, scan_id, str(error) if error else "rejected", str(code) if code else "invalid")


@dataclass(frozen=True, slots=True)
class ScanBatch:
    """An upload: scans oldest first, plus the device's state for ``sync-server devices``.

    ``partial`` (added later, optional): the device asks the server to store the valid scans of
    the batch and name the invalid ones in :attr:`ScanAck.rejected`, instead of refusing the
    whole batch with 400. A server without it ignores the field and refuses the whole batch;
    a device without it never sends it and gets the 400 as before. When parsing a partial
    batch the invalid scans land in :attr:`rejected` rather than raising.

    ``sent_at`` (optional): the device's clock when it sent the batch, so the server can tell
    organisers how far the device's clock is off.
    """

    scans: tuple[Scan, ...]
    cursor: str | None = None
    backlog: int | None = None
    software_version: str | None = None
    partial: bool = False
    rejected: tuple[Rejection, ...] = ()
    sent_at: float | None = None
    positions: tuple[int, ...] = ()
    """Where each of :attr:`scans` stood in the batch as sent (a partial batch drops the invalid
    ones); not sent on the wire. Empty means in order."""

    def position(self, index: int) -> int:
        return self.positions[index] if self.positions else index

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "scans": [s.to_json() for s in self.scans],
            "cursor": self.cursor,
            "backlog": self.backlog,
            "software_version": self.software_version,
        }
        if self.partial:
            data["partial"] = True
        if self.sent_at is not None:
            data["sent_at"] = self.sent_at
        return data

    @classmethod
    def parse(cls, data: object) -> ScanBatch:
        obj = _obj(data, "scan batch")
        scans = obj.get("scans")
        if not isinstance(scans, list):
            raise WireError("'scans' must be a list")
        if len(scans) > MAX_BATCH:
            raise BatchTooLarge(f"at most {MAX_BATCH} scans per batch, got {len(scans)}")
        partial = obj.get("partial", False)
        if not isinstance(partial, bool):
            raise WireError("'partial' must be true or false")
        parsed = []
        positions = []
        rejected = []
        for index, scan in enumerate(scans):
            try:
                parsed.append(Scan.parse(scan))
                positions.append(index)
            except WireError as exc:
                if not partial:
                    raise WireError(f"scans[{index}]: {exc}") from None
                rejected.append(Rejection(index, _scan_id_of(scan), f"scans[{index}]: {exc}"))
        cursor = parse_cursor(obj.get("cursor"))
        return cls(
            tuple(parsed),
            None if cursor is None else str(cursor),
            _integer(obj, "backlog"),
            _text(obj, "software_version", required=False),
            partial,
            tuple(rejected),
            None if obj.get("sent_at") is None else _number(obj, "sent_at"),
            tuple(positions),
        )


def _scan_id_of(scan: object) -> str | None:
    """The id of a scan that failed validation, if it has a readable one (to name it back)."""
    value = scan.get("scan_id") if isinstance(scan, Mapping) else None
    if not isinstance(value, str) or not 0 < len(value) <= 200:
        return None
    try:
        return _check_text(value, "scan_id")
    except WireError:
        return None


class BatchTooLarge(WireError):
    """A batch over :data:`MAX_BATCH` (answered 413)."""

    code = "too_large"


@dataclass(frozen=True, slots=True)
class StatusMessage:
    """What a device tells the server on its push channel: ``{"type": "status", cursor, backlog}``."""

    cursor: str | None
    backlog: int | None

    def to_json(self) -> dict[str, Any]:
        return {"type": "status", "cursor": self.cursor, "backlog": self.backlog}

    @classmethod
    def parse(cls, data: object) -> StatusMessage:
        obj = _obj(data, "status message")
        cursor = parse_cursor(obj.get("cursor"))
        return cls(None if cursor is None else str(cursor), _integer(obj, "backlog"))


@dataclass(frozen=True, slots=True)
class ScanAck:
    """The scan ids the server now holds durably (new and already known alike).

    ``rejected`` (only ever non-empty for a ``partial`` batch): the scans refused for good;
    the device must not send them again as they are (it parks them, see ``gate_agent``).
    """

    acknowledged: tuple[str, ...]
    duplicates: int = 0
    rejected: tuple[Rejection, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "acknowledged": list(self.acknowledged),
            "duplicates": self.duplicates,
            "rejected": [r.to_json() for r in self.rejected],
        }

    @classmethod
    def parse(cls, data: object) -> ScanAck:
        obj = _obj(data, "scan acknowledgement")
        ids = obj.get("acknowledged")
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise WireError("'acknowledged' must be a list of scan ids")
        rejected = obj.get("rejected") or []
        if not isinstance(rejected, list):
            raise WireError("'rejected' must be a list")
        return cls(tuple(ids), int(obj.get("duplicates") or 0), tuple(Rejection.parse(r) for r in rejected))


@dataclass(frozen=True, slots=True)
class DeltaPage:
    """Ticket states changed after ``after`` up to ``cursor``; ``more`` when another page waits.

    As a push message (``type: delta``) a gate applies it only if ``after`` equals its own
    cursor; otherwise it missed something and asks ``/api/deltas`` from its cursor instead.
    """

    after: str
    cursor: str
    tickets: tuple[TicketRecord, ...]
    more: bool = False
    keyring: Mapping[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        tickets = []
        for record in self.tickets:
            item = record.to_json()
            item.pop("type", None)
            tickets.append(item)
        data: dict[str, Any] = {
            "type": "delta",
            "after": self.after,
            "cursor": self.cursor,
            "tickets": tickets,
            "more": self.more,
        }
        if self.keyring is not None:
            data["keyring"] = dict(self.keyring)
        return data

    @classmethod
    def parse(cls, data: object) -> DeltaPage:
        obj = _obj(data, "delta page")
        tickets = obj.get("tickets")
        if not isinstance(tickets, list):
            raise WireError("'tickets' must be a list")
        try:
            records = tuple(parse_ticket(t) for t in tickets)
        except SnapshotError as exc:
            raise WireError(f"bad ticket in delta: {exc}") from None
        keyring = obj.get("keyring")
        if keyring is not None and not isinstance(keyring, dict):
            raise WireError("'keyring' must be an object")
        return cls(str(obj.get("after")), str(obj.get("cursor")), records, bool(obj.get("more")), keyring)


def scan_ids(scans: Sequence[Scan]) -> list[str]:
    return [s.scan_id for s in scans]
