"""Prometheus text exposition (format 0.0.4) of the entry counts and server counters.

Written by hand: a dozen gauges and counters rendered from numbers the dashboard computes
anyway, so the whole of prometheus_client is not needed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def _label(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render_metrics(stats: Sequence[Mapping[str, Any]], counters: Mapping[str, float]) -> str:
    lines: list[str] = []

    def metric(name: str, kind: str, help_text: str, samples: list[tuple[dict[str, object], float]]) -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            text = ",".join(f'{k}="{_label(v)}"' for k, v in labels.items())
            lines.append(f"{name}{{{text}}} {value}" if text else f"{name} {value}")

    metric(
        "encore_tickets_sold",
        "gauge",
        "Valid tickets of the event.",
        [({"event": s["event_id"]}, s["sold"]) for s in stats],
    )
    metric(
        "encore_entries",
        "gauge",
        "Entries so far (first admissions).",
        [({"event": s["event_id"]}, s["entries"]) for s in stats],
    )
    metric(
        "encore_entries_by_gate",
        "gauge",
        "Entries per gate.",
        [({"event": s["event_id"], "gate": g["gate"]}, g["entries"]) for s in stats for g in s["by_gate"]],
    )
    metric(
        "encore_entries_by_zone",
        "gauge",
        "Entries per zone.",
        [({"event": s["event_id"], "zone": z["zone"]}, z["entries"]) for s in stats for z in s["by_zone"]],
    )
    metric(
        "encore_refusals_last_hour",
        "gauge",
        "Refused scans in the last hour by verdict.",
        [({"event": s["event_id"], "verdict": v}, n) for s in stats for v, n in s["refusals"].items()],
    )
    metric(
        "encore_admitted_conflicts",
        "gauge",
        "Admissions that conflict (duplicate or revoked).",
        [({"event": s["event_id"]}, s["conflict_count"]) for s in stats],
    )
    metric(
        "encore_scans_stored",
        "gauge",
        "Scans held by the server.",
        [({"event": s["event_id"]}, s["scans"]) for s in stats],
    )
    devices = [d for s in stats for d in s["devices"]]
    metric(
        "encore_device_online",
        "gauge",
        "1 if the gate device is online.",
        [({"device": d["device_id"], "gate": d["gate_id"]}, int(d["online"])) for d in devices],
    )
    metric(
        "encore_device_backlog",
        "gauge",
        "Scans the device reported as not yet uploaded.",
        [({"device": d["device_id"], "gate": d["gate_id"]}, d["backlog"] or 0) for d in devices],
    )
    for name in (
        "scan_batches",
        "scans_received",
        "scans_new",
        "scans_rejected",
        "push_messages",
        "snapshots",
        "enrol_refused",
        "enrol_throttled",
        "scope_refused",
        "scans_time_flagged",
        "push_dropped",
        "dashboard_dropped",
        "login_failed",
        "login_throttled",
        "cross_site_refused",
    ):
        metric(
            f"encore_sync_{name}_total",
            "counter",
            f"Server counter {name} since start.",
            [({}, counters.get(name, 0))],
        )
    return "\n".join(lines) + "\n"
