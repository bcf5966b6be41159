"""The buyer's own pages (issue #13), served by the box office under ``/me/``: sign in with an
SMS or e-mailed code (or a passkey), my orders with their timeline, an order with its tickets,
the tickets page that keeps working with no signal (a web app manifest and a service worker),
and the step-up page for sensitive actions. Chinese or English from the browser, with a switch.

These are pages, not the API: they use the session cookie and CSRF-protected forms (see
``buyer_session``), so they are left out of the OpenAPI document. No SQL here: the reads are
``buyers.order_pages``, the rules ``buyers``/``core.otp``.
"""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from box_office.api.deps import Id, State
from box_office.buyers import accounts, order_pages, otp
from box_office.buyers.delivery import deliver
from box_office.errors import ServiceError
from box_office.web import buyer_session as session
from box_office.web.buyer_texts import TEXTS, language
from ticket_format.qr import qr_png

TEMPLATES = Path(__file__).parent / "buyer_templates"
STATIC = Path(__file__).parent / "static"
env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
router = APIRouter(include_in_schema=False)
AFTER_SALES = ("refund", "exchange", "transfer", "invoice")
PRIVATE = {"Cache-Control": "private, no-store", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin"}
Text = Annotated[str, Form(max_length=254)]


def lang_of(request: Request) -> str:
    return language(
        request.query_params.get("lang"),
        request.cookies.get(session.LANG_COOKIE),
        request.headers.get("accept-language"),
    )


def render(request: Request, name: str, status: int = 200, **values: Any) -> HTMLResponse:
    app = request.app.state.box_office
    lang = lang_of(request)
    response = HTMLResponse(status_code=status, headers=PRIVATE)
    session.device_cookie(app.ctx.settings, request, response)
    values.setdefault("signed_in", session.signed_in(app.ctx, request) is not None)
    html = env.get_template(name).render(
        lang=lang,
        t=TEXTS[lang],
        csrf=session.csrf_token(app.ctx.settings, request),
        when=lambda at: _when(at, lang),
        money=_money,
        seat=lambda ticket: _seat(ticket, lang),
        **values,
    )
    response.body = response.render(html)
    response.headers["content-length"] = str(len(response.body))
    if request.query_params.get("lang") in ("zh", "en"):
        response.set_cookie(session.LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", path="/")
    return response


def _when(at: float | None, lang: str) -> str:
    if not at:
        return ""
    moment = time.localtime(at)
    return time.strftime("%Y-%m-%d %H:%M", moment)


def _money(cents: int, currency: str) -> str:
    symbol = {"CNY": "¥", "USD": "$", "EUR": "€", "HKD": "HK$"}.get(currency, currency + " ")
    return f"{symbol}{cents // 100:,}.{cents % 100:02d}"


def _seat(ticket: dict[str, Any], lang: str) -> str:
    if ticket.get("seat"):
        section, row, number = [*ticket["seat"].split("-", 2), "", ""][:3]
        if lang == "zh":
            return f"{section}区 {row}排 {number}号"
        return f"Section {section}, row {row}, seat {number}"
    return str(TEXTS[lang]["general_admission"]) + (f" · {ticket['area']}" if ticket.get("area") else "")


def _qr(token: str | None) -> str | None:
    return None if not token else "data:image/png;base64," + base64.b64encode(qr_png(token)).decode()


def safe_next(value: str | None) -> str:
    """Only a path of this site (no open redirect)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value[:500]
    return "/me/orders"


def to_sign_in(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    from urllib.parse import quote

    return RedirectResponse(f"/me/signin?next={quote(target, safe='/')}", status_code=303, headers=PRIVATE)


def error_text(request: Request, exc: ServiceError) -> str:
    return str(TEXTS[lang_of(request)]["errors"].get(exc.code, exc.message))


def not_found(request: Request) -> HTMLResponse:
    t = TEXTS[lang_of(request)]
    return render(
        request,
        "message.html",
        404,
        title=t["not_found"],
        heading=t["not_found"],
        message=t["not_found_text"],
        link="/me/orders",
        link_label=t["back"],
    )


@router.get("/me", response_class=HTMLResponse)
def home() -> RedirectResponse:
    return RedirectResponse("/me/orders", status_code=303)


@router.get("/me/signin", response_class=HTMLResponse)
def sign_in_page(request: Request, next: Annotated[str | None, Query(max_length=500)] = None) -> HTMLResponse:
    return render(request, "signin.html", title=TEXTS[lang_of(request)]["sign_in"], next=safe_next(next))


@router.post("/me/signin", response_class=HTMLResponse)
async def send_code(
    request: Request, app: State, csrf: Text = "", next: Text = "", channel: Text = "sms", target: Text = ""
) -> HTMLResponse:
    t = TEXTS[lang_of(request)]
    try:
        session.check_csrf(app.ctx.settings, request, csrf)
        kind = "email" if channel == "email" else "sms"
        normalised = otp.normalised(kind, target)
        device = session.device_cookie(app.ctx.settings, request, Response())
        sent = await run_in_threadpool(
            otp.create,
            app.ctx,
            kind,
            normalised,
            purpose="sign_in",
            ip=_ip(request),
            device=device.rsplit(".", 1)[0],
        )
        await app.with_provider(deliver, app.ctx, app.mailer, app.sms, sent, lang_of(request))
    except ServiceError as exc:
        return render(
            request,
            "signin.html",
            exc.status,
            title=t["sign_in"],
            next=safe_next(next),
            error=error_text(request, exc),
        )
    return render(
        request,
        "code.html",
        title=t["enter_code"],
        next=safe_next(next),
        challenge=sent.challenge,
        sent_to=sent.masked,
        action="/me/signin/verify",
    )


@router.post("/me/signin/verify", response_class=HTMLResponse)
async def verify_code(
    request: Request, app: State, csrf: Text = "", next: Text = "", challenge: Text = "", code: Text = ""
) -> Response:
    t = TEXTS[lang_of(request)]
    try:
        session.check_csrf(app.ctx.settings, request, csrf)
        checked = await run_in_threadpool(otp.check, app.ctx, challenge, code, "sign_in")
    except ServiceError as exc:
        return render(
            request,
            "code.html",
            exc.status,
            title=t["enter_code"],
            next=safe_next(next),
            challenge=challenge,
            sent_to="",
            action="/me/signin/verify",
            error=error_text(request, exc),
        )
    account_id, _ = await run_in_threadpool(
        accounts.account_for_identity, app.ctx, checked.channel, checked.target
    )
    response = RedirectResponse(safe_next(next), status_code=303, headers=PRIVATE)
    device = session.device_cookie(app.ctx.settings, request, response).rsplit(".", 1)[0]
    await run_in_threadpool(
        session.start, app.ctx, response, account_id, device, request.cookies.get(session.SESSION_COOKIE)
    )
    return response


@router.post("/me/signout", response_class=HTMLResponse)
async def sign_out(request: Request, app: State, csrf: Text = "") -> Response:
    try:
        session.check_csrf(app.ctx.settings, request, csrf)
    except ServiceError as exc:
        return render(
            request, "message.html", 403, title="Encore", heading="Encore", message=error_text(request, exc)
        )
    response = RedirectResponse("/me/signin", status_code=303, headers=PRIVATE)
    await run_in_threadpool(session.end, app.ctx, request, response)
    return response


@router.get("/me/orders", response_class=HTMLResponse)
async def orders_page(request: Request, app: State) -> Response:
    who = await run_in_threadpool(session.signed_in, app.ctx, request)
    if who is None:
        return to_sign_in(request)
    orders = await run_in_threadpool(order_pages.my_orders, app.ctx, who.account_id)
    return render(
        request, "orders.html", title=TEXTS[lang_of(request)]["my_orders"], orders=orders, signed_in=True
    )


def _after_sales(request: Request, order: dict[str, Any]) -> list[dict[str, Any]]:
    """The after-sales buttons: each leads to ``/me/orders/{id}/<kind>`` once that page exists
    (the after-sales flows are built elsewhere), else it shows as coming."""
    t = TEXTS[lang_of(request)]
    paths = {getattr(route, "path", "") for route in request.app.router.routes}
    return [
        {
            "key": kind,
            "label": t[kind],
            "href": f"/me/orders/{order['id']}/{kind}",
            "ready": f"/me/orders/{{order_id}}/{kind}" in paths and order["status"] in ("paid", "ticketed"),
        }
        for kind in AFTER_SALES
    ]


@router.get("/me/orders/{order_id}", response_class=HTMLResponse)
async def order_page(order_id: Id, request: Request, app: State) -> Response:
    who = await run_in_threadpool(session.signed_in, app.ctx, request)
    if who is None:
        return to_sign_in(request)
    try:
        order = await run_in_threadpool(order_pages.my_order, app.ctx, who.account_id, order_id)
    except ServiceError:  # none, or another buyer's: the same answer
        return not_found(request)
    for ticket in order["tickets"]:
        ticket["qr"] = _qr(ticket["token"])
    return render(
        request,
        "order.html",
        title=order["event_name"],
        o=order,
        after_sales=_after_sales(request, order),
        signed_in=True,
    )


@router.get("/me/tickets", response_class=HTMLResponse)
async def tickets_page(request: Request, app: State) -> Response:
    who = await run_in_threadpool(session.signed_in, app.ctx, request)
    if who is None:
        return to_sign_in(request)
    tickets = await run_in_threadpool(order_pages.my_tickets, app.ctx, who.account_id)
    for ticket in tickets:
        ticket["qr"] = _qr(ticket["token"])
    return render(
        request, "tickets.html", title=TEXTS[lang_of(request)]["my_tickets"], tickets=tickets, signed_in=True
    )


@router.get("/me/account", response_class=HTMLResponse)
async def account_page(request: Request, app: State) -> Response:
    who = await run_in_threadpool(session.signed_in, app.ctx, request)
    if who is None:
        return to_sign_in(request)
    known = await run_in_threadpool(accounts.identities, app.ctx, who.account_id)
    from box_office.core.otp import mask_target

    count = await run_in_threadpool(accounts.passkey_count, app.ctx, who.account_id)
    return render(
        request,
        "account.html",
        title=TEXTS[lang_of(request)]["account"],
        signed_in=True,
        phone=mask_target("sms", known["phone"]) if "phone" in known else None,
        email=mask_target("email", known["email"]) if "email" in known else None,
        passkeys=count,
    )


@router.get("/me/step-up", response_class=HTMLResponse)
async def step_up_page(
    request: Request,
    app: State,
    next: Annotated[str | None, Query(max_length=500)] = None,
    action: Annotated[str, Query(max_length=20)] = "account",
) -> Response:
    who = await run_in_threadpool(session.signed_in, app.ctx, request)
    if who is None:
        return to_sign_in(request)
    has_passkey = await run_in_threadpool(accounts.has_passkey, app.ctx, who.account_id)
    return render(
        request,
        "step_up.html",
        title=TEXTS[lang_of(request)]["confirm_it_is_you"],
        next=safe_next(next),
        action=action,
        passkey=has_passkey,
        signed_in=True,
    )


@router.post("/me/step-up", response_class=HTMLResponse)
async def step_up_send(
    request: Request, app: State, csrf: Text = "", next: Text = "", action: Text = "account"
) -> Response:
    t = TEXTS[lang_of(request)]
    who = await run_in_threadpool(session.signed_in, app.ctx, request)
    if who is None:
        return to_sign_in(request)
    try:
        session.check_csrf(app.ctx.settings, request, csrf)
        known = await run_in_threadpool(accounts.identities, app.ctx, who.account_id)
        channel = "sms" if "phone" in known else "email"
        target = known[accounts.KIND_OF_CHANNEL[channel]]
        sent = await run_in_threadpool(
            otp.create,
            app.ctx,
            channel,
            target,
            purpose="step_up",
            ip=_ip(request),
            device=who.device or f"ip:{_ip(request)}",
            account_id=who.account_id,
        )
        await app.with_provider(deliver, app.ctx, app.mailer, app.sms, sent, lang_of(request), action)
    except (ServiceError, KeyError) as exc:
        message = error_text(request, exc) if isinstance(exc, ServiceError) else ""
        return render(
            request,
            "step_up.html",
            403,
            title=t["confirm_it_is_you"],
            next=safe_next(next),
            action=action,
            error=message,
            signed_in=True,
        )
    return render(
        request,
        "code.html",
        title=t["enter_code"],
        next=safe_next(next),
        challenge=sent.challenge,
        sent_to=sent.masked,
        action="/me/step-up/verify",
        signed_in=True,
    )


@router.post("/me/step-up/verify", response_class=HTMLResponse)
async def step_up_verify(
    request: Request, app: State, csrf: Text = "", next: Text = "", challenge: Text = "", code: Text = ""
) -> Response:
    t = TEXTS[lang_of(request)]
    who = await run_in_threadpool(session.signed_in, app.ctx, request)
    if who is None:
        return to_sign_in(request)
    try:
        session.check_csrf(app.ctx.settings, request, csrf)
        checked = await run_in_threadpool(otp.check, app.ctx, challenge, code, "step_up")
        if checked.account_id != who.account_id:
            raise ServiceError("another account's code", "otp_unknown")
    except ServiceError as exc:
        return render(
            request,
            "code.html",
            403,
            title=t["enter_code"],
            next=safe_next(next),
            challenge=challenge,
            sent_to="",
            action="/me/step-up/verify",
            error=error_text(request, exc),
            signed_in=True,
        )
    await run_in_threadpool(accounts.stamp_page_step_up, app.ctx, request.cookies[session.SESSION_COOKIE])
    return RedirectResponse(safe_next(next), status_code=303, headers=PRIVATE)


@router.post("/me/api-token")
async def api_token(request: Request, app: State) -> Response:
    """A bearer token for the seat map page's script, from the signed-in page session. Only the
    page's own script can ask (a custom header, which a cross-site form cannot send)."""
    import json

    if request.headers.get("x-encore-page") != "1":
        return Response(
            json.dumps({"detail": "not from this site's page", "code": "csrf"}),
            403,
            media_type="application/json",
        )
    who = await run_in_threadpool(session.signed_in, app.ctx, request)
    if who is None:
        return Response(
            json.dumps({"detail": "sign in first", "code": "signed_out"}), 401, media_type="application/json"
        )
    response = Response(media_type="application/json", headers=PRIVATE)
    device = session.device_cookie(app.ctx.settings, request, response)
    token = await run_in_threadpool(
        accounts.issue_token, app.ctx, who.account_id, "api", device.rsplit(".", 1)[0]
    )
    known = await run_in_threadpool(accounts.identities, app.ctx, who.account_id)
    body = json.dumps({"token": token, "device_id": device, "email": known.get("email", "")}).encode()
    response.body = body
    response.headers["content-length"] = str(len(body))
    return response


@router.post("/me/step-up-proof")
async def step_up_proof(request: Request, app: State) -> Response:
    """A single-use API step-up proof for the seat map's script, if this page session signed in
    or stepped up (SMS code or passkey) within the last 5 minutes; else 403 and the script sends
    the buyer to ``/me/step-up``."""
    import json

    who = await run_in_threadpool(session.signed_in, app.ctx, request)
    if (
        request.headers.get("x-encore-page") != "1"
        or who is None
        or not accounts.page_stepped_up(app.ctx, who)
    ):
        body = {"detail": "confirm it is you first: /me/step-up", "code": "step_up_required"}
        return Response(json.dumps(body), 403, media_type="application/json")
    proof = await run_in_threadpool(accounts.issue_step_up, app.ctx, who.account_id, "page")
    return Response(json.dumps({"step_up": proof}), media_type="application/json", headers=PRIVATE)


def step_up_redirect(request: Request, action: str) -> RedirectResponse | None:
    """For pages of sensitive actions (refund, transfer, holder change: the after-sales pages):
    None if this session stepped up within 5 minutes, else where to send the buyer first."""
    from urllib.parse import quote

    app = request.app.state.box_office
    who = session.signed_in(app.ctx, request)
    if who is not None and accounts.page_stepped_up(app.ctx, who):
        return None
    here = quote(request.url.path, safe="/")
    return RedirectResponse(f"/me/step-up?action={action}&next={here}", status_code=303, headers=PRIVATE)


@router.get("/me/manifest.webmanifest")
def manifest(request: Request) -> Response:
    zh = lang_of(request) == "zh"
    body = {
        "name": "Encore 门票" if zh else "Encore tickets",
        "short_name": "门票" if zh else "Tickets",
        "start_url": "/me/tickets",
        "scope": "/me/",
        "display": "standalone",
        "background_color": "#f4f6f8",
        "theme_color": "#1f3a5f",
        "icons": [{"src": "/me/icon.svg", "sizes": "any", "type": "image/svg+xml", "purpose": "any"}],
    }
    import json

    return Response(json.dumps(body, ensure_ascii=False), media_type="application/manifest+json")


@router.get("/me/icon.svg")
def icon() -> Response:
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 96 96"><rect width="96" height="96" rx="18" '
        'fill="#1f3a5f"/><text x="48" y="62" font-size="44" text-anchor="middle" fill="#fff" '
        'font-family="sans-serif">E</text></svg>'
    )
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "max-age=86400"})


@router.get("/me/sw.js")
def service_worker() -> FileResponse:
    return FileResponse(
        STATIC / "buyer-sw.js",
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/me/"},
    )


@router.get("/me/assets/passkey.js")
def passkey_script() -> FileResponse:
    return FileResponse(
        STATIC / "passkey.js",
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "no-cache"},
    )


def _ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"
