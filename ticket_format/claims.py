"""Ticket claims and their compact CBOR form.

The claims JSON used by scripts and the CLI has stable names (``ticket_id``,
``event_id`` ...). In the QR code every byte counts (DESIGN: a reserved-seat
ticket must fit QR version 8-M), so the CBOR payload uses small integer keys,
and a ticket id that is a UUID is packed as 16 raw bytes instead of 36
characters. Extra fields keep their names as text keys.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from ticket_format.errors import malformed

Scalar = str | int

# name -> small integer CBOR key. Never reuse or renumber a key.
FIELD_KEYS: dict[str, int] = {
    "ticket_id": 1,
    "event_id": 2,
    "session_id": 3,
    "zone": 4,
    "seat": 5,
    "ticket_type": 6,
    "valid_from": 7,
    "valid_until": 8,
    "version": 9,
}
_NAMES_BY_KEY = {key: name for name, key in FIELD_KEYS.items()}
_MAX_EXTRA_FIELDS = 16
_NO_EXTRA: Mapping[str, Any] = MappingProxyType({})


class TicketClaims(NamedTuple):
    """What a ticket says about itself. No personal data, ever (DESIGN contract 1).

    A named tuple rather than a frozen dataclass: it is built for every scan,
    and a tuple is built in a fifth of the time.
    """

    ticket_id: str
    event_id: Scalar
    session_id: Scalar | None = None
    zone: str | None = None
    seat: str | None = None
    ticket_type: str | None = None
    valid_from: int | None = None
    valid_until: int | None = None
    version: int = 1
    extra: Mapping[str, Any] = _NO_EXTRA

    @property
    def is_general_admission(self) -> bool:
        return self.seat is None

    def to_json(self) -> dict[str, Any]:
        """The claims as the JSON object the CLI and the services exchange."""
        out: dict[str, Any] = {"ticket_id": self.ticket_id, "event_id": self.event_id}
        for name in ("session_id", "zone", "seat", "ticket_type", "valid_from", "valid_until"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        out["version"] = self.version
        out.update(self.extra)
        return out

    @classmethod
    def from_json(cls, data: object) -> TicketClaims:
        """Validated claims from a JSON object; raises ``ValueError`` with a clear message."""
        if not isinstance(data, Mapping):
            raise ValueError("claims must be a JSON object")
        known = {name: data[name] for name in FIELD_KEYS if name in data}
        known.setdefault("version", 1)
        extra = {k: v for k, v in data.items() if k not in FIELD_KEYS}
        for name in extra:
            if not isinstance(name, str) or not name:
                raise ValueError("extra field names must be non-empty strings")
        return _validated(known, extra)

    def to_cbor_map(self) -> dict[int | str, Any]:
        """The compact map that is CBOR-encoded into the signed payload.

        Two packings save QR space: ``valid_until`` is stored as its distance
        from ``valid_from`` when both are present (3 bytes instead of 5 for a
        window under 18 hours), and ``version`` is left out when it is 1.
        """
        packed: dict[int | str, Any] = {_TICKET_ID: _pack_ticket_id(self.ticket_id)}
        for name, value in self.to_json().items():
            if name == "ticket_id" or (name == "version" and value == 1):
                continue
            if name == "valid_until" and self.valid_from is not None:
                value -= self.valid_from
            packed[FIELD_KEYS.get(name, name)] = value
        return packed

    @classmethod
    def from_cbor_map(cls, packed: object) -> TicketClaims:
        """Claims from a decoded payload map; raises :class:`TicketError` (malformed).

        This runs for every scan, so it reads the map once and checks types
        inline rather than going through :meth:`from_json`.
        """
        if type(packed) is dict:
            if _KNOWN_KEYS.issuperset(packed):
                fast = _fast_claims(packed)
                if fast is not None:
                    return fast
            elif len(packed) <= len(_KNOWN_KEYS) + 1 and _KNOWN_KEYS.issuperset(
                k for k in packed if k != _ONE_EXTRA
            ):
                # a ticket bound to a phone: the known keys plus the device key claim (live codes)
                fast = _fast_claims(packed)
                if fast is not None:
                    return fast._replace(extra=MappingProxyType({_ONE_EXTRA: packed[_ONE_EXTRA]}))
        if not isinstance(packed, Mapping):
            raise malformed("payload is not a map")
        known: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in packed.items():
            if type(key) is int:
                name = _NAMES_BY_KEY.get(key)
                if name is None:
                    raise malformed(f"unknown claim key {key}")
                known[name] = value
            elif type(key) is str and key not in FIELD_KEYS:
                extra[key] = value
            else:
                raise malformed("bad claim key")
        ticket_id = known.get("ticket_id")
        if type(ticket_id) is bytes:
            if len(ticket_id) != 16:
                raise malformed("packed ticket id is not 16 bytes")
            h = ticket_id.hex()
            known["ticket_id"] = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
        valid_from, valid_until = known.get("valid_from"), known.get("valid_until")
        if type(valid_from) is int and type(valid_until) is int:
            known["valid_until"] = valid_from + valid_until
        known.setdefault("version", 1)
        try:
            return _validated(known, extra)
        except ValueError as exc:
            raise malformed(f"bad claims: {exc}") from None


_TICKET_ID = FIELD_KEYS["ticket_id"]
_ONE_EXTRA = "dk"
"""The one extra claim with a fast path: the device key of a ticket bound to a phone
(``ticket_format.rotating.DEVICE_KEY_CLAIM``), on every live code a gate verifies."""
_KNOWN_KEYS = frozenset(_NAMES_BY_KEY)
_SCALAR = frozenset({str, int})
_OPTIONAL_SCALAR = frozenset({str, int, type(None)})
_OPTIONAL_TEXT = frozenset({str, type(None)})
_OPTIONAL_INT = frozenset({int, type(None)})


def _fast_claims(packed: Mapping[Any, Any]) -> TicketClaims | None:
    """Claims from a map with only known integer keys, or None if anything is off.

    The common case on the gate's hot path; ``None`` sends the caller down the
    general path, which then says exactly what is wrong.
    """
    get = packed.get
    ticket_id, event_id, session_id = get(1), get(2), get(3)
    zone, seat, ticket_type = get(4), get(5), get(6)
    valid_from, valid_until, version = get(7), get(8), get(9, 1)
    if type(ticket_id) is bytes and len(ticket_id) == 16:
        h = ticket_id.hex()
        ticket_id = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    if not (
        type(ticket_id) is str
        and ticket_id
        and type(event_id) in _SCALAR
        and type(session_id) in _OPTIONAL_SCALAR
        and type(zone) in _OPTIONAL_TEXT
        and type(seat) in _OPTIONAL_TEXT
        and type(ticket_type) in _OPTIONAL_TEXT
        and type(valid_from) in _OPTIONAL_INT
        and type(valid_until) in _OPTIONAL_INT
        and type(version) is int
        and version >= 0
    ):
        return None
    if valid_until is not None and valid_from is not None:
        if valid_until < 0:
            return None
        valid_until += valid_from
    return TicketClaims(
        ticket_id,
        event_id,  # type: ignore[arg-type]  # checked above: str or int
        session_id,
        zone,
        seat,
        ticket_type,
        valid_from,
        valid_until,
        version,
        _NO_EXTRA,
    )


_TYPES: dict[str, tuple[type, ...]] = {
    "ticket_id": (str,),
    "event_id": (str, int),
    "session_id": (str, int),
    "zone": (str,),
    "seat": (str,),
    "ticket_type": (str,),
    "valid_from": (int,),
    "valid_until": (int,),
    "version": (int,),
}


def _validated(known: dict[str, Any], extra: dict[str, Any]) -> TicketClaims:
    """Claims from named values, checking presence, types and ranges."""
    if "ticket_id" not in known or "event_id" not in known:
        raise ValueError("claims need at least 'ticket_id' and 'event_id'")
    for name, value in known.items():
        # bool is an int subclass in Python but never a valid claim value.
        if value is not None and (type(value) is bool or not isinstance(value, _TYPES[name])):
            kinds = " or ".join("an integer" if t is int else "a string" for t in _TYPES[name])
            raise ValueError(f"'{name}' must be {kinds}")
    for name in ("ticket_id", "event_id", "version"):
        if known[name] is None:
            raise ValueError(f"'{name}' must not be null")
    if not known["ticket_id"]:
        raise ValueError("'ticket_id' must not be empty")
    if known["version"] < 0:
        raise ValueError("'version' must be >= 0")
    valid_from, valid_until = known.get("valid_from"), known.get("valid_until")
    if valid_from is not None and valid_until is not None and valid_until < valid_from:
        raise ValueError("'valid_until' is before 'valid_from'")
    if len(extra) > _MAX_EXTRA_FIELDS:
        raise ValueError(f"at most {_MAX_EXTRA_FIELDS} extra fields")
    return TicketClaims(extra=MappingProxyType(extra) if extra else _NO_EXTRA, **known)


def _pack_ticket_id(ticket_id: str) -> str | bytes:
    """A canonical lower-case UUID travels as 16 bytes; anything else as text."""
    try:
        parsed = uuid.UUID(ticket_id)
    except ValueError:
        return ticket_id
    return parsed.bytes if str(parsed) == ticket_id else ticket_id


__all__ = ["FIELD_KEYS", "TicketClaims"]
