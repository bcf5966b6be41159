"""The console's pages at ``/console/``: sign-in, events, the live sales view, orders and
refunds, stock, venue and event set-up, the team and the audit trail.

Every page resolves the signed-in user from the session cookie, checks the role's permission
(``roles``) and that the event, session or order belongs to the user's organiser
(``catalog.ownership``), and every POST checks the CSRF token and writes an audit line, for a
refused attempt too. A refusal is an HTML page with the use case's message and status.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from functools import partial
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from sqlalchemy import or_, select
from starlette.concurrency import run_in_threadpool

from box_office.aftersales import refunds
from box_office.analytics import charts, export, queries
from box_office.analytics.views import ViewCounter, WaitingPeaks
from box_office.api.deps import AppState
from box_office.catalog import changes, events, venues
from box_office.catalog.ownership import owned_event, owned_session
from box_office.console import audit, auth, roles
from box_office.console.drawing import seat_svg
from box_office.console.i18n import PAGES, field_error
from box_office.console.masking import mask_email, mask_phone
from box_office.console.setup_form import overlaps, parse_rules, read_event_form
from box_office.console.shell import SESSION_COOKIE, NavItem, language, register_nav, render, when
from box_office.core.layout import LayoutError, parse_csv_layout, parse_json_layout
from box_office.errors import ServiceError
from box_office.store.models import Event, Order, Session, SessionGa, SessionSeat, Ticket, Venue, Zone

router = APIRouter(prefix="/console", include_in_schema=False)

register_nav(NavItem("events", "/console/", {"en": "Events", "zh": "活动"}, roles.VIEW, 10))
register_nav(
    NavItem("venue_new", "/console/venues/new", {"en": "New venue", "zh": "新建场馆"}, roles.SETUP, 20)
)
register_nav(
    NavItem("event_new", "/console/events/new", {"en": "New event", "zh": "新建活动"}, roles.SETUP, 21)
)
register_nav(NavItem("team", "/console/team", {"en": "Team", "zh": "团队"}, roles.TEAM, 80))
register_nav(NavItem("audit", "/console/audit", {"en": "Audit", "zh": "审计日志"}, roles.TEAM, 81))


class LoginRequired(Exception):
    pass


class PageRefused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _app(request: Request) -> AppState:
    state: AppState = request.app.state.box_office
    return state


async def _user(request: Request) -> auth.ConsoleUserView:
    token = request.cookies.get(SESSION_COOKIE)
    user = await run_in_threadpool(auth.current_user, _app(request).ctx, token)
    if user is None:
        raise LoginRequired()
    return user


def _need(request: Request, user: auth.ConsoleUserView, permission: str, action: str, target: str) -> None:
    if not user.may(permission):
        audit.record(
            _app(request).ctx, user, action, target, "refused", reason=f"role {user.role} lacks {permission}"
        )
        raise PageRefused(403, f"your role ({user.role}) may not do this ({permission})")


async def _form(request: Request, user: auth.ConsoleUserView) -> dict[str, str]:
    """The posted form, once its CSRF token matches the login's."""
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    try:
        auth.check_csrf(user, values.get("csrf") or request.headers.get("x-csrf-token"))
    except ServiceError as exc:
        await run_in_threadpool(audit.record, _app(request).ctx, user, "csrf", request.url.path, "refused")
        raise PageRefused(exc.status, exc.message) from None
    return values


async def _call(work: Callable[..., Any], *args: Any) -> Any:
    try:
        return await run_in_threadpool(work, *args)
    except ServiceError as exc:
        raise PageRefused(exc.status, exc.message) from None


def _page(
    request: Request, user: auth.ConsoleUserView | None, template: str, page: str, **context: Any
) -> HTMLResponse:
    return render(
        request, user, template, context, PAGES.get(page, {}), status_code=context.pop("status_code", 200)
    )


def _back(url: str, notice: str = "") -> RedirectResponse:
    sep = "&" if "?" in url else "?"
    return RedirectResponse(url + (f"{sep}notice={notice}" if notice else ""), status_code=303)


# ------------------------------------------------------------------ sign-in


@router.get("/login")
async def login_page(request: Request) -> HTMLResponse:
    pre = secrets.token_urlsafe(24)
    response = _page(request, None, "console/login.html", "login", error="", pre=pre)
    response.set_cookie("console_pre", pre, max_age=3600, httponly=True, samesite="strict", path="/console")
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    email, password = str(form.get("email", "")), str(form.get("password", ""))
    # Login CSRF: the browser must send the same value in the form and in a SameSite cookie.
    pre = request.cookies.get("console_pre")
    if not pre or form.get("pre") != pre:
        return _page(
            request, None, "console/login.html", "login", error="csrf", pre=pre or "", status_code=403
        )
    throttle: auth.LoginThrottle = request.app.state.console_logins
    now = _app(request).ctx.now()
    keys = ["email:" + email.strip().lower()]
    if throttle.blocked(keys, now):
        return _page(
            request, None, "console/login.html", "login", error="throttled", pre=pre, status_code=429
        )
    try:
        token, user = await run_in_threadpool(auth.sign_in, _app(request).ctx, email, password)
    except ServiceError:
        throttle.failed(keys, now)
        return _page(
            request, None, "console/login.html", "login", error="bad_login", pre=pre, status_code=401
        )
    throttle.succeeded(keys[0])
    await run_in_threadpool(audit.record, _app(request).ctx, user, "sign_in", user.email)
    response = RedirectResponse("/console/", status_code=303)
    secure = _app(request).ctx.settings.public_url.startswith("https://")
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=auth.LOGIN_SECONDS,
        httponly=True,
        samesite="lax",
        secure=secure,
        path="/console",
    )
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    user = await _user(request)
    await _form(request, user)
    token = request.cookies.get(SESSION_COOKIE, "")
    await run_in_threadpool(auth.sign_out, _app(request).ctx, token)
    await run_in_threadpool(audit.record, _app(request).ctx, user, "sign_out", user.email)
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/console")
    return response


# ------------------------------------------------------------------ events and the live view


def _events(ctx: Any, organiser_id: int) -> list[dict[str, Any]]:
    with ctx.db.read() as db:
        rows = db.execute(
            select(Event.id, Event.name, Venue.name)
            .join(Venue, Venue.id == Event.venue_id)
            .where(Event.organiser_id == organiser_id)
            .order_by(Event.id.desc())
        ).all()
    return [{"id": r[0], "name": r[1], "venue": r[2]} for r in rows]


@router.get("/")
async def home(request: Request) -> HTMLResponse:
    user = await _user(request)
    ctx = _app(request).ctx
    listed = await run_in_threadpool(_events, ctx, user.organiser_id)
    venue_list = await run_in_threadpool(venues.list_venues, ctx, user.organiser_id)
    return _page(request, user, "console/home.html", "home", events=listed, venues=venue_list)


def _views(request: Request) -> ViewCounter:
    counter: ViewCounter = request.app.state.seatmap_views
    return counter


async def _report(request: Request, user: auth.ConsoleUserView, event_id: int) -> dict[str, Any]:
    raw = request.query_params.get("session")
    session_id = int(raw) if raw and raw.isdigit() else None
    work = partial(queries.event_report, views=_views(request), waiting=request.app.state.waiting_peaks)
    return dict(await _call(work, _app(request).ctx, user.organiser_id, event_id, session_id))


@router.get("/events/{event_id:int}")
async def dashboard(request: Request, event_id: int) -> HTMLResponse:
    user = await _user(request)
    report = await _report(request, user, event_id)
    lang = language(request)
    t = PAGES["dashboard"][lang]
    capacity = report["totals"]["capacity"] or 1
    points = [(p["at"], p["tickets"]) for p in report["sell_through"]]
    first = when(points[0][0]) if points else ""
    last = when(points[-1][0]) if points else ""
    sell_chart = charts.line_chart(points, title=t["sell_through"], y_max=capacity, x_labels=(first, last))
    steps = {"views": t["f_views"], "holds": t["f_holds"], "orders": t["f_orders"], "paid": t["f_paid"]}
    funnel_chart = charts.bar_chart(
        [
            (
                steps[s["step"]],
                s["count"],
                f"{s['count']}" + (f" ({s['rate']:.0%})" if s["rate"] is not None else ""),
            )
            for s in report["funnel"]
        ],
        title=t["funnel"],
    )
    peaks = [(w["at"], w["peak"]) for w in report["waiting_room"]]
    waiting_chart = (
        charts.line_chart(peaks, title=t["waiting"], x_labels=(when(peaks[0][0]), when(peaks[-1][0])))
        if peaks
        else ""
    )
    return _page(
        request,
        user,
        "console/dashboard.html",
        "dashboard",
        report=report,
        sell_chart=sell_chart,
        funnel_chart=funnel_chart,
        event_id=event_id,
        waiting_chart=waiting_chart,
    )


@router.get("/events/{event_id:int}/export.{fmt}")
async def export_report(request: Request, event_id: int, fmt: str) -> Response:
    user = await _user(request)
    _need(request, user, roles.EXPORT, "export", f"event {event_id}")
    if fmt not in ("csv", "xlsx"):
        raise PageRefused(404, "export as csv or xlsx")
    report = await _report(request, user, event_id)
    await run_in_threadpool(audit.record, _app(request).ctx, user, "export", f"event {event_id}", format=fmt)
    name = f"event-{event_id}-sales.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if fmt == "csv":
        return PlainTextResponse(export.to_csv(report), media_type="text/csv; charset=utf-8", headers=headers)
    body = await run_in_threadpool(export.to_xlsx, report)
    media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(body, media_type=media, headers=headers)


# ------------------------------------------------------------------ orders and refunds


def search_orders(ctx: Any, organiser_id: int, event_id: int, query: str) -> list[dict[str, Any]]:
    """Orders of the event matching an order number, an e-mail or a phone (shown masked)."""
    query = query.strip()
    with ctx.db.read() as db:
        owned_event(db, organiser_id, event_id)
        statement = (
            select(Order, Session.name)
            .join(Session, Session.id == Order.session_id)
            .where(Session.event_id == event_id)
            .order_by(Order.id.desc())
            .limit(100)
        )
        if query:
            wanted: list[Any] = [Order.email.ilike(f"%{query}%"), Order.phone.ilike(f"%{query}%")]
            if query.lstrip("#").isdigit():
                wanted.append(Order.id == int(query.lstrip("#")))
            statement = statement.where(or_(*wanted))
        rows = db.execute(statement).all()
        counts: dict[int, int] = {}
        for order_id in db.scalars(
            select(Ticket.order_id).where(Ticket.order_id.in_([o.id for o, _ in rows]))
        ):
            counts[order_id] = counts.get(order_id, 0) + 1
    return [
        {
            "id": o.id,
            "session": name,
            "status": o.status,
            "total_cents": o.total_cents,
            "currency": o.currency,
            "email": mask_email(o.email),
            "phone": mask_phone(o.phone),
            "tickets": counts.get(o.id, 0),
            "created_at": o.created_at,
        }
        for o, name in rows
    ]


@router.get("/events/{event_id:int}/orders")
async def orders_page(request: Request, event_id: int) -> HTMLResponse:
    user = await _user(request)
    _need(request, user, roles.ORDERS, "orders", f"event {event_id}")
    query = request.query_params.get("q", "")
    found = await _call(search_orders, _app(request).ctx, user.organiser_id, event_id, query)
    return _page(
        request,
        user,
        "console/orders.html",
        "orders",
        orders=found,
        q=query,
        event_id=event_id,
        may_refund=user.may(roles.REFUND),
        notice=request.query_params.get("notice", ""),
    )


@router.post("/orders/{order_id:int}/refund")
async def refund(request: Request, order_id: int) -> Response:
    user = await _user(request)
    form = await _form(request, user)
    _need(request, user, roles.REFUND, "refund", f"order {order_id}")
    app = _app(request)
    try:
        await app.with_provider(
            partial(refunds.cancel_order, account_id=None, organiser_id=user.organiser_id),
            app.ctx,
            app.providers,
            order_id,
        )
    except ServiceError as exc:
        await run_in_threadpool(
            audit.record, app.ctx, user, "refund", f"order {order_id}", "refused", reason=exc.message
        )
        raise PageRefused(exc.status, exc.message) from None
    app.order_watch.settled([order_id])
    await run_in_threadpool(audit.record, app.ctx, user, "refund", f"order {order_id}")
    event_id = form.get("event_id", "")
    return _back(f"/console/events/{event_id}/orders" if event_id.isdigit() else "/console/", "refunded")


# ------------------------------------------------------------------ stock


def _stock(ctx: Any, organiser_id: int, session_id: int) -> dict[str, Any]:
    with ctx.db.read() as db:
        session, event = owned_session(db, organiser_id, session_id)
        seats = db.execute(
            select(
                SessionSeat.label,
                SessionSeat.x,
                SessionSeat.y,
                SessionSeat.status,
                SessionSeat.hold_expires_at,
            )
            .where(SessionSeat.session_id == session_id)
            .order_by(SessionSeat.id)
        ).all()
        areas = db.scalars(
            select(SessionGa).where(SessionGa.session_id == session_id).order_by(SessionGa.id)
        ).all()
        zones = db.execute(
            select(Zone.code, Zone.name, Zone.price_cents).where(Zone.event_id == event.id)
        ).all()
        now = ctx.now()
        drawn = [
            (
                r.label,
                r.x,
                r.y,
                "available" if r.status == "held" and (r.hold_expires_at or 0) < now else r.status,
            )
            for r in seats
        ]
        counts: dict[str, int] = {}
        for _, _, _, kind in drawn:
            counts[kind] = counts.get(kind, 0) + 1
        return {
            "event": {"id": event.id, "name": event.name},
            "session": {"id": session.id, "name": session.name, "starts_at": session.starts_at},
            "areas": [
                {"code": a.code, "name": a.name, "capacity": a.capacity, "held": a.held, "sold": a.sold}
                for a in areas
            ],
            "map": seat_svg(drawn),
            "zones": [{"code": z.code, "name": z.name, "price_cents": z.price_cents} for z in zones],
            "currency": event.currency,
            "counts": counts,
        }


@router.get("/sessions/{session_id:int}/stock")
async def stock_page(request: Request, session_id: int) -> HTMLResponse:
    user = await _user(request)
    _need(request, user, roles.STOCK, "stock", f"session {session_id}")
    data = await _call(_stock, _app(request).ctx, user.organiser_id, session_id)
    return _page(
        request, user, "console/stock.html", "stock", notice=request.query_params.get("notice", ""), **data
    )


@router.post("/sessions/{session_id:int}/ga")
async def set_quota(request: Request, session_id: int) -> Response:
    user = await _user(request)
    form = await _form(request, user)
    _need(request, user, roles.STOCK, "ga_quota", f"session {session_id}")
    code = form.get("code", "")
    try:
        capacity = int(form.get("capacity", ""))
    except ValueError:
        raise PageRefused(422, "the quota must be a whole number") from None
    ctx = _app(request).ctx
    await _audited(
        ctx,
        user,
        "ga_quota",
        f"session {session_id} area {code}",
        changes.set_ga_quota,
        ctx,
        user.organiser_id,
        session_id,
        code,
        capacity,
        capacity=capacity,
    )
    return _back(f"/console/sessions/{session_id}/stock", "saved")


SEAT_ACTIONS = {"hold": "reserved", "release": "available", "block": "blocked"}


@router.post("/sessions/{session_id:int}/seats")
async def set_seats(request: Request, session_id: int) -> Response:
    user = await _user(request)
    form = await _form(request, user)
    _need(request, user, roles.STOCK, "seats", f"session {session_id}")
    status = SEAT_ACTIONS.get(form.get("action", ""))
    labels = [s for s in form.get("seats", "").replace(",", " ").split() if s]
    if status is None or not labels:
        raise PageRefused(422, "choose hold, release or block, and list seat labels")
    ctx = _app(request).ctx
    await _audited(
        ctx,
        user,
        "seats_" + form["action"],
        f"session {session_id}",
        changes.set_seat_status,
        ctx,
        user.organiser_id,
        session_id,
        labels,
        status,
        seats=labels[:50],
    )
    return _back(f"/console/sessions/{session_id}/stock", "saved")


async def _audited(
    ctx: Any,
    user: auth.ConsoleUserView,
    action: str,
    target: str,
    work: Callable[..., Any],
    *args: Any,
    **detail: Any,
) -> Any:
    """Run a change and audit it, whether it went through or was refused."""
    try:
        result = await run_in_threadpool(work, *args)
    except ServiceError as exc:
        await run_in_threadpool(
            partial(audit.record, ctx, user, action, target, "refused", reason=exc.message, **detail)
        )
        raise PageRefused(exc.status, exc.message) from None
    await run_in_threadpool(partial(audit.record, ctx, user, action, target, **detail))
    return result


@router.post("/sessions/{session_id:int}/reprice")
async def reprice(request: Request, session_id: int) -> Response:
    """Move unsold seats to another price zone (the price by zone changes with it)."""
    user = await _user(request)
    form = await _form(request, user)
    _need(request, user, roles.STOCK, "reprice", f"session {session_id}")
    labels = [s for s in form.get("seats", "").replace(",", " ").split() if s]
    zone = form.get("zone", "").strip()
    if not labels or not zone:
        raise PageRefused(422, "list seat labels and choose a zone")
    ctx = _app(request).ctx
    await _audited(
        ctx, user, "reprice", f"session {session_id}", changes.reprice_seats,
        ctx, user.organiser_id, session_id, labels, zone, seats=labels[:50], zone=zone,
    )  # fmt: skip
    return _back(f"/console/sessions/{session_id}/stock", "saved")


# ------------------------------------------------------------------ set-up: venues


def _parse_layout(form: dict[str, str]) -> Any:
    text = form.get("layout", "")
    name = form.get("name", "").strip() or "Venue"
    if form.get("format") == "csv":
        return parse_csv_layout(text, name)
    data = json.loads(text)
    if isinstance(data, dict) and form.get("name", "").strip():
        data["name"] = name
    return parse_json_layout(data)


@router.get("/venues/new")
async def venue_page(request: Request) -> HTMLResponse:
    user = await _user(request)
    _need(request, user, roles.SETUP, "venue_new", "venue")
    return _page(
        request, user, "console/venue_new.html", "venue", form={"format": "json"}, errors={}, preview=""
    )


@router.post("/venues/new")
async def venue_submit(request: Request) -> Response:
    user = await _user(request)
    form = await _form(request, user)
    _need(request, user, roles.SETUP, "venue_new", "venue")
    errors: dict[str, str] = {}
    layout = None
    try:
        layout = _parse_layout(form)
    except (LayoutError, ValueError) as exc:
        errors["layout"] = str(exc)
    preview = ""
    if layout is not None:
        preview = seat_svg((s.label, s.x, s.y, "available") for s in layout.seats)
    if errors or layout is None or form.get("step") != "create":
        status = 422 if errors else 200
        return _page(
            request,
            user,
            "console/venue_new.html",
            "venue",
            form=form,
            errors=errors,
            preview=preview,
            layout=layout,
            status_code=status,
        )
    ctx = _app(request).ctx
    venue_id = await _audited(
        ctx,
        user,
        "venue_new",
        f"venue {layout.name}",
        venues.create_venue,
        ctx,
        user.organiser_id,
        layout,
        seats=len(layout.seats),
    )
    return _back("/console/", f"venue{venue_id}")


# ------------------------------------------------------------------ set-up: events


def _venue_seats(ctx: Any, organiser_id: int, venue_id: int) -> Any:
    return venues.venue_layout(ctx, organiser_id, venue_id).seats


@router.get("/events/new")
async def event_page(request: Request) -> HTMLResponse:
    user = await _user(request)
    _need(request, user, roles.SETUP, "event_new", "event")
    venue_list = await run_in_threadpool(venues.list_venues, _app(request).ctx, user.organiser_id)
    return _page(
        request, user, "console/event_new.html", "event", venues=venue_list, form={}, errors={}, warnings=[]
    )


@router.post("/events/new")
async def event_submit(request: Request) -> Response:
    user = await _user(request)
    form = await _form(request, user)
    _need(request, user, roles.SETUP, "event_new", "event")
    ctx = _app(request).ctx
    venue_list = await run_in_threadpool(venues.list_venues, ctx, user.organiser_id)
    parsed = read_event_form(form)
    warnings: list[Any] = []
    if parsed.venue_id is not None and "seat_zones" not in parsed.errors:
        if parsed.venue_id not in {v["id"] for v in venue_list}:
            parsed.errors["venue_id"] = "not one of your venues"
        else:
            seats = await run_in_threadpool(_venue_seats, ctx, user.organiser_id, parsed.venue_id)
            warnings = overlaps(parse_rules(form.get("seat_zones", "")), seats)
    if parsed.errors or form.get("step") != "create" or parsed.session is None or parsed.venue_id is None:
        status = 422 if parsed.errors else 200
        return _page(
            request,
            user,
            "console/event_new.html",
            "event",
            venues=venue_list,
            form=form,
            errors={k: field_error(v, language(request)) for k, v in parsed.errors.items()},
            warnings=warnings,
            status_code=status,
        )
    try:
        event_id = await run_in_threadpool(
            events.create_event,
            ctx,
            user.organiser_id,
            parsed.venue_id,
            parsed.name,
            parsed.currency,
            parsed.zones,
            parsed.types,
        )
        await run_in_threadpool(events.create_session, ctx, user.organiser_id, event_id, parsed.session)
    except ServiceError as exc:
        parsed.errors["form"] = exc.message
        await run_in_threadpool(
            partial(audit.record, ctx, user, "event_new", parsed.name, "refused", reason=exc.message)
        )
        return _page(
            request,
            user,
            "console/event_new.html",
            "event",
            venues=venue_list,
            form=form,
            errors={k: field_error(v, language(request)) for k, v in parsed.errors.items()},
            warnings=warnings,
            status_code=exc.status,
        )
    await run_in_threadpool(
        partial(audit.record, ctx, user, "event_new", f"event {event_id}", name=parsed.name)
    )
    return _back(f"/console/events/{event_id}", "created")


# ------------------------------------------------------------------ team and audit


@router.get("/team")
async def team_page(request: Request) -> HTMLResponse:
    user = await _user(request)
    _need(request, user, roles.TEAM, "team", "team")
    members = await run_in_threadpool(auth.team, _app(request).ctx, user.organiser_id)
    return _page(
        request,
        user,
        "console/team.html",
        "team",
        members=members,
        errors={},
        notice=request.query_params.get("notice", ""),
    )


@router.post("/team")
async def team_add(request: Request) -> Response:
    user = await _user(request)
    form = await _form(request, user)
    _need(request, user, roles.TEAM, "team_add", "team")
    ctx = _app(request).ctx
    await _audited(
        ctx,
        user,
        "team_add",
        form.get("email", ""),
        partial(auth.create_user, by=user),
        ctx,
        user.organiser_id,
        form.get("email", ""),
        form.get("name", ""),
        form.get("role", ""),
        form.get("password", ""),
        role=form.get("role", ""),
    )
    return _back("/console/team", "added")


@router.get("/audit")
async def audit_page(request: Request) -> HTMLResponse:
    user = await _user(request)
    _need(request, user, roles.TEAM, "audit", "audit")
    entries = await run_in_threadpool(audit.recent, _app(request).ctx, user.organiser_id)
    return _page(request, user, "console/audit.html", "audit", entries=entries)


# ------------------------------------------------------------------ assets and install


@router.get("/assets/console.css")
async def css() -> Response:
    from box_office.console.shell import TEMPLATES

    body = (TEMPLATES.parent / "static" / "console.css").read_text(encoding="utf-8")
    return Response(body, media_type="text/css; charset=utf-8", headers={"Cache-Control": "no-cache"})


def install(app: FastAPI) -> None:
    """Mount the console on the box office app: its routes, its HTML refusals, its view counter."""
    if not hasattr(app.state, "seatmap_views"):
        app.state.seatmap_views = ViewCounter()
        app.state.waiting_peaks = WaitingPeaks()
        app.state.console_logins = auth.LoginThrottle()

    def flush(ctx: Any) -> None:
        """Write the seat-map views and waiting-room peaks counted in memory (every 5 s)."""
        app.state.seatmap_views.flush(ctx)
        app.state.waiting_peaks.flush(ctx)

    app.state.console_flush = flush
    app.include_router(router)

    async def login_required(request: Request, _exc: Exception) -> Response:
        if request.method == "GET":
            return RedirectResponse("/console/login", status_code=303)
        return PlainTextResponse("sign in first", status_code=401)

    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PageRefused)
        return _page(
            request, None, "console/error.html", "error", message=exc.message, status_code=exc.status
        )

    app.add_exception_handler(LoginRequired, login_required)
    app.add_exception_handler(PageRefused, refused)


# What other features' console pages use (see box_office/console/README.md).
signed_in_user = _user
"""The signed-in console user of a request; raises LoginRequired (a redirect to the sign-in page)."""
require = _need
"""Refuse (403, audited) unless the user's role has the permission."""
posted_form = _form
"""The posted form once its CSRF token is checked."""
