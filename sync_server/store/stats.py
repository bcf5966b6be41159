"""Statistics for the dashboard, ``/api/stats`` and ``/metrics``: entries, refusals, conflicts,
devices (with their clock), scans with an untrusted time and out-of-scope attempts."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select

from sync_server import db
from sync_server.reconcile import CONFLICT, ENTRY, REFUSED
from sync_server.scan_time import CLOCK_TOLERANCE
from sync_server.store.base import Database
from sync_server.store.devices import DeviceStore


class StatsStore:
    def __init__(self, database: Database, devices: DeviceStore) -> None:
        self.engine = database.engine
        self.device_store = devices

    def stats(
        self, event_id: str, online_ids: Iterable[str] = (), now: float | None = None
    ) -> dict[str, Any]:
        now = time.time() if now is None else now
        s, t = db.scans, db.tickets
        with self.engine.connect() as conn:
            sold = int(
                conn.execute(
                    select(func.count()).select_from(t).where(t.c.event_id == event_id, t.c.status == "valid")
                ).scalar_one()
            )
            entries = int(
                conn.execute(
                    select(func.count()).select_from(s).where(s.c.event_id == event_id, s.c.outcome == ENTRY)
                ).scalar_one()
            )
            by_gate = {
                row.gate: row.n
                for row in conn.execute(
                    select(s.c.gate, func.count().label("n"))
                    .where(s.c.event_id == event_id, s.c.outcome == ENTRY)
                    .group_by(s.c.gate)
                )
            }
            sold_zone = {
                row.zone or "": row.n
                for row in conn.execute(
                    select(t.c.zone, func.count().label("n"))
                    .where(t.c.event_id == event_id, t.c.status == "valid")
                    .group_by(t.c.zone)
                )
            }
            entered_zone = {
                row.zone or "": row.n
                for row in conn.execute(
                    select(t.c.zone, func.count().label("n"))
                    .select_from(s.join(t, s.c.ticket_id == t.c.ticket_id))
                    .where(s.c.event_id == event_id, s.c.outcome == ENTRY)
                    .group_by(t.c.zone)
                )
            }
            minute = func.floor(s.c.at / 60).label("minute")
            since = now - 3600
            per_minute = {
                int(row.minute): row.n
                for row in conn.execute(
                    select(minute, func.count().label("n"))
                    .where(s.c.event_id == event_id, s.c.outcome == ENTRY, s.c.at >= since)
                    .group_by(minute)
                )
            }
            refusals = {
                row.verdict: row.n
                for row in conn.execute(
                    select(s.c.verdict, func.count().label("n"))
                    .where(s.c.event_id == event_id, s.c.outcome == REFUSED, s.c.at >= since)
                    .group_by(s.c.verdict)
                )
            }
            recent_refusals = [
                dict(row._mapping)
                for row in conn.execute(
                    select(s.c.scan_id, s.c.at, s.c.gate, s.c.verdict, s.c.reason, s.c.ticket_id)
                    .where(s.c.event_id == event_id, s.c.outcome == REFUSED)
                    .order_by(s.c.at.desc())
                    .limit(20)
                )
            ]
            other = s.alias("first")
            conflicts = [
                dict(row._mapping)
                for row in conn.execute(
                    select(
                        s.c.scan_id,
                        s.c.ticket_id,
                        s.c.conflict_kind.label("kind"),
                        s.c.at,
                        s.c.gate,
                        s.c.device,
                        s.c.received_at,
                        other.c.scan_id.label("first_scan_id"),
                        other.c.at.label("first_at"),
                        other.c.gate.label("first_gate"),
                        other.c.device.label("first_device"),
                    )
                    .select_from(s.outerjoin(other, s.c.conflicts_with == other.c.scan_id))
                    .where(s.c.event_id == event_id, s.c.outcome == CONFLICT)
                    .order_by(s.c.at.desc())
                    .limit(100)
                )
            ]
            conflict_count = int(
                conn.execute(
                    select(func.count())
                    .select_from(s)
                    .where(s.c.event_id == event_id, s.c.outcome == CONFLICT)
                ).scalar_one()
            )
            scans_total = int(
                conn.execute(select(func.count()).select_from(s).where(s.c.event_id == event_id)).scalar_one()
            )
            time_flagged = {
                row.device_id: row.n
                for row in conn.execute(
                    select(s.c.device_id, func.count().label("n"))
                    .where(s.c.event_id == event_id, s.c.time_flag.is_not(None))
                    .group_by(s.c.device_id)
                )
            }
        zones = sorted(set(sold_zone) | set(entered_zone))
        start = int(now // 60) - 59
        devices = [d for d in self.device_store.devices(online_ids) if d["event_id"] == event_id]
        return {
            "event_id": event_id,
            "generated_at": now,
            "sold": sold,
            "entries": entries,
            "scans": scans_total,
            "by_gate": [{"gate": g, "entries": n} for g, n in sorted(by_gate.items())],
            "by_zone": [
                {"zone": z, "entries": entered_zone.get(z, 0), "sold": sold_zone.get(z, 0)} for z in zones
            ],
            "per_minute": [
                {"minute": (start + i) * 60, "entries": per_minute.get(start + i, 0)} for i in range(60)
            ],
            "refusals": refusals,
            "recent_refusals": recent_refusals,
            "conflicts": conflicts,
            "conflict_count": conflict_count,
            "time_flagged": sum(time_flagged.values()),
            "attempts": self.device_store.attempts(event_id),
            "devices": [
                {
                    "time_flagged": time_flagged.get(d["device_id"], 0),
                    "clock_wrong": d["clock_offset"] is not None and abs(d["clock_offset"]) > CLOCK_TOLERANCE,
                    **{
                        k: d[k]
                        for k in (
                            "device_id",
                            "gate_id",
                            "direction",
                            "online",
                            "backlog",
                            "last_seen",
                            "cursor",
                            "software_version",
                            "revoked",
                            "clock_offset",
                        )
                    },
                }
                for d in devices
            ],
        }
