# ruff: noqa: E501  (one line per metric family reads as a table)
"""Prometheus exposition of the entry counts and server counters, through ``prometheus_client``.

The numbers are the ones the dashboard computes anyway; each scrape builds them into metric
families on a registry of its own and lets the library write the text format (escaping,
``_total`` suffixes, HELP and TYPE lines), so the format is the library's, not ours.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

COUNTERS = (
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
)


class _Snapshot(Collector):
    def __init__(self, stats: Sequence[Mapping[str, Any]], counters: Mapping[str, float]) -> None:
        self.stats = stats
        self.counters = counters

    def collect(self) -> Iterator[Metric]:
        stats = self.stats

        def gauge(
            name: str, help_text: str, labels: list[str], samples: list[tuple[list[str], float]]
        ) -> Metric:
            family = GaugeMetricFamily(name, help_text, labels=labels)
            for values, value in samples:
                family.add_metric(values, value)
            return family

        yield gauge("encore_tickets_sold", "Valid tickets of the event.", ["event"],
                    [([str(s["event_id"])], s["sold"]) for s in stats])  # fmt: skip
        yield gauge("encore_entries", "Entries so far (first admissions).", ["event"],
                    [([str(s["event_id"])], s["entries"]) for s in stats])  # fmt: skip
        yield gauge("encore_entries_by_gate", "Entries per gate.", ["event", "gate"],
                    [([str(s["event_id"]), str(g["gate"])], g["entries"]) for s in stats for g in s["by_gate"]])  # fmt: skip
        yield gauge("encore_entries_by_zone", "Entries per zone.", ["event", "zone"],
                    [([str(s["event_id"]), str(z["zone"])], z["entries"]) for s in stats for z in s["by_zone"]])  # fmt: skip
        yield gauge("encore_refusals_last_hour", "Refused scans in the last hour by verdict.", ["event", "verdict"],
                    [([str(s["event_id"]), str(v)], n) for s in stats for v, n in s["refusals"].items()])  # fmt: skip
        yield gauge("encore_admitted_conflicts", "Admissions that conflict (duplicate or revoked).", ["event"],
                    [([str(s["event_id"])], s["conflict_count"]) for s in stats])  # fmt: skip
        yield gauge("encore_scans_stored", "Scans held by the server.", ["event"],
                    [([str(s["event_id"])], s["scans"]) for s in stats])  # fmt: skip
        devices = [d for s in stats for d in s["devices"]]
        yield gauge("encore_device_online", "1 if the gate device is online.", ["device", "gate"],
                    [([str(d["device_id"]), str(d["gate_id"])], int(d["online"])) for d in devices])  # fmt: skip
        yield gauge("encore_device_backlog", "Scans the device reported as not yet uploaded.", ["device", "gate"],
                    [([str(d["device_id"]), str(d["gate_id"])], d["backlog"] or 0) for d in devices])  # fmt: skip
        for name in COUNTERS:
            counter = CounterMetricFamily(f"encore_sync_{name}", f"Server counter {name} since start.")
            counter.add_metric([], self.counters.get(name, 0))
            yield counter


def render_metrics(stats: Sequence[Mapping[str, Any]], counters: Mapping[str, float]) -> str:
    """The text exposition (format 0.0.4) of these numbers."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(stats, counters))
    return generate_latest(registry).decode("utf-8")
