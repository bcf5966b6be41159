"""The gate snapshot: every ticket state a gate needs to decide scans offline, as JSON Lines.

Why JSON Lines: a 200,000-ticket snapshot must stream (the gate is a Raspberry Pi and the
download may be resumed), so every ticket is one self-contained line and neither side ever
holds the whole file. The first line is a header, the last a footer with the ticket count and
the cursor again, so a truncated download is detected instead of silently loaded.

    {"type": "header", "format": "encore-snapshot/1", "event_id": ..., "keyring": {...}, ...}
    {"type": "ticket", "ticket_id": "...", "version": 1, "status": "valid", ...}
    ...
    {"type": "footer", "count": 200000, "cursor": "12345"}

The same :class:`TicketRecord` is what a delta carries (full new state of one ticket), so the
sync server can reuse :func:`ticket_line` / :func:`parse_ticket` for its delta feed.
Only streams are touched here; opening files is the caller's job.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any, Literal

FORMAT = "encore-snapshot/1"
STATUSES = ("valid", "revoked", "blocked")
Status = Literal["valid", "revoked", "blocked"]
MAX_SEALED_TEXT = 200
MAX_BOUND_PAYLOAD_TEXT = 1200
"""Longest ``bound_payload`` (base64url): a reserved-seat ticket's is about 180 characters."""
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")
MAX_LINE = 64 * 1024
"""Longest accepted line; a ticket line is a few hundred bytes, the header holds the keyring."""


class SnapshotError(ValueError):
    """A snapshot that cannot be trusted: bad line, wrong format, truncated or miscounted."""


@dataclass(frozen=True, slots=True)
class SnapshotHeader:
    """What applies to the whole snapshot.

    ``identity_key`` is the per-event HMAC key (hex) that the gate digests a presented ID and
    name with, or None when the event has no real-name tickets. The holders' own digests are
    not under this key alone: each is sealed under its ticket (see :class:`TicketRecord`).
    ``rules`` holds event-wide gate rules (for example ``{"reentry": "after_exit"}``); a gate's
    own configuration overrides them.
    ``cursor`` is opaque to the gate: it hands it back to ask for deltas after this snapshot.
    """

    event_id: str | int
    keyring: Mapping[str, Any]
    cursor: str
    session_id: str | int | None = None
    identity_key: str | None = None
    rules: Mapping[str, Any] = field(default_factory=dict)
    created_at: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "header",
            "format": FORMAT,
            "event_id": self.event_id,
            "session_id": self.session_id,
            "keyring": dict(self.keyring),
            "identity_key": self.identity_key,
            "rules": dict(self.rules),
            "cursor": self.cursor,
            "created_at": self.created_at,
        }


@dataclass(frozen=True, slots=True)
class TicketRecord:
    """One ticket's state as the gate must know it. No personal data.

    ``identity_sealed`` is a real-name ticket's holder digests sealed under the ticket's own
    signature (:func:`ticket_format.identity.seal_identity`): only the presented QR code opens
    it, so neither a gate's database nor the sync server's reveals a name or an ID number.
    Feeds and snapshots of the first release carried ``id_digest``/``name_digest`` in clear;
    :func:`parse_ticket` ignores them (the ticket then has no holder identity until re-fed).

    ``bound_payload`` is set for a valid ticket bound to the buyer's phone: base64url of CBOR
    ``[COSE protected header, signed payload]`` of its current version, i.e. the signed bytes
    without the signature (:func:`ticket_format.rotating.bound_payload`). With it a gate
    verifies the phone's compact ``EN3:`` codes, which carry only the ticket id, version, time
    step and the two signatures; the box office's signature is checked over these bytes, so a
    list that was altered on the way refuses codes rather than admitting forged ones.
    """

    ticket_id: str
    version: int
    event_id: str | int
    session_id: str | int | None = None
    zone: str | None = None
    seat: str | None = None
    ticket_type: str | None = None
    status: Status = "valid"
    real_name: bool = False
    identity_sealed: str | None = None
    used_at: float | None = None
    used_gate: str | None = None
    bound_payload: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"type": "ticket"}
        for name in self.__slots__:
            value = getattr(self, name)
            if value is not None and value is not False:
                data[name] = value
        data.setdefault("status", self.status)
        return data


@dataclass(frozen=True, slots=True)
class SnapshotFooter:
    count: int
    cursor: str

    def to_json(self) -> dict[str, Any]:
        return {"type": "footer", "count": self.count, "cursor": self.cursor}


# ---------------------------------------------------------------- writing


def dumps_line(data: Mapping[str, Any]) -> str:
    """One compact JSON line with its newline."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False) + "\n"


def ticket_line(record: TicketRecord) -> str:
    return dumps_line(record.to_json())


def write_snapshot(stream: IO[str], header: SnapshotHeader, records: Iterable[TicketRecord]) -> int:
    """Write a whole snapshot to a text stream, streaming the records; returns the count."""
    stream.write(dumps_line(header.to_json()))
    count = 0
    for record in records:
        stream.write(ticket_line(record))
        count += 1
    stream.write(dumps_line(SnapshotFooter(count, header.cursor).to_json()))
    return count


def iter_snapshot_lines(header: SnapshotHeader, records: Iterable[TicketRecord]) -> Iterator[str]:
    """The snapshot as lines, for servers that stream a response body chunk by chunk."""
    yield dumps_line(header.to_json())
    count = 0
    for record in records:
        count += 1
        yield ticket_line(record)
    yield dumps_line(SnapshotFooter(count, header.cursor).to_json())


# ---------------------------------------------------------------- reading


def _scalar(data: Mapping[str, Any], name: str, *, required: bool = False) -> str | int | None:
    value = data.get(name)
    if value is None:
        if required:
            raise SnapshotError(f"missing {name!r}")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise SnapshotError(f"{name!r} must be text or an integer")
    return value


def _text(data: Mapping[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is not None and not isinstance(value, str):
        raise SnapshotError(f"{name!r} must be text")
    return value


def _sealed(data: Mapping[str, Any]) -> str | None:
    value = _text(data, "identity_sealed")
    if value is not None and (len(value) > MAX_SEALED_TEXT or not _BASE64URL.fullmatch(value)):
        raise SnapshotError(
            f"'identity_sealed' must be base64url text of at most {MAX_SEALED_TEXT} characters"
        )
    return value


def _bound_payload(data: Mapping[str, Any]) -> str | None:
    value = _text(data, "bound_payload")
    if value is not None and (len(value) > MAX_BOUND_PAYLOAD_TEXT or not _BASE64URL.fullmatch(value)):
        raise SnapshotError(
            f"'bound_payload' must be base64url text of at most {MAX_BOUND_PAYLOAD_TEXT} characters"
        )
    return value


def _cursor(data: Mapping[str, Any]) -> str:
    value = _scalar(data, "cursor", required=True)
    return str(value)


def parse_header(data: object) -> SnapshotHeader:
    if not isinstance(data, dict) or data.get("type") != "header":
        raise SnapshotError("the first line is not a snapshot header")
    if data.get("format") != FORMAT:
        raise SnapshotError(f"unsupported snapshot format {data.get('format')!r} (expected {FORMAT!r})")
    event_id = _scalar(data, "event_id", required=True)
    assert event_id is not None
    keyring = data.get("keyring")
    if not isinstance(keyring, dict):
        raise SnapshotError("header without a keyring object")
    identity_key = _text(data, "identity_key")
    if identity_key is not None:
        try:
            bytes.fromhex(identity_key)
        except ValueError:
            raise SnapshotError("identity_key is not hex") from None
    rules = data.get("rules") or {}
    if not isinstance(rules, dict):
        raise SnapshotError("'rules' must be an object")
    created_at = data.get("created_at")
    if created_at is not None and (isinstance(created_at, bool) or not isinstance(created_at, int)):
        raise SnapshotError("'created_at' must be an integer")
    return SnapshotHeader(
        event_id=event_id,
        session_id=_scalar(data, "session_id"),
        keyring=keyring,
        identity_key=identity_key,
        rules=rules,
        cursor=_cursor(data),
        created_at=created_at,
    )


def parse_ticket(data: object) -> TicketRecord:
    """A ticket record from its JSON object (a snapshot line or a delta)."""
    if not isinstance(data, dict) or data.get("type", "ticket") != "ticket":
        raise SnapshotError("not a ticket line")
    ticket_id = _scalar(data, "ticket_id", required=True)
    version = data.get("version", 1)
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise SnapshotError("'version' must be a non-negative integer")
    status = data.get("status", "valid")
    if status not in STATUSES:
        raise SnapshotError(f"unknown status {status!r} (expected one of {', '.join(STATUSES)})")
    used_at = data.get("used_at")
    if used_at is not None and (isinstance(used_at, bool) or not isinstance(used_at, int | float)):
        raise SnapshotError("'used_at' must be a number (Unix seconds)")
    real_name = data.get("real_name", False)
    if not isinstance(real_name, bool):
        raise SnapshotError("'real_name' must be true or false")
    event_id = _scalar(data, "event_id", required=True)
    assert event_id is not None
    return TicketRecord(
        ticket_id=str(ticket_id),
        version=version,
        event_id=event_id,
        session_id=_scalar(data, "session_id"),
        zone=_text(data, "zone"),
        seat=_text(data, "seat"),
        ticket_type=_text(data, "ticket_type"),
        status=status,
        real_name=real_name,
        identity_sealed=_sealed(data),
        used_at=used_at,
        used_gate=_text(data, "used_gate"),
        bound_payload=_bound_payload(data),
    )


def _load_line(line: str, number: int) -> Any:
    if len(line) > MAX_LINE:
        raise SnapshotError(f"line {number}: longer than {MAX_LINE} characters")
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise SnapshotError(f"line {number}: not JSON ({exc.msg})") from None


class SnapshotReader:
    """Streams a snapshot: the header at once, then tickets one by one, then checks the footer.

    Iterating raises :class:`SnapshotError` on a bad line, and at the end if the footer is
    missing (truncated download) or disagrees with what was read, so a consumer that applies
    records as they come must only commit once iteration finished without error.
    """

    def __init__(self, stream: Iterable[str]) -> None:
        self._lines = iter(stream)
        self._number = 1
        try:
            first = next(self._lines)
        except StopIteration:
            raise SnapshotError("empty snapshot") from None
        self.header = parse_header(_load_line(first, 1))
        self.footer: SnapshotFooter | None = None
        self._started = False

    def __iter__(self) -> Iterator[TicketRecord]:
        if self._started:
            raise SnapshotError("a snapshot can be read only once")
        self._started = True
        count = 0
        for line in self._lines:
            self._number += 1
            if not line.strip():
                continue
            data = _load_line(line, self._number)
            if isinstance(data, dict) and data.get("type") == "footer":
                self.footer = self._check_footer(data, count)
                break
            try:
                yield parse_ticket(data)
            except SnapshotError as exc:
                raise SnapshotError(f"line {self._number}: {exc}") from None
            count += 1
        if self.footer is None:
            raise SnapshotError(f"snapshot truncated after {count} tickets: no footer")
        for line in self._lines:
            if line.strip():
                raise SnapshotError("data after the footer")

    def _check_footer(self, data: dict[str, Any], count: int) -> SnapshotFooter:
        declared = data.get("count")
        if isinstance(declared, bool) or not isinstance(declared, int):
            raise SnapshotError("footer without an integer count")
        footer = SnapshotFooter(declared, _cursor(data))
        if footer.count != count:
            raise SnapshotError(f"footer says {footer.count} tickets but {count} were read")
        if footer.cursor != self.header.cursor:
            raise SnapshotError("footer cursor differs from the header cursor")
        return footer
