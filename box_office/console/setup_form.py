"""The event set-up form: read its fields into specs with an error per field, and warn when
seat-zone rules overlap. No I/O.

Why the warning: a seat matched by two rules gets the zone of the later rule (events.py applies
the rules in order, the last match wins). That was undocumented; the form now names the seats
and the rules so the organiser sees which price a seat will have before the session exists.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from box_office.catalog.events import GaQuota, SeatZoneRule, SessionSpec, TicketTypeSpec, ZoneSpec
from box_office.core.layout import SeatSpec


@dataclass
class EventForm:
    """What the form asked for, once read; ``errors`` maps a field name to its message."""

    name: str = ""
    currency: str = "CNY"
    venue_id: int | None = None
    zones: list[ZoneSpec] = field(default_factory=list)
    types: list[TicketTypeSpec] = field(default_factory=list)
    session: SessionSpec | None = None
    errors: dict[str, str] = field(default_factory=dict)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


def _price(text: str) -> int:
    """``480`` or ``480.50`` (yuan) -> cents."""
    value = text.strip().replace(",", "")
    whole, _, frac = value.partition(".")
    if not whole.isdigit() or (frac and (not frac.isdigit() or len(frac) > 2)):
        raise ValueError(f"not a price: {text!r}")
    return int(whole) * 100 + int((frac + "00")[:2])


def _time(text: str, tz: ZoneInfo) -> float:
    return datetime.fromisoformat(text.strip()).replace(tzinfo=tz).timestamp()


def _optional_int(text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    value = int(text)
    if value < 1:
        raise ValueError("must be 1 or more")
    return value


def parse_rules(text: str) -> list[SeatZoneRule]:
    """One rule per line: ``ZONE: sections=A,B rows=1,2`` or ``ZONE: seats=A-1-1,A-1-2``."""
    rules = []
    for number, line in enumerate(_lines(text), 1):
        zone, colon, rest = line.partition(":")
        if not colon or not zone.strip():
            raise ValueError(f"line {number}: write ZONE: sections=... rows=... or ZONE: seats=...")
        parts: dict[str, tuple[str, ...]] = {}
        for item in rest.split():
            key, eq, values = item.partition("=")
            if not eq or key not in ("sections", "rows", "seats"):
                raise ValueError(f"line {number}: unknown part {item!r}")
            parts[key] = tuple(v for v in values.split(",") if v)
        rules.append(
            SeatZoneRule(
                zone.strip(), parts.get("sections", ()), parts.get("rows", ()), parts.get("seats", ())
            )
        )
    return rules


def read_event_form(form: Mapping[str, str]) -> EventForm:
    out = EventForm(name=form.get("name", "").strip(), currency=form.get("currency", "CNY").strip().upper())
    errors = out.errors
    if not out.name:
        errors["name"] = "required"
    if len(out.currency) != 3 or not out.currency.isalpha():
        errors["currency"] = "three letters, e.g. CNY"
    try:
        out.venue_id = int(form.get("venue_id", ""))
    except ValueError:
        errors["venue_id"] = "choose a venue"
    try:
        for line in _lines(form.get("zones", "")):
            code, name, price = (p.strip() for p in line.split(","))
            out.zones.append(ZoneSpec(code, name, _price(price)))
        if not out.zones:
            errors["zones"] = "at least one zone: CODE,Name,price"
    except ValueError as exc:
        errors["zones"] = f"each line CODE,Name,price ({exc})"
    zone_codes = {z.code for z in out.zones}
    try:
        for line in _lines(form.get("ticket_types", "")):
            parts = [p.strip() for p in line.split(",")]
            if len(parts) < 2:
                raise ValueError(f"{line!r}")
            kind = parts[2] if len(parts) > 2 and parts[2] else "standard"
            if kind not in ("standard", "box"):
                raise ValueError(f"kind must be standard or box, not {kind!r}")
            out.types.append(TicketTypeSpec(parts[0], parts[1], kind, {}))
        if not out.types:
            errors["ticket_types"] = "at least one ticket type: code,Name[,standard|box]"
    except ValueError as exc:
        errors["ticket_types"] = f"each line code,Name[,standard|box] ({exc})"
    try:
        tz = ZoneInfo(form.get("timezone", "Asia/Shanghai").strip() or "Asia/Shanghai")
    except (ZoneInfoNotFoundError, ValueError):
        errors["timezone"] = "unknown time zone (e.g. Asia/Shanghai)"
        tz = ZoneInfo("UTC")
    times: dict[str, float] = {}
    for key in ("starts_at", "ends_at", "sale_starts_at", "sale_ends_at"):
        try:
            times[key] = _time(form.get(key, ""), tz)
        except ValueError:
            errors[key] = "a date and time, e.g. 2026-12-31T20:00"
    if "starts_at" in times and "ends_at" in times and times["ends_at"] < times["starts_at"]:
        errors["ends_at"] = "ends before it starts"
    if (
        "sale_starts_at" in times
        and "sale_ends_at" in times
        and times["sale_ends_at"] < times["sale_starts_at"]
    ):
        errors["sale_ends_at"] = "the sale ends before it starts"
    limits: dict[str, int | None] = {}
    for key in ("limit_per_account", "limit_per_id", "hold_seconds"):
        try:
            limits[key] = _optional_int(form.get(key, ""))
        except ValueError:
            errors[key] = "a whole number, 1 or more"
    try:
        rules = parse_rules(form.get("seat_zones", ""))
        unknown = sorted({r.zone for r in rules} - zone_codes)
        if unknown and out.zones:
            errors["seat_zones"] = f"unknown zone(s): {', '.join(unknown)}"
    except ValueError as exc:
        errors["seat_zones"] = str(exc)
        rules = []
    default_zone = form.get("default_zone", "").strip() or None
    if default_zone and out.zones and default_zone not in zone_codes:
        errors["default_zone"] = f"unknown zone {default_zone}"
    quotas: list[GaQuota] = []
    try:
        for line in _lines(form.get("ga", "")):
            parts = [p.strip() for p in line.split(",")]
            if len(parts) not in (2, 3):
                raise ValueError(f"{line!r}")
            if out.zones and parts[1] not in zone_codes:
                raise ValueError(f"unknown zone {parts[1]}")
            quotas.append(
                GaQuota(parts[0], parts[1], int(parts[2]) if len(parts) == 3 and parts[2] else None)
            )
    except ValueError as exc:
        errors["ga"] = f"each line AREA,ZONE[,capacity] ({exc})"
    if not errors:
        out.session = SessionSpec(
            name=form.get("session_name", "").strip() or out.name,
            starts_at=times["starts_at"],
            ends_at=times["ends_at"],
            sale_starts_at=times["sale_starts_at"],
            sale_ends_at=times["sale_ends_at"],
            hold_seconds=limits.get("hold_seconds") or 600,
            real_name=form.get("real_name") in ("on", "1", "true"),
            limit_per_account=limits.get("limit_per_account"),
            limit_per_id=limits.get("limit_per_id"),
            default_zone=default_zone,
            seat_zones=tuple(rules),
            ga=tuple(quotas),
        )
    return out


@dataclass(frozen=True)
class Overlap:
    first: int
    """1-based line of the earlier rule."""
    later: int
    seats: tuple[str, ...]
    winner: str
    """The zone these seats get: the later rule's."""


def overlaps(rules: Iterable[SeatZoneRule], seats: Iterable[SeatSpec]) -> list[Overlap]:
    """Pairs of rules that match the same seats, with the seats (first 10) and the zone that wins."""
    rules = list(rules)
    shared: dict[tuple[int, int], list[str]] = {}
    for seat in seats:
        hits = [i for i, rule in enumerate(rules) if rule.matches(seat)]  # type: ignore[arg-type]
        for a_index, a in enumerate(hits):
            for b in hits[a_index + 1 :]:
                shared.setdefault((a, b), []).append(seat.label)
    return [
        Overlap(a + 1, b + 1, tuple(labels[:10]), rules[b].zone) for (a, b), labels in sorted(shared.items())
    ]
