"""Gate devices: one-time enrolment codes, credentials, last-seen state, revocation, and the
out-of-scope attempts a device made (kept for the organisers' dashboard)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update

from sync_server import auth, db
from sync_server.store.base import Database
from wire.sync_api import Enrolment

DEFAULT_CODE_TTL = 24 * 3600.0
ONLINE_WINDOW = 30.0
"""A device seen within this many seconds (or with its push channel open) counts as online."""
MAX_ATTEMPT_DETAIL = 300


class EnrolError(Exception):
    """An enrolment code that cannot be used; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, message: str, code: str = "enrol_refused") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class UnknownEvent(ValueError):
    """An enrolment code asked for an event this server holds no tickets or keys for."""


@dataclass(frozen=True, slots=True)
class Device:
    device_id: str
    event_id: str
    gate_id: str
    direction: str
    zones: tuple[str, ...]
    revoked: bool


class DeviceStore:
    def __init__(self, database: Database) -> None:
        self.db = database
        self.engine = database.engine

    # ------------------------------------------------------------ enrolment

    def create_enrol_code(
        self,
        event_id: str,
        gate_id: str,
        direction: str = "in",
        zones: Sequence[str] = (),
        ttl: float = DEFAULT_CODE_TTL,
    ) -> str:
        """A one-time code for a gate of an event this server knows (imported or fed)."""
        if direction not in ("in", "out"):
            raise ValueError("direction must be 'in' or 'out'")
        code = auth.new_code()
        now = time.time()
        with self.engine.begin() as conn:
            known = conn.execute(select(db.events.c.event_id).where(db.events.c.event_id == event_id)).first()
            if known is None:
                raise UnknownEvent(
                    f"no event {event_id!r} on this server: import its tickets (or start the box office "
                    "feed) before making enrolment codes for it"
                )
            conn.execute(
                db.enrol_codes.insert().values(
                    code_hash=auth.token_hash(auth.normalise_code(code)),
                    event_id=event_id,
                    gate_id=gate_id,
                    direction=direction,
                    zones=list(zones),
                    created_at=now,
                    expires_at=now + ttl,
                )
            )
        return code

    def enrol(self, code: str, name: str | None = None, software_version: str | None = None) -> Enrolment:
        """Spend a code on a new device: one conditional update, so a code works exactly once."""
        c = db.enrol_codes
        code_hash = auth.token_hash(auth.normalise_code(code))
        now = time.time()
        device_id = uuid.uuid4().hex[:16]
        credential = auth.new_token(f"gate-{device_id}")
        with self.engine.begin() as conn:
            row = conn.execute(select(c).where(c.c.code_hash == code_hash)).first()
            if row is None:
                raise EnrolError(403, "unknown enrolment code", "unknown_code")
            if row.used_at is not None:
                raise EnrolError(
                    409, "this enrolment code was already used; ask venue IT for a new one", "code_used"
                )
            if row.expires_at < now:
                raise EnrolError(
                    410, "this enrolment code has expired; ask venue IT for a new one", "code_expired"
                )
            event = conn.execute(
                select(db.events.c.session_id).where(db.events.c.event_id == row.event_id)
            ).first()
            if event is None:
                raise EnrolError(409, f"this server holds no event {row.event_id!r}", "unknown_event")
            spent = conn.execute(
                update(c)
                .where(c.c.code_hash == code_hash, c.c.used_at.is_(None))
                .values(used_at=now, device_id=device_id)
            ).rowcount
            if spent != 1:
                raise EnrolError(
                    409, "this enrolment code was already used; ask venue IT for a new one", "code_used"
                )
            conn.execute(
                db.devices.insert().values(
                    device_id=device_id,
                    token_hash=auth.token_hash(credential),
                    event_id=row.event_id,
                    gate_id=row.gate_id,
                    direction=row.direction,
                    zones=row.zones,
                    name=name,
                    created_at=now,
                    last_seen=now,
                    software_version=software_version,
                )
            )
        return Enrolment(
            device_id=device_id,
            credential=credential,
            event_id=row.event_id,
            gate_id=row.gate_id,
            direction=row.direction,
            allowed_zones=tuple(row.zones or ()),
            session_id=event.session_id,
        )

    # ------------------------------------------------------------ devices

    def authenticate(self, credential: str) -> Device | None:
        d = db.devices
        with self.engine.connect() as conn:
            row = conn.execute(select(d).where(d.c.token_hash == auth.token_hash(credential))).first()
        if row is None:
            return None
        return Device(
            row.device_id,
            row.event_id,
            row.gate_id,
            row.direction,
            tuple(row.zones or ()),
            row.revoked_at is not None,
        )

    def touch(
        self,
        device_id: str,
        *,
        cursor: str | None = None,
        backlog: int | None = None,
        version: str | None = None,
        clock_offset: float | None = None,
    ) -> None:
        values: dict[str, Any] = {"last_seen": time.time()}
        if cursor is not None:
            values["cursor"] = cursor
        if backlog is not None:
            values["backlog"] = backlog
        if version is not None:
            values["software_version"] = version
        if clock_offset is not None:
            values["clock_offset"] = clock_offset
        with self.engine.begin() as conn:
            conn.execute(update(db.devices).where(db.devices.c.device_id == device_id).values(**values))

    def devices(self, online_ids: Iterable[str] = ()) -> list[dict[str, Any]]:
        online = set(online_ids)
        now = time.time()
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(db.devices).order_by(db.devices.c.gate_id, db.devices.c.device_id)
            ).fetchall()
        out = []
        for row in rows:
            item = dict(row._mapping)
            item.pop("token_hash")
            item["zones"] = list(row.zones or ())
            item["revoked"] = row.revoked_at is not None
            item["online"] = not item["revoked"] and (
                row.device_id in online or (row.last_seen is not None and now - row.last_seen < ONLINE_WINDOW)
            )
            out.append(item)
        return out

    def revoke_device(self, device_id: str) -> bool:
        d = db.devices
        with self.engine.begin() as conn:
            return bool(
                conn.execute(
                    update(d)
                    .where(d.c.device_id == device_id, d.c.revoked_at.is_(None))
                    .values(revoked_at=time.time())
                ).rowcount
            )

    # ------------------------------------------------------------ out-of-scope attempts

    def record_attempt(self, device: Device, kind: str, detail: str, count: int = 1) -> None:
        """Note a request the device was not allowed to make (one row per request, not per scan)."""
        with self.engine.begin() as conn:
            conn.execute(
                db.refused_requests.insert().values(
                    event_id=device.event_id,
                    device_id=device.device_id,
                    gate_id=device.gate_id,
                    at=time.time(),
                    kind=kind,
                    detail=detail[:MAX_ATTEMPT_DETAIL],
                    count=count,
                )
            )

    def attempts(self, event_id: str, limit: int = 20) -> dict[str, Any]:
        """Out-of-scope attempts of the event's devices: how many, and the latest ones."""
        r = db.refused_requests
        with self.engine.connect() as conn:
            total = conn.execute(
                select(func.count(), func.coalesce(func.sum(r.c.count), 0)).where(r.c.event_id == event_id)
            ).one()
            recent = [
                dict(row._mapping)
                for row in conn.execute(
                    select(r.c.at, r.c.device_id, r.c.gate_id, r.c.kind, r.c.detail, r.c.count)
                    .where(r.c.event_id == event_id)
                    .order_by(r.c.id.desc())
                    .limit(limit)
                )
            ]
        return {"requests": int(total[0]), "scans": int(total[1]), "recent": recent}
