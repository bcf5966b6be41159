"""Group-buy (拼团) end to end over HTTP with sandbox payments (SQLite and PostgreSQL): a group
fills and everyone's tickets are issued; payments racing for the last place: the first wins,
the other is refunded; a group that runs out of time refunds every member and the seats return."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx

from box_office.context import Context
from box_office.promotions import group_buy
from box_office.wiring import default_providers
from tests.box_office.conftest import Server
from tests.box_office.helpers import Concert, pay, wait_status
from tests.promotions.helpers import held_order, make


def group_campaign(concert: Concert, size: int, seconds: int) -> dict[str, Any]:
    return make(
        concert.org,
        f"/api/events/{concert.event_id}/campaigns",
        {
            "kind": "group",
            "name": f"{size}人团",
            "adjust": {"mode": "set", "value": 9900},
            "scope": {"zones": ["A"]},
            "size": size,
            "time_limit_seconds": seconds,
            "per_buyer": 2,
        },
    )


def sweep(server: Server) -> int:
    ctx = Context.from_settings(server.settings)
    try:
        return group_buy.sweep(ctx, default_providers(server.settings))
    finally:
        ctx.db.dispose()


def paid_order(concert: Concert, buyer: httpx.Client, **body: Any) -> dict[str, Any]:
    body.setdefault("email", f"{uuid.uuid4().hex[:10]}@group.test")
    made = held_order(concert, buyer, **body)
    assert made.status_code == 201, made.text
    assert made.json()["total_cents"] == 9900
    pay(buyer, made.json()["id"])
    return dict(made.json())


def told(server: Server, email: str, subject: str, timeout: float = 15.0) -> str:
    """The body of the group notice ``subject`` (zh part) e-mailed to ``email``, waiting for delivery."""
    deadline = time.monotonic() + timeout
    while True:
        for message in server.smtp.messages:
            if message["To"] == email and str(message["Subject"]).startswith(subject):
                return str(message.get_content())
        assert time.monotonic() < deadline, f"{email} was never told {subject}"
        time.sleep(0.1)


def test_group_fills_and_everyone_gets_tickets(server: Server) -> None:
    concert = Concert(server)
    campaign = group_campaign(concert, size=2, seconds=600)
    leader = concert.buyer()
    opened = paid_order(concert, leader, group_open=campaign["id"])
    assert wait_status(leader, opened["id"], "paid")["status"] == "paid"  # waits for the group
    groups = server.client().get(f"/api/sessions/{concert.session_id}/groups").json()
    assert [(g["size"], g["paid"], g["missing"]) for g in groups] == [(2, 1, 1)]
    joiner = concert.buyer()
    joined = paid_order(concert, joiner, group_join=groups[0]["id"])
    assert wait_status(joiner, joined["id"], "ticketed")["status"] == "ticketed"
    assert wait_status(leader, opened["id"], "ticketed")["status"] == "ticketed"
    assert server.client().get(f"/api/groups/{groups[0]['id']}").json()["status"] == "formed"
    assert "还差 1 人" in told(server, opened["email"], "拼团已开") and "1 more needed" in told(
        server, opened["email"], "拼团已开"
    )
    assert "Your tickets are issued" in told(server, opened["email"], "拼团成功")
    assert "拼团成功" in told(server, joined["email"], "拼团成功")
    assert server.client().get(f"/api/sessions/{concert.session_id}/groups").json() == []
    too_many = held_order(concert, concert.buyer(), group_open=campaign["id"])
    assert too_many.status_code == 201  # a new group can always be opened
    closed = held_order(concert, concert.buyer(), group_join=groups[0]["id"])
    assert closed.status_code == 409 and closed.json()["code"] == "group_closed"
    report = concert.org.get(f"/api/events/{concert.event_id}/groups.csv").text.strip().splitlines()
    assert (
        report[0].startswith("group,campaign")
        and report[1].endswith(tuple("0123456789"))
        and len(report) == 3
    )
    assert ",2,2,formed," in report[1] and ",opening," in report[2]


def test_race_for_the_last_place_and_an_unfilled_group_refunded(server: Server) -> None:
    concert = Concert(server)
    campaign = group_campaign(concert, size=2, seconds=600)
    short = group_campaign(concert, size=2, seconds=2)
    leader = concert.buyer()
    opened = paid_order(concert, leader, group_open=campaign["id"])
    assert wait_status(leader, opened["id"], "paid")["status"] == "paid"
    group_id = server.client().get(f"/api/sessions/{concert.session_id}/groups").json()[0]["id"]
    first, second = concert.buyer(), concert.buyer()
    a = held_order(concert, first, group_join=group_id, email=f"{uuid.uuid4().hex[:10]}@group.test").json()
    b = held_order(concert, second, group_join=group_id, email=f"{uuid.uuid4().hex[:10]}@group.test").json()
    pay(first, a["id"])
    assert wait_status(first, a["id"], "ticketed")["status"] == "ticketed"
    pay(second, b["id"])  # the group is full: this payment lost the race
    assert wait_status(second, b["id"], "paid")["status"] == "paid"
    assert sweep(server) == 1
    assert wait_status(second, b["id"], "refunded")["status"] == "refunded"
    assert "refunded" in told(server, b["email"], "拼团已满")
    assert wait_status(leader, opened["id"], "ticketed")["status"] == "ticketed"

    # a second group runs out of time with one paying member: refunded, seat back on sale
    lonely = concert.buyer()
    alone = paid_order(concert, lonely, group_open=short["id"])
    assert wait_status(lonely, alone["id"], "paid")["status"] == "paid"
    seat = alone["tickets"][0]["seat"]
    group = server.client().get(f"/api/sessions/{concert.session_id}/groups").json()[0]
    deadline = time.monotonic() + 20
    while time.time() <= group["expires_at"]:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert sweep(server) == 1
    refunded = wait_status(lonely, alone["id"], "refunded")
    assert refunded["status"] == "refunded"
    assert [p["status"] for p in refunded["payments"]] == ["refunded"]  # through the sandbox provider
    assert server.client().get(f"/api/groups/{group['id']}").json()["status"] == "failed"
    assert "已原路退回" in told(server, alone["email"], "拼团未成功")
    seats = server.client().get(f"/api/sessions/{concert.session_id}").json()["seats"]
    assert {s["label"]: s["status"] for s in seats}[seat] == "available"
