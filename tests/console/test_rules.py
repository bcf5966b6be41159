"""The console's pure rules: numbers, roles, masking, the set-up form and its overlap warning."""

from __future__ import annotations

from box_office.analytics import charts, numbers
from box_office.catalog.events import SeatZoneRule
from box_office.console import roles
from box_office.console.auth import check_password, hash_password
from box_office.console.masking import mask_email, mask_phone
from box_office.console.setup_form import overlaps, read_event_form
from box_office.core.layout import SeatSpec

NOW = 1_000_000.0


def test_seat_state_counts_a_lapsed_hold_as_available() -> None:
    assert numbers.seat_state("held", NOW + 1, NOW) == "held"
    assert numbers.seat_state("held", NOW - 1, NOW) == "available"
    assert numbers.seat_state("reserved", None, NOW) == "blocked"
    assert numbers.seat_state("blocked", None, NOW) == "blocked"
    assert numbers.seat_state("sold", None, NOW) == "sold"


def test_stock_by_zone_adds_seats_and_ga_and_skips_removed() -> None:
    seats = [
        numbers.SeatRow("A", "sold", None),
        numbers.SeatRow("A", "held", NOW + 5),
        numbers.SeatRow("A", "held", NOW - 5),
        numbers.SeatRow("A", "removed", None),
        numbers.SeatRow("B", "reserved", None),
    ]
    areas = [numbers.GaRow("F", 10, 2, 3)]
    lines = {
        line.key: line for line in numbers.stock_by_zone(seats, areas, {"A": "Stalls", "F": "Floor"}, NOW)
    }
    assert vars(lines["A"]) == {
        "key": "A", "name": "Stalls", "capacity": 3, "sold": 1, "held": 1, "available": 1, "blocked": 0,
    }  # fmt: skip
    assert (lines["B"].name, lines["B"].blocked, lines["B"].capacity) == ("B", 1, 1)
    assert (lines["F"].capacity, lines["F"].held, lines["F"].sold, lines["F"].available) == (10, 2, 3, 5)


def test_revenue_counts_sold_and_refunded_apart() -> None:
    tickets = [
        numbers.TicketRow("A", "adult", 100, "ticketed", NOW),
        numbers.TicketRow("A", "child", 50, "paid", NOW),
        numbers.TicketRow("A", "adult", 100, "refunded", NOW),
        numbers.TicketRow("A", "adult", 100, "pending_payment", None),
        numbers.TicketRow("A", "adult", 100, "expired", None),
    ]
    (zone,) = numbers.revenue(tickets, "zone", {"A": "Stalls"})
    assert (zone.tickets, zone.revenue_cents, zone.refunded_tickets, zone.refunded_cents) == (2, 150, 1, 100)
    by_type = {line.key: line for line in numbers.revenue(tickets, "ticket_type", {"adult": "Adult"})}
    assert by_type["adult"].revenue_cents == 100 and by_type["child"].name == "child"


def test_sell_through_is_cumulative_per_step() -> None:
    tickets = [numbers.TicketRow("A", "t", 1, "paid", NOW + t) for t in (5, 15, 15, 35)]
    tickets.append(numbers.TicketRow("A", "t", 1, "refunded", NOW + 1))
    points = numbers.sell_through(tickets, 8, NOW, NOW + 40, buckets=4)
    assert [(p[1], p[2]) for p in points] == [(1, 0.125), (3, 0.375), (3, 0.375), (4, 0.5)]
    assert numbers.sell_through(tickets, 8, NOW, NOW, buckets=4) == []


def test_funnel_rates() -> None:
    steps = numbers.funnel(200, 50, 40, 0)
    assert [(s.step, s.count, s.rate) for s in steps] == [
        ("views", 200, None), ("holds", 50, 0.25), ("orders", 40, 0.8), ("paid", 0, 0.0),
    ]  # fmt: skip
    assert numbers.funnel(0, 3, 0, 0)[1].rate is None


def test_roles_table() -> None:
    assert roles.allowed("finance", roles.REFUND) and roles.allowed("owner", roles.REFUND)
    assert not roles.allowed("staff", roles.REFUND)
    assert roles.allowed("staff", roles.STOCK) and not roles.allowed("finance", roles.STOCK)
    assert not roles.allowed("staff", roles.EXPORT) and not roles.allowed("finance", roles.TEAM)
    assert not roles.allowed("owner", "no-such-permission")
    roles.register_permission("promotions", frozenset({"owner", "staff"}))
    assert roles.allowed("staff", "promotions")


def test_passwords_are_salted_and_checked() -> None:
    one, two = hash_password("a long password"), hash_password("a long password")
    assert (
        one != two and check_password("a long password", one) and not check_password("a long passwore", one)
    )
    assert not check_password("x", "md5$abc")


def test_masking() -> None:
    assert mask_email("alice@example.com") == "a***e@example.com"
    assert mask_email("al@x.cn") == "a***@x.cn"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone(None) == ""


def _seat(section: str, row: str, number: str) -> SeatSpec:
    return SeatSpec(section, row, number, int(number), int(row), float(number), float(row))


def test_overlapping_zone_rules_are_named_with_the_winner() -> None:
    seats = [_seat("A", r, n) for r in ("1", "2") for n in ("1", "2")]
    rules = [
        SeatZoneRule("VIP", rows=("1",)),
        SeatZoneRule("B", sections=("A",)),
        SeatZoneRule("C", seats=("A-2-2",)),
    ]
    found = overlaps(rules, seats)
    assert [(o.first, o.later, o.seats, o.winner) for o in found] == [
        (1, 2, ("A-1-1", "A-1-2"), "B"),
        (2, 3, ("A-2-2",), "C"),
    ]
    assert overlaps([SeatZoneRule("VIP", rows=("1",)), SeatZoneRule("B", rows=("2",))], seats) == []


def test_event_form_puts_each_error_on_its_field() -> None:
    form = {
        "name": "",
        "currency": "RMBX",
        "venue_id": "x",
        "zones": "VIP,VIP,88O",
        "ticket_types": "adult,Adult,weird",
        "starts_at": "tomorrow",
        "ends_at": "2026-12-31T23:00",
        "sale_starts_at": "2026-12-01T10:00",
        "sale_ends_at": "2026-11-01T10:00",
        "seat_zones": "VIP rows=1",
        "limit_per_account": "0",
    }
    errors = read_event_form(form).errors
    assert set(errors) == {
        "name", "currency", "venue_id", "zones", "ticket_types", "starts_at", "sale_ends_at", "seat_zones",
        "limit_per_account",
    }  # fmt: skip
    good = read_event_form(
        {
            "name": "Gala",
            "currency": "cny",
            "venue_id": "3",
            "zones": "VIP,VIP seats,880\nA,Stalls,480.50",
            "ticket_types": "adult,Adult\nbox,Box,box",
            "timezone": "Asia/Shanghai",
            "starts_at": "2026-12-31T20:00",
            "ends_at": "2026-12-31T23:00",
            "sale_starts_at": "2026-12-01T10:00",
            "sale_ends_at": "2026-12-31T20:00",
            "seat_zones": "VIP: rows=1,2\nA: seats=A-9-1",
            "ga": "FLOOR,A,300",
        }
    )
    assert good.errors == {} and good.session is not None
    assert [z.price_cents for z in good.zones] == [88000, 48050]
    assert good.currency == "CNY" and good.types[1].kind == "box"
    assert good.session.starts_at == 1798718400.0  # 20:00 in Shanghai is 12:00 UTC
    assert good.session.seat_zones[0].rows == ("1", "2") and good.session.ga[0].capacity == 300


def test_charts_escape_labels_and_scale() -> None:
    svg = charts.line_chart([(0, 0), (10, 5)], title="<b>", y_max=10)
    assert "&lt;b&gt;" in svg and "<b>" not in svg and "polyline" in svg
    bars = charts.bar_chart([("views", 10, "10"), ("paid", 5, "5")], title="f")
    assert bars.count("<rect") == 2


def test_waiting_room_peaks_keep_the_longest_line_per_minute(tmp_path: object) -> None:
    from pathlib import Path

    from box_office.analytics.views import WaitingPeaks
    from box_office.console.tables import WaitingRoomPeak
    from box_office.context import Context
    from box_office.store.db import Database
    from box_office.store.migrate import upgrade
    from box_office.vault import Vault
    from tests.box_office.conftest import settings_for

    url = f"sqlite:///{Path(str(tmp_path)) / 'peaks.sqlite3'}"
    upgrade(url)
    settings = settings_for(url, Path(str(tmp_path)), 1)
    ctx = Context(settings=settings, db=Database(url), vault=Vault(settings.secret_key))
    one, two = WaitingPeaks(), WaitingPeaks()  # two processes
    for length in (3, 9, 4):
        one.note(600.0, length)
    one.note(660.0, 2)
    two.note(610.0, 7)
    two.note(670.0, 5)
    assert one.flush(ctx) == 2 and two.flush(ctx) == 2 and one.flush(ctx) == 0
    with ctx.db.read() as db:
        rows = {r.minute: r.peak for r in db.query(WaitingRoomPeak)}
    ctx.db.dispose()
    assert rows == {10: 9, 11: 5}


def test_set_up_form_errors_are_translated_for_chinese_pages() -> None:
    from box_office.console.i18n import field_error

    errors = read_event_form({"name": "", "currency": "x", "sale_starts_at": "2026-12-02T10:00"}).errors
    zh = {k: field_error(v, "zh") for k, v in errors.items()}
    assert zh["name"] == "必填" and zh["currency"] == "三个字母，如 CNY" and zh["venue_id"] == "请选择场馆"
    assert zh["starts_at"].startswith("请填写日期和时间")
    assert field_error(errors["name"], "en") == "required"
