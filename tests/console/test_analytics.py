"""Analytics after a scripted sale with a refund and a live hold: the API, CSV and XLSX agree
with each other and with the database's own counts."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook
from sqlalchemy import create_engine, func, select

from box_office.store.models import Order, SessionGa, SessionSeat
from tests.box_office.conftest import Server
from tests.box_office.helpers import Concert, buy, hold, order, pay, wait_status


def _engine(server: Server):  # type: ignore[no-untyped-def]
    url = server.settings.database_url
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url)


def test_numbers_after_a_scripted_sale_match_the_database(server: Server) -> None:
    concert = Concert(server)
    s = concert.session_id
    anon = server.client()
    for _ in range(5):
        assert anon.get(f"/api/sessions/{s}/seatmap").status_code == 200
    buy(concert, concert.buyer(), seats=["A-1-1", "A-1-2"])  # VIP, adult: 2 x 500.00
    child_buyer = concert.buyer()
    held = hold(child_buyer, s, seats=["A-2-1"])
    made = order(child_buyer, held.json()["id"], tickets=[{"seat": "A-2-1", "ticket_type": "child"}])
    assert made.status_code == 201, made.text
    pay(child_buyer, made.json()["id"])
    assert wait_status(child_buyer, made.json()["id"], "ticketed")["status"] == "ticketed"
    floor = buy(concert, concert.buyer(), ga=[{"area": "FLOOR", "quantity": 2}])  # 2 x 150.00, refunded
    refunded = concert.org.post(f"/api/organiser/orders/{floor['id']}/refund")
    assert refunded.status_code == 200 and refunded.json()["status"] == "refunded", refunded.text
    assert hold(concert.buyer(), s, seats=["A-3-1"]).status_code == 201  # a live hold, no order

    report = concert.org.get(f"/api/events/{concert.event_id}/analytics").json()
    stock = {line["key"]: line for line in report["stock"]}
    assert {k: (v["capacity"], v["sold"], v["held"], v["available"]) for k, v in stock.items()} == {
        "VIP": (10, 2, 0, 8),
        "A": (20, 1, 1, 18),
        "FLOOR": (20, 0, 0, 20),
        "BOX": (0, 0, 0, 0),
    }
    zones = {line["key"]: line for line in report["revenue_by_zone"]}
    assert zones["VIP"]["name"] == "VIP" and zones["A"]["name"] == "Stalls"
    assert (zones["VIP"]["tickets"], zones["VIP"]["revenue_cents"]) == (2, 100000)
    assert (zones["A"]["tickets"], zones["A"]["revenue_cents"]) == (1, 10000)
    assert (
        zones["FLOOR"]["revenue_cents"],
        zones["FLOOR"]["refunded_tickets"],
        zones["FLOOR"]["refunded_cents"],
    ) == (
        0,
        2,
        30000,
    )
    types = {line["key"]: line for line in report["revenue_by_ticket_type"]}
    assert types["child"]["name"] == "Child" and types["child"]["tickets"] == 1
    assert types["adult"]["name"] == "Adult" and types["adult"]["revenue_cents"] == 100000
    funnel = {step["step"]: step["count"] for step in report["funnel"]}
    assert funnel == {"views": 5, "holds": 4, "orders": 3, "paid": 3}
    # the waiting room's line was noted as requests arrived (no line in this test: peaks of 0)
    assert report["waiting_room"] and report["waiting_room_peak"] == 0
    assert report["sell_through"][-1]["tickets"] == 3
    assert report["sell_through"][-1]["share"] == round(3 / 50, 4)

    # the database's own counts
    engine = _engine(server)
    with engine.connect() as conn:
        sold_seats = conn.scalar(
            select(func.count()).where(SessionSeat.session_id == s, SessionSeat.status == "sold")
        )
        ga_sold = conn.scalar(select(func.sum(SessionGa.sold)).where(SessionGa.session_id == s))
        revenue = conn.scalar(
            select(func.sum(Order.total_cents)).where(
                Order.session_id == s, Order.status.in_(["paid", "ticketed"])
            )
        )
    engine.dispose()
    assert report["totals"]["sold"] == sold_seats + ga_sold == 3
    assert report["totals"]["revenue_cents"] == revenue == 110000
    assert report["totals"]["refunded_cents"] == 30000

    # CSV and XLSX carry the same numbers
    text = concert.org.get(f"/api/events/{concert.event_id}/analytics.csv").text
    rows = list(csv.reader(io.StringIO(text)))
    vip = next(r for r in rows if r[0] == "revenue_by_zone" and r[1] == "VIP")
    assert vip[3:5] == ["2", "100000"]
    book = load_workbook(
        io.BytesIO(concert.org.get(f"/api/events/{concert.event_id}/analytics.xlsx").content)
    )
    summary = {row[0]: row[1] for row in book["summary"].iter_rows(values_only=True)}
    assert summary["revenue_cents"] == 110000 and summary["sold"] == 3
    funnel_sheet = list(book["funnel"].iter_rows(values_only=True))
    assert funnel_sheet[1][:2] == ("views", 5)
    # one session of the event, and a session of another event refused
    one = concert.org.get(f"/api/events/{concert.event_id}/analytics", params={"session_id": s})
    assert one.status_code == 200 and one.json()["totals"] == report["totals"]
    other = Concert(server)
    assert (
        concert.org.get(
            f"/api/events/{concert.event_id}/analytics", params={"session_id": other.session_id}
        ).status_code
        == 404
    )
