"""The live channel as the seat map page depends on it, read as raw Server-Sent Events over HTTP,
on a box office whose sweeper never runs (so only the live channel's own bookkeeping can say
that a hold ran out)."""

from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.seatmap.conftest import BoxOffice, make_concert, run_box_office


@pytest.fixture(scope="module")
def lazy_box_office(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BoxOffice]:
    tmp: Path = tmp_path_factory.mktemp("seatmap_nosweep")
    yield from run_box_office(f"sqlite:///{tmp / 'box_office.sqlite3'}", tmp, "sqlite", sweep_interval=3600.0)


class Listener:
    """Reads one live stream in a thread and queues (event, data) pairs."""

    def __init__(self, url: str) -> None:
        self.events: queue.Queue[tuple[str, dict[str, object]]] = queue.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(url,), daemon=True)
        self._thread.start()

    def _run(self, url: str) -> None:
        try:
            self._read(url)
        except httpx.TransportError as exc:
            # A stream still open when the test ends times out or is cut by the server's shutdown;
            # before that, the failure reaches the test as an event it does not expect.
            if not self._stop.is_set():
                self.events.put(("error", {"error": repr(exc)}))

    def _read(self, url: str) -> None:
        with (
            httpx.Client(timeout=httpx.Timeout(30.0, read=60.0)) as client,
            client.stream("GET", url) as response,
        ):
            name = ""
            for line in response.iter_lines():
                if self._stop.is_set():
                    return
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: "):
                    self.events.put((name, json.loads(line[6:])))

    def wait_for(self, event: str, label: str, status: str, timeout: float) -> bool:
        """True once an ``event`` says ``label`` is ``status`` within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                name, data = self.events.get(timeout=left)
            except queue.Empty:
                return False
            seats = data.get("seats", data) if name == "snapshot" else data
            if name == event and isinstance(seats, dict) and seats.get(label) == status:
                return True
        return False

    def close(self) -> None:
        self._stop.set()


def test_a_hold_made_before_connecting_is_pushed_back_when_it_runs_out(lazy_box_office: BoxOffice) -> None:
    concert = make_concert(lazy_box_office, hold_seconds=7)
    buyer = concert.buyer()
    held = buyer.post(f"/api/sessions/{concert.session_id}/holds", json={"seats": ["A-3-1", "A-3-2"]})
    assert held.status_code == 201, held.text
    time.sleep(5.5)  # longer ago than the channel re-reads recent changes: only the snapshot knows
    listener = Listener(f"{lazy_box_office.url}/api/sessions/{concert.session_id}/live")
    try:
        assert listener.wait_for("snapshot", "A-3-1", "held", timeout=10)
        assert listener.wait_for("seats", "A-3-1", "available", timeout=10)
    finally:
        listener.close()


@pytest.mark.slow
def test_an_extended_hold_is_not_pushed_back_at_its_first_expiry(lazy_box_office: BoxOffice) -> None:
    concert = make_concert(lazy_box_office, hold_seconds=8)
    listener = Listener(f"{lazy_box_office.url}/api/sessions/{concert.session_id}/live")
    try:
        assert listener.wait_for("snapshot", "A-4-1", "available", timeout=10)
        buyer = concert.buyer()
        held = buyer.post(f"/api/sessions/{concert.session_id}/holds", json={"seats": ["A-4-1", "A-4-2"]})
        assert held.status_code == 201, held.text
        assert listener.wait_for("seats", "A-4-1", "held", timeout=10)
        time.sleep(6)  # longer ago than the channel re-reads recent changes
        # checkout: creating the order extends the hold once, to the session's hold time from now
        order = buyer.post(
            "/api/orders",
            json={"hold_id": held.json()["id"], "email": "x@example.test"},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        assert order.status_code == 201, order.text
        first_expiry = held.json()["expires_at"]
        assert order.json()["expires_at"] > first_expiry
        # past the first expiry the seat is still held for the order being paid: nothing pushed
        assert not listener.wait_for("seats", "A-4-1", "available", timeout=first_expiry - time.time() + 1.0)
        assert concert.statuses()["A-4-1"] == "held"
        # and at the extended expiry it does come back
        assert listener.wait_for(
            "seats", "A-4-1", "available", timeout=order.json()["expires_at"] - time.time() + 5
        )
    finally:
        listener.close()
