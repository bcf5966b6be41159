"""Console access: sign-in, session cookie flags, CSRF, roles, the audit trail, and that an
organiser never sees or touches another organiser's event, on every console route."""

from __future__ import annotations

import httpx
from fastapi.routing import APIRoute
from sqlalchemy import create_engine, select

from box_office.console import pages
from box_office.console.tables import AuditEntry
from box_office.store.models import Order, SessionGa, SessionSeat
from tests.box_office.conftest import Server
from tests.box_office.helpers import Concert, buy
from tests.console.helpers import PASSWORD, Console, add_user


def _db(server: Server):  # type: ignore[no-untyped-def]
    url = server.settings.database_url
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url)


def _state(server: Server, session_id: int, order_id: int) -> tuple[str, int, list[str]]:
    engine = _db(server)
    with engine.connect() as conn:
        status = conn.scalar(select(Order.status).where(Order.id == order_id))
        capacity = conn.scalar(select(SessionGa.capacity).where(SessionGa.session_id == session_id))
        seats = list(
            conn.scalars(
                select(SessionSeat.status)
                .where(SessionSeat.session_id == session_id)
                .order_by(SessionSeat.id)
            )
        )
    engine.dispose()
    return str(status), int(capacity or 0), seats


def test_sign_in_cookie_flags_csrf_and_sign_out(server: Server) -> None:
    concert = Concert(server)
    email = add_user(concert, "owner")
    anon = httpx.Client(base_url=server.url, timeout=30)
    assert anon.get("/console/").status_code == 303  # to the sign-in page
    assert anon.post("/console/sessions/1/seats", data={"action": "hold"}).status_code == 401
    page = anon.get("/console/login")
    pre = page.cookies.get("console_pre")
    wrong = anon.post("/console/login", data={"email": email, "password": "wrong password!", "pre": pre})
    assert wrong.status_code == 401
    other = add_user(concert, "staff")  # five failures in a row: then even the right password is refused
    for _ in range(5):
        assert (
            anon.post("/console/login", data={"email": other, "password": "wrong", "pre": pre}).status_code
            == 401
        )
    assert (
        anon.post("/console/login", data={"email": other, "password": PASSWORD, "pre": pre}).status_code
        == 429
    )
    forged = httpx.post(
        server.url + "/console/login", data={"email": email, "password": PASSWORD, "pre": "x"}
    )
    assert forged.status_code == 403  # login CSRF: no matching cookie
    console = Console(server, email)
    cookie = console.login.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/console" in cookie
    target = f"/console/sessions/{concert.session_id}/seats"
    assert console.post(target, {"action": "block", "seats": "A-3-1"}, csrf=False).status_code == 403
    assert console.post(target, {"action": "block", "seats": "A-3-1", "csrf": "forged"}).status_code == 403
    assert console.post(target, {"action": "block", "seats": "A-3-1"}).status_code == 303
    assert console.post("/console/logout").status_code == 303
    assert console.get("/console/").status_code == 303


def _routes() -> set[tuple[str, str]]:
    return {
        (method, route.path)
        for route in pages.router.routes
        if isinstance(route, APIRoute)
        for method in route.methods or ()
    }


def test_no_route_reaches_another_organisers_event(server: Server) -> None:
    mine = Concert(server)
    theirs = Concert(server)
    their_order = buy(theirs, theirs.buyer(), seats=["A-2-1"])["id"]
    console = Console(server, add_user(mine, "owner"))
    before = _state(server, theirs.session_id, their_order)
    e, s, o = theirs.event_id, theirs.session_id, their_order
    attempts: dict[tuple[str, str], tuple[str, dict[str, str] | None]] = {
        ("GET", "/console/events/{event_id:int}"): (f"/console/events/{e}", None),
        ("GET", "/console/events/{event_id:int}/orders"): (f"/console/events/{e}/orders?q=", None),
        ("GET", "/console/events/{event_id:int}/export.{fmt}"): (f"/console/events/{e}/export.csv", None),
        ("GET", "/console/sessions/{session_id:int}/stock"): (f"/console/sessions/{s}/stock", None),
        ("POST", "/console/orders/{order_id:int}/refund"): (
            f"/console/orders/{o}/refund",
            {"event_id": str(e)},
        ),
        ("POST", "/console/sessions/{session_id:int}/ga"): (
            f"/console/sessions/{s}/ga",
            {"code": "FLOOR", "capacity": "1"},
        ),
        ("POST", "/console/sessions/{session_id:int}/reprice"): (
            f"/console/sessions/{s}/reprice",
            {"zone": "VIP", "seats": "A-3-1"},
        ),
        ("POST", "/console/sessions/{session_id:int}/seats"): (
            f"/console/sessions/{s}/seats",
            {"action": "block", "seats": "A-1-1"},
        ),
    }
    for (method, _path), (url, data) in attempts.items():
        answer = console.get(url) if method == "GET" else console.post(url, data)
        assert answer.status_code in (403, 404), (url, answer.status_code)
        assert theirs.org.get("/api/venues").status_code == 200
    assert console.get(f"/console/events/{e}/export.xlsx").status_code == 403
    # the set-up form refuses another organiser's venue, next to the field
    made = console.post(
        "/console/events/new", {"venue_id": str(theirs.venue_id), "name": "x", "step": "create"}
    )
    assert made.status_code == 422 and 'data-field="venue_id"' in made.text
    # pages without an event id show only the organiser's own things
    home = console.get("/console/").text
    assert f'data-event="{mine.event_id}"' in home and f'data-event="{e}"' not in home
    form = console.get("/console/events/new").text
    assert f'value="{mine.venue_id}"' in form and f'value="{theirs.venue_id}"' not in form
    # the API: another organiser's analytics are refused
    for suffix in ("", ".csv", ".xlsx"):
        assert mine.org.get(f"/api/events/{e}/analytics{suffix}").status_code == 403
    assert _state(server, theirs.session_id, their_order) == before
    # every console route with an id in its path was tried above (a new route must be added here)
    with_ids = {r for r in _routes() if "{" in r[1]}
    assert with_ids <= set(attempts), with_ids - set(attempts)


def test_role_limits_and_audit(server: Server) -> None:
    concert = Concert(server)
    order_id = buy(concert, concert.buyer(), seats=["A-2-1"])["id"]
    owner = Console(server, add_user(concert, "owner"))
    staff = Console(server, add_user(concert, "staff"))
    finance = Console(server, add_user(concert, "finance"))
    s, e = concert.session_id, concert.event_id
    # staff: no refund, no export, no team; may adjust stock
    assert staff.post(f"/console/orders/{order_id}/refund", {"event_id": str(e)}).status_code == 403
    assert staff.get(f"/console/events/{e}/export.csv").status_code == 403
    assert staff.get("/console/team").status_code == 403
    assert staff.get("/console/audit").status_code == 403
    assert (
        staff.post(f"/console/sessions/{s}/seats", {"action": "hold", "seats": "A-3-2 A-3-3"}).status_code
        == 303
    )
    assert staff.post(f"/console/sessions/{s}/ga", {"code": "FLOOR", "capacity": "12"}).status_code == 303
    moved = staff.post(f"/console/sessions/{s}/reprice", {"zone": "VIP", "seats": "A-3-4"})
    assert moved.status_code == 303
    assert (
        concert.org.get(f"/api/events/{e}/analytics").json()["stock"][0]["capacity"] == 11
    )  # VIP: row 1 + A-3-4
    # finance: no stock changes, no set-up; may export and refund
    assert (
        finance.post(f"/console/sessions/{s}/seats", {"action": "release", "seats": "A-3-2"}).status_code
        == 403
    )
    assert finance.get(f"/console/sessions/{s}/stock").status_code == 403
    assert finance.get("/console/venues/new").status_code == 403
    assert finance.get(f"/console/events/{e}/export.csv").status_code == 200
    orders = finance.get(f"/console/events/{e}/orders").text
    assert f'data-refund="{order_id}"' in orders
    assert f'data-refund="{order_id}"' not in staff.get(f"/console/events/{e}/orders").text
    status, capacity, seats = _state(server, s, order_id)
    assert status == "ticketed" and capacity == 12 and seats.count("reserved") == 2
    assert finance.post(f"/console/orders/{order_id}/refund", {"event_id": str(e)}).status_code == 303
    assert _state(server, s, order_id)[0] == "refunded"
    # owner: adds a staff member in the console; the audit trail says who did what
    added = owner.post(
        "/console/team",
        {"email": f"new-{order_id}@promoter.test", "name": "New", "role": "staff", "password": PASSWORD},
    )
    assert added.status_code == 303
    assert (
        staff.post(
            "/console/team", {"email": "x@promoter.test", "role": "owner", "password": PASSWORD}
        ).status_code
        == 403
    )
    engine = _db(server)
    with engine.connect() as conn:
        rows = conn.execute(
            select(AuditEntry.actor, AuditEntry.action, AuditEntry.outcome, AuditEntry.at)
            .where(AuditEntry.action.in_(["refund", "seats_hold", "ga_quota", "team_add", "export", "seats"]))
            .where(AuditEntry.actor.in_([staff.email, finance.email, owner.email]))
        ).all()
    engine.dispose()
    seen = {(r.actor.split("-")[0], r.action, r.outcome) for r in rows}
    assert ("staff", "refund", "refused") in seen
    assert ("finance", "refund", "ok") in seen
    assert ("staff", "seats_hold", "ok") in seen
    assert ("finance", "seats", "refused") in seen
    assert ("owner", "team_add", "ok") in seen
    assert ("staff", "team_add", "refused") in seen
    assert all(r.at > 0 for r in rows)
    audit_page = owner.get("/console/audit").text
    assert "refund" in audit_page and finance.email in audit_page
