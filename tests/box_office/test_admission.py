"""Admission control (the on-sale waiting room): the gate on its own, then a real server under a
burst of buyers over HTTP: excess buyers are told 429 with Retry-After, never a 5xx, and
buyers who got in are never refused halfway through their purchase."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from pathlib import Path

import httpx
import pytest

from box_office.api.admission import TICKET_LIFETIME, Gate, QueueTickets, kind_of
from box_office.api.app import create_app
from box_office.notify.sms import CapturingSms
from box_office.store.migrate import upgrade
from tests.box_office.conftest import MailSink, Server, settings_for, start_uvicorn
from tests.box_office.helpers import Concert, grid
from tests.local_services import free_port


def test_which_requests_are_metered() -> None:
    assert kind_of("POST", "/api/sessions/3/holds") == "door"
    assert kind_of("GET", "/api/sessions/3") == "door"
    assert kind_of("POST", "/api/orders") == "inside"
    assert kind_of("POST", "/api/orders/9/payments") == "inside"
    for method, path in [
        ("GET", "/api/orders/9"),  # waits hold nothing
        ("POST", "/api/payments/sandbox/notify"),  # money arriving is never turned away
        ("GET", "/api/sessions/3/live"),
        ("GET", "/api/feed"),
        ("POST", "/api/venues"),
        ("GET", "/healthz"),
    ]:
        assert kind_of(method, path) is None, path


async def test_gate_admits_queues_refuses_and_serves_inside_first() -> None:
    gate = Gate(limit=2, queue=1)
    assert await gate.enter("door") and await gate.enter("door")
    assert gate.running == 2
    queued_door = asyncio.create_task(gate.enter("door"))
    await asyncio.sleep(0)
    assert not await gate.enter("door"), "a second door request beyond the queue must be refused"
    assert gate.retry_after() >= 1
    queued_inside = asyncio.create_task(gate.enter("inside"))  # never refused, however long the line
    await asyncio.sleep(0)
    assert gate.waiting == 2
    gate.leave()  # the freed place goes to the inside request first
    await asyncio.sleep(0)
    assert queued_inside.done() and await queued_inside and not queued_door.done()
    gate.leave()
    assert await asyncio.wait_for(queued_door, 1)
    gate.leave()
    gate.leave()
    assert gate.running == 0 and gate.waiting == 0


async def test_door_is_first_come_first_served_and_an_earlier_ticket_takes_a_later_place() -> None:
    gate = Gate(limit=1, queue=2)
    assert await gate.enter("door", arrival=100.0)
    late = asyncio.create_task(gate.enter("door", arrival=50.0))
    later = asyncio.create_task(gate.enter("door", arrival=60.0))
    await asyncio.sleep(0)
    # The line is full; a buyer who first knocked at 10 (a ticket from an earlier refusal)
    # takes the place of the latest one waiting (60), who is told 429.
    earliest = asyncio.create_task(gate.enter("door", arrival=10.0))
    assert await asyncio.wait_for(later, 1) is False
    # A newcomer (arrival 70) behind a full line of earlier ones is refused at once.
    assert not await gate.enter("door", arrival=70.0)
    gate.leave()
    assert await asyncio.wait_for(earliest, 1) is True
    assert not late.done()
    gate.leave()
    assert await asyncio.wait_for(late, 1)
    gate.leave()
    assert gate.running == 0 and gate.waiting == 0


def test_queue_tickets_are_signed_and_expire() -> None:
    now = [1_000_000.0]
    tickets = QueueTickets(b"secret", clock=lambda: now[0])
    ticket = tickets.issue(now[0] - 30)
    assert tickets.arrival(ticket) == pytest.approx(now[0] - 30)
    stamp, signature = ticket.split(".")
    assert tickets.arrival(f"{int(stamp) - 60_000}.{signature}") is None  # earlier time, same MAC
    assert QueueTickets(b"another secret", clock=lambda: now[0]).arrival(ticket) is None
    for junk in (None, "", "x", "1.2.3", "abc.def", "9" * 200):
        assert tickets.arrival(junk) is None
    now[0] += TICKET_LIFETIME + 60
    assert tickets.arrival(ticket) is None


async def test_a_cancelled_waiter_gives_its_place_on() -> None:
    gate = Gate(limit=1, queue=5)
    assert await gate.enter("door")
    first = asyncio.create_task(gate.enter("door"))
    second = asyncio.create_task(gate.enter("door"))
    await asyncio.sleep(0)
    first.cancel()
    await asyncio.sleep(0)
    gate.leave()
    assert await asyncio.wait_for(second, 1)
    gate.leave()
    assert gate.running == 0


def test_retry_after_grows_with_the_crowd() -> None:
    now = [100.0]
    gate = Gate(limit=1, queue=0, clock=lambda: now[0])

    async def burst(refusals: int) -> None:
        await gate.enter("door")
        for _ in range(refusals):
            assert not await gate.enter("door")
        gate.leave()

    asyncio.run(burst(1))
    small = gate.retry_after()
    now[0] += 2
    asyncio.run(burst(40))
    assert small == 1 and gate.retry_after() > small


@pytest.fixture()
def tight_server(tmp_path: Path, smtp: MailSink) -> Server:
    url = f"sqlite:///{tmp_path / 'tight.sqlite3'}"
    upgrade(url)
    port = free_port()
    settings = settings_for(
        url,
        tmp_path,
        port,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        delivery_interval=3600.0,
        max_inflight=1,
        max_queue=1,
    )
    sms = CapturingSms()
    uv, thread = start_uvicorn(create_app(settings, sms=sms), port)
    yield Server(f"http://127.0.0.1:{port}", "sqlite", sms, smtp, settings)
    uv.should_exit = True
    thread.join(timeout=10)


def test_a_burst_gets_429_with_retry_after_and_no_5xx(tight_server: Server) -> None:
    concert = Concert(tight_server, layout=grid(rows=3, seats=20, ga=200))
    tokens = [
        tight_server.client().post("/api/accounts", json={"email": f"{i}@x.test"}).json()["token"]
        for i in range(40)
    ]

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=tight_server.url, timeout=30) as client:
            return await asyncio.gather(
                *[
                    client.post(
                        f"/api/sessions/{concert.session_id}/holds",
                        json={"ga": [{"area": "FLOOR", "quantity": 1}]},
                        headers={"Authorization": f"Bearer {token}"},
                    )
                    for token in tokens
                ]
            )

    answers = asyncio.run(burst())
    codes = Counter(a.status_code for a in answers)
    assert codes[429] > 0 and codes[201] > 0 and set(codes) <= {201, 429}, codes
    busy = next(a for a in answers if a.status_code == 429)
    assert int(busy.headers["Retry-After"]) >= 1
    assert busy.json()["code"] == "busy" and "try again" in busy.json()["detail"]
    ticket = busy.headers["X-Queue-Ticket"]
    assert QueueTickets(tight_server.settings.secret_key).arrival(ticket) is not None
    # A buyer who got in is not refused further on, whatever the crowd at the door.
    held = next(a for a in answers if a.status_code == 201).json()
    owner = tokens[[a.status_code for a in answers].index(201)]
    buyer = tight_server.client(owner)

    async def crowd_and_order() -> tuple[list[httpx.Response], httpx.Response]:
        async with httpx.AsyncClient(base_url=tight_server.url, timeout=30) as client:
            door = [
                client.post(
                    f"/api/sessions/{concert.session_id}/holds",
                    json={"ga": [{"area": "FLOOR", "quantity": 1}]},
                    headers={"Authorization": f"Bearer {token}"},
                )
                for token in tokens
            ]
            inside = client.post(
                "/api/orders",
                json={"hold_id": held["id"], "email": "in@x.test"},
                headers={"Authorization": f"Bearer {owner}", "Idempotency-Key": uuid.uuid4().hex},
            )
            *doors, made = await asyncio.gather(*door, inside)
            return doors, made

    doors, made = asyncio.run(crowd_and_order())
    assert made.status_code == 201, made.text
    assert all(d.status_code in (201, 429) for d in doors)
    assert buyer.get(f"/api/orders/{made.json()['id']}").json()["status"] == "pending_payment"
