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
  as tickets change (revocations, other gates' entries); the device may send ``status``.
"""

from __future__ import annotations

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
    "stale_code",
)


class WireError(ValueError):
    """A message that breaks the contract; the text says which field and why (sent back as 400)."""


def _obj(data: object, what: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise WireError(f"{what} must be a JSON object")
    return data


def _text(data: Mapping[str, Any], name: str, *, required: bool = True, limit: int = 200) -> str | None:
    value = data.get(name)
    if value is None:
        if required:
            raise WireError(f"missing {name!r}")
        return None
    if not isinstance(value, str) or not value or len(value) > limit:
        raise WireError(f"{name!r} must be non-empty text of at most {limit} characters")
    if "\x00" in value:
        raise WireError(f"{name!r} must not contain NUL characters")
    return value


def _number(data: Mapping[str, Any], name: str) -> float:
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise WireError(f"{name!r} must be a number")
    return float(value)


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
        version = obj.get("ticket_version")
        if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
            raise WireError("'ticket_version' must be an integer")
        details = obj.get("details") or {}
        if not isinstance(details, dict):
            raise WireError("'details' must be an object")
        # gates before contract 3's scrub sent the first 40 characters of a non-ticket scan
        # (often a typed ID number) as details.text: never stored (see gate_agent.samples)
        details = {k: v for k, v in details.items() if k != "text"}
        reason = obj.get("reason") or ""
        if not isinstance(reason, str) or "\x00" in reason:
            raise WireError("'reason' must be text without NUL characters")
        source = str(obj.get("source") or "")
        if "\x00" in source:
            raise WireError("'source' must not contain NUL characters")
        return cls(
            scan_id=str(_text(obj, "scan_id", limit=64)),
            at=_number(obj, "at"),
            verdict=verdict,
            gate=str(_text(obj, "gate")),
            device=str(_text(obj, "device")),
            direction=direction,
            admit=admit,
            reason=reason[:500],
            source=source[:100],
            ticket_id=_text(obj, "ticket_id", required=False),
            ticket_version=version,
            details=details,
        )


@dataclass(frozen=True, slots=True)
class Rejection:
    """A scan of a batch the server refused for good (it breaks this contract), with the reason.

    ``index`` is its position in the batch; ``scan_id`` is given when it could be read.
    """

    index: int
    scan_id: str | None
    error: str

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "scan_id": self.scan_id, "error": self.error}

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
        return cls(index, scan_id, str(error) if error else "rejected")


@dataclass(frozen=True, slots=True)
class ScanBatch:
    """An upload: scans oldest first, plus the device's state for ``sync-server devices``.

    ``partial`` (added later, optional): the device asks the server to store the valid scans of
    the batch and name the invalid ones in :attr:`ScanAck.rejected`, instead of refusing the
    whole batch with 400. A server without it ignores the field and refuses the whole batch;
    a device without it never sends it and gets the 400 as before. When parsing a partial
    batch the invalid scans land in :attr:`rejected` rather than raising.
    """

    scans: tuple[Scan, ...]
    cursor: str | None = None
    backlog: int | None = None
    software_version: str | None = None
    partial: bool = False
    rejected: tuple[Rejection, ...] = ()

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "scans": [s.to_json() for s in self.scans],
            "cursor": self.cursor,
            "backlog": self.backlog,
            "software_version": self.software_version,
        }
        if self.partial:
            data["partial"] = True
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
        rejected = []
        for index, scan in enumerate(scans):
            try:
                parsed.append(Scan.parse(scan))
            except WireError as exc:
                if not partial:
                    raise WireError(f"scans[{index}]: {exc}") from None
                rejected.append(Rejection(index, _scan_id_of(scan), f"scans[{index}]: {exc}"))
        backlog = obj.get("backlog")
        if backlog is not None and (isinstance(backlog, bool) or not isinstance(backlog, int)):
            raise WireError("'backlog' must be an integer")
        cursor = obj.get("cursor")
        return cls(
            tuple(parsed),
            None if cursor is None else str(cursor),
            backlog,
            _text(obj, "software_version", required=False),
            partial,
            tuple(rejected),
        )


def _scan_id_of(scan: object) -> str | None:
    """The id of a scan that failed validation, if it has a readable one (to name it back)."""
    value = scan.get("scan_id") if isinstance(scan, Mapping) else None
    return value if isinstance(value, str) and 0 < len(value) <= 200 else None


class BatchTooLarge(WireError):
    """A batch over :data:`MAX_BATCH` (answered 413)."""


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
