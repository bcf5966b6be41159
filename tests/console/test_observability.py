"""Prometheus metrics of the box office (prometheus-client text format, parsed back), request
ids in answers and JSON log lines, and the sync server's exposition through the library."""

from __future__ import annotations

import io
import json
import logging

import pytest
from prometheus_client.parser import text_string_to_metric_families

from box_office.observability import logs
from sync_server.metrics import render_metrics
from tests.box_office.conftest import Server
from tests.box_office.helpers import Concert, buy, hold


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


@pytest.mark.parametrize("server", ["sqlite"], indirect=True)
def test_box_office_metrics_count_requests_holds_orders_payments(server: Server) -> None:
    concert = Concert(server)
    buy(concert, concert.buyer(), seats=["A-3-9"])
    assert hold(concert.buyer(), concert.session_id, seats=["A-3-10"]).status_code == 201
    client = server.client()
    assert client.get(f"/api/sessions/{concert.session_id}/seatmap").status_code == 200
    answer = client.get("/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    samples = _samples(answer.text)
    route = ("route", "/api/sessions/{session_id}/seatmap")
    assert samples[("box_office_requests_total", (("method", "GET"), route, ("status", "200")))] >= 1
    assert samples[("box_office_request_seconds_count", (("method", "GET"), route))] >= 1
    assert samples[("box_office_holds_active", ())] >= 1
    assert samples[("box_office_orders", (("status", "ticketed"),))] >= 1
    assert samples[("box_office_payments", (("status", "succeeded"),))] >= 1
    assert ("box_office_waiting_room_length", ()) in samples
    # no raw ids as labels: one series per route template
    assert not any("/api/sessions/" + str(concert.session_id) in dict(k[1]).get("route", "") for k in samples)


@pytest.mark.parametrize("server", ["sqlite"], indirect=True)
def test_request_ids_are_answered_and_logged_as_json(server: Server) -> None:
    client = server.client()
    given = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    made = client.get("/healthz", headers={"X-Request-ID": "bad id; with spaces"}).headers["x-request-id"]
    assert len(made) == 32 and " " not in made
    stream = io.StringIO()
    handler = logs.json_handler(stream)
    logger = logging.getLogger("test.request_ids")
    logger.addHandler(handler)
    token = logs.request_id.set("rid-1")
    try:
        logger.warning("refund for order %s", 7, extra={"order": 7})
    finally:
        logs.request_id.reset(token)
        logger.removeHandler(handler)
    line = json.loads(stream.getvalue().splitlines()[0])
    assert (
        line["request_id"] == "rid-1"
        and line["message"] == "refund for order 7"
        and line["level"] == "WARNING"
    )


def test_sync_server_exposition_is_prometheus_text() -> None:
    stats = [
        {
            "event_id": 3,
            "sold": 10,
            "entries": 4,
            "by_gate": [{"gate": 'north "A"', "entries": 4}],
            "by_zone": [{"zone": "VIP", "entries": 1}],
            "refusals": {"duplicate": 2},
            "conflict_count": 0,
            "scans": 6,
            "devices": [{"device_id": "d1", "gate_id": "north", "online": True, "backlog": None}],
        }
    ]
    samples = _samples(render_metrics(stats, {"scans_received": 6}))
    assert samples[("encore_entries_by_gate", (("event", "3"), ("gate", 'north "A"')))] == 4
    assert samples[("encore_sync_scans_received_total", ())] == 6
    assert samples[("encore_device_online", (("device", "d1"), ("gate", "north")))] == 1
