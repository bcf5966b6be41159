"""Routes for buyers: seat maps, holds, orders, payment, tickets; and the provider's callback."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response, status
from starlette.concurrency import run_in_threadpool

from box_office.aftersales import holders, refunds
from box_office.api import errors, schemas
from box_office.api.deps import BuyerId, Id, ProviderName, State, TicketId
from box_office.buyers import devices, step_up_rules
from box_office.buyers.accounts import require_account_creation_open, spend_step_up
from box_office.catalog import events, principals, seat_map
from box_office.core.orders import PENDING_PAYMENT, UNSETTLED
from box_office.core.payment_rules import choose_channel
from box_office.errors import Conflict, NotFound
from box_office.sales import checkout, holds, refunding, settle, views
from ticket_format.qr import qr_png

router = APIRouter(prefix="/api", tags=["buyers"])
DeviceId = Annotated[
    str | None,
    Header(
        min_length=1,
        max_length=100,
        description="The device id this server issued at sign-in (per-device limits count it; "
        "a made-up value counts as no device, and the account stands for its device)",
    ),
]
StepUp = Annotated[
    str | None,
    Header(
        min_length=1,
        max_length=100,
        description="Proof of a fresh SMS code or passkey (POST /api/me/step-up/verify): "
        "refunds, holder changes and payments above the event's step-up amount need it",
    ),
]
IdempotencyKey = Annotated[str, Header(min_length=1, max_length=100, description="Unique per order attempt")]


@router.post(
    "/accounts",
    status_code=status.HTTP_201_CREATED,
    summary="Create a buyer account and its token",
    description="A development shortcut (on with the sandbox, never in production): buyers sign in "
    "with a code (`POST /api/auth/sms`), else 403 `verification_required`.",
    responses=errors.responses(403, 409, 422),
)
def create_account(body: schemas.AccountIn, app: State) -> dict[str, Any]:
    require_account_creation_open(app.ctx.settings)
    account_id, token = principals.create_account(app.ctx, body.email, body.name, body.phone)
    return {"id": account_id, "email": body.email, "token": token}


@router.get(
    "/events/{event_id}",
    tags=["catalog"],
    summary="An event: zones, ticket types, sessions",
    responses=errors.responses(404),
)
def get_event(event_id: Id, app: State) -> dict[str, Any]:
    return events.event_info(app.ctx, event_id)


@router.get(
    "/sessions/{session_id}",
    tags=["catalog"],
    summary="A session's seat map with live status and GA stock",
    responses=errors.responses(404, 429),
)
def get_seat_map(session_id: Id, app: State) -> dict[str, Any]:
    return seat_map.seat_map(app.ctx, session_id)


@router.post(
    "/sessions/{session_id}/holds",
    status_code=status.HTTP_201_CREATED,
    summary="Hold seats or GA places",
    responses=errors.responses(401, 403, 404, 409, 422, 429),
)
def create_hold(
    session_id: Id,
    body: schemas.HoldIn,
    buyer: BuyerId,
    app: State,
    request: Request,
    x_device_id: DeviceId = None,
) -> dict[str, Any]:
    hold = holds.HoldRequest(
        seats=tuple(body.seats),
        best_zone=body.best_available.zone if body.best_available else None,
        best_quantity=body.best_available.quantity if body.best_available else 0,
        best_accessible=body.best_available.accessible if body.best_available else False,
        ga=tuple((g.area, g.quantity) for g in body.ga),
    )
    device = devices.counted(app.ctx.settings, x_device_id, request.cookies.get(devices.COOKIE), buyer)
    return holds.create_hold(app.ctx, buyer, device, session_id, hold)


@router.get(
    "/holds/{hold_id}", summary="A hold and when it expires", responses=errors.responses(401, 403, 404)
)
def get_hold(hold_id: Id, buyer: BuyerId, app: State) -> dict[str, Any]:
    return holds.get_hold(app.ctx, buyer, hold_id)


@router.delete("/holds/{hold_id}", summary="Release a hold", responses=errors.responses(401, 403, 404, 409))
def release_hold(hold_id: Id, buyer: BuyerId, app: State) -> dict[str, Any]:
    return holds.release_hold(app.ctx, buyer, hold_id)


@router.post(
    "/holds/{hold_id}/extend",
    summary="Extend a hold once (at checkout)",
    responses=errors.responses(401, 403, 404, 409),
)
def extend_hold(hold_id: Id, buyer: BuyerId, app: State) -> dict[str, Any]:
    return holds.extend_hold_once(app.ctx, buyer, hold_id)


@router.post(
    "/orders",
    status_code=status.HTTP_201_CREATED,
    summary="Create an order from a hold (idempotent)",
    responses=errors.responses(401, 403, 404, 409, 422),
)
async def create_order(
    body: schemas.OrderIn,
    buyer: BuyerId,
    app: State,
    response: Response,
    idempotency_key: IdempotencyKey,
    request: Request,
    x_device_id: DeviceId = None,
    x_step_up: StepUp = None,
) -> dict[str, Any]:
    provider = (
        None if body.pay_with is None else settle.provider_named(app.providers, body.pay_with, "pay_with")
    )
    wanted = checkout.OrderRequest(
        hold_id=body.hold_id,
        email=body.email,
        phone=body.phone,
        tickets=tuple(
            checkout.TicketRequest(
                seat=t.seat,
                area=t.area,
                ticket_type=t.ticket_type,
                holder=None
                if t.holder is None
                else checkout.Holder(t.holder.name, t.holder.id_type, t.holder.id_number),
            )
            for t in body.tickets
        ),
        coupon=body.coupon,
        group_open=body.group_open,
        group_join=body.group_join,
    )
    device = devices.counted(app.ctx.settings, x_device_id, request.cookies.get(devices.COOKIE), buyer)
    view, created = await run_in_threadpool(
        checkout.create_order, app.ctx, buyer, device, idempotency_key, wanted
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    if provider is not None and view["status"] == PENDING_PAYMENT:
        await run_in_threadpool(step_up_rules.check_payment, app.ctx, buyer, view["id"], x_step_up)
        view["payment"] = await app.with_provider(
            settle.start_payment,
            app.ctx,
            provider,
            buyer,
            view["id"],
            view if created else None,
        )
    return view


@router.get("/orders", summary="The buyer's orders with their tickets", responses=errors.responses(401))
def list_orders(buyer: BuyerId, app: State) -> list[dict[str, Any]]:
    return views.list_orders(app.ctx, buyer)


@router.get(
    "/orders/{order_id}",
    summary="One order; with wait=S, held until it settles (at most S s)",
    responses=errors.responses(401, 403, 404),
)
async def get_order(
    order_id: Id,
    buyer: BuyerId,
    app: State,
    wait: Annotated[
        float,
        Query(
            ge=0,
            le=30,
            description="Seconds to hold the answer while the order is pending_payment or paid: "
            "it comes back the moment the tickets are issued (or the order expires), instead of polling",
        ),
    ] = 0,
) -> dict[str, Any]:
    view = await run_in_threadpool(views.get_order, app.ctx, buyer, order_id)
    if wait > 0 and view["status"] in UNSETTLED:
        await app.order_watch.wait(order_id, wait)
        view = await run_in_threadpool(views.get_order, app.ctx, buyer, order_id)
    return view


@router.post(
    "/orders/{order_id}/payments",
    status_code=status.HTTP_201_CREATED,
    summary="Pay: get a payment URL / QR",
    responses=errors.responses(401, 403, 404, 409, 422),
)
async def start_payment(
    order_id: Id,
    body: schemas.PaymentIn,
    buyer: BuyerId,
    app: State,
    request: Request,
    x_step_up: StepUp = None,
) -> dict[str, Any]:
    await run_in_threadpool(step_up_rules.check_payment, app.ctx, buyer, order_id, x_step_up)
    provider = settle.provider_named(app.providers, body.provider, "provider")
    offered = tuple(getattr(provider, "channels", ("default",)))
    if not body.openid:  # JSAPI needs the payer's openid (from WeChat's OAuth): without it, a QR
        offered = tuple(c for c in offered if c != "jsapi") or offered
    channel = choose_channel(request.headers.get("user-agent", ""), body.channel, offered)
    return await app.with_provider(
        partial(
            settle.start_payment,
            channel=channel,
            client_ip=request.client.host if request.client else "",
            payer_openid=body.openid or "",
            return_url=body.return_url or "",
        ),
        app.ctx,
        provider,
        buyer,
        order_id,
    )


@router.get(
    "/orders/{order_id}/refunds",
    summary="The refunds of an order's payments and how each stands",
    responses=errors.responses(401, 403, 404),
)
def order_refunds(order_id: Id, buyer: BuyerId, app: State) -> list[dict[str, Any]]:
    return refunding.order_refunds(app.ctx, order_id, account_id=buyer)


@router.post(
    "/orders/{order_id}/reconcile",
    summary="Ask the provider about an open payment",
    responses=errors.responses(401, 403, 404, 409),
)
async def reconcile(order_id: Id, buyer: BuyerId, app: State) -> dict[str, Any]:
    view = await app.with_provider(settle.reconcile_payment, app.ctx, app.providers, buyer, order_id)
    app.order_watch.settled([order_id])
    return view


@router.post(
    "/orders/{order_id}/cancel",
    summary="Cancel an unpaid order, or refund a paid one before entry",
    responses=errors.responses(401, 403, 404, 409),
)
async def cancel(order_id: Id, buyer: BuyerId, app: State, x_step_up: StepUp = None) -> dict[str, Any]:
    await run_in_threadpool(step_up_rules.check_cancel, app.ctx, buyer, order_id, x_step_up)
    view = await app.with_provider(
        partial(refunds.cancel_order, account_id=buyer, organiser_id=None), app.ctx, app.providers, order_id
    )
    app.order_watch.settled([order_id])
    return view


@router.get("/tickets", summary="The buyer's tickets with their status", responses=errors.responses(401))
def list_tickets(buyer: BuyerId, app: State) -> list[dict[str, Any]]:
    return views.list_tickets(app.ctx, buyer)


@router.get(
    "/tickets/{ticket_id}",
    summary="A ticket, its QR text and its check-ins",
    responses=errors.responses(401, 403, 404),
)
def get_ticket(ticket_id: TicketId, buyer: BuyerId, app: State) -> dict[str, Any]:
    view, checkins = views.get_ticket(app.ctx, buyer, ticket_id)
    return view | {"checkins": checkins}


@router.get(
    "/tickets/{ticket_id}/qr.png",
    summary="The ticket's QR code",
    responses=errors.responses(401, 403, 404, 409, ok={"content": {"image/png": {}}}),
    response_class=Response,
)
def ticket_qr(ticket_id: TicketId, buyer: BuyerId, app: State) -> Response:
    view, _ = views.get_ticket(app.ctx, buyer, ticket_id)
    if view["token"] is None:
        raise Conflict(f"ticket {ticket_id} is {view['status']}: it has no valid QR", "bad_state")
    return Response(qr_png(view["token"]), media_type="image/png")


@router.put(
    "/tickets/{ticket_id}/holder",
    summary="Name a new holder on a real-name ticket",
    responses=errors.responses(401, 403, 404, 409, 422),
)
def change_holder(
    ticket_id: TicketId, body: schemas.HolderIn, buyer: BuyerId, app: State, x_step_up: StepUp = None
) -> dict[str, object]:
    spend_step_up(app.ctx, buyer, x_step_up, "a change of ticket holder")
    return holders.change_holder(app.ctx, buyer, ticket_id, body.name, body.id_type, body.id_number)


@router.post(
    "/payments/{provider}/notify",
    tags=["payments"],
    summary="Signed payment notification from a payment provider",
    responses=errors.responses(
        401,
        404,
        409,
        422,
        ok={
            "description": "Settled or ignored; the body is what the provider expects (Alipay: `success`)",
            "content": {"application/json": {}, "text/plain": {}},
        },
    ),
)
async def payment_notify(provider: ProviderName, request: Request, app: State) -> Any:
    payments = settle.provider_named(app.providers, provider)
    body = await request.body()
    headers = dict(request.headers)
    result = await app.with_provider(settle.handle_notification, app.ctx, payments, headers, body)
    app.order_watch.settled([result["order_id"]])
    ack = getattr(payments, "notify_ack", None)
    if ack is not None:  # the answer this provider expects (Alipay: exactly "success")
        code, content, media_type = ack(True)
        return Response(content, status_code=code, media_type=media_type)
    return result


@router.post(
    "/payments/{provider}/refund-notify",
    tags=["payments"],
    summary="Signed refund notification from a payment provider",
    responses=errors.responses(401, 404, 409, 422),
)
async def refund_notify(provider: ProviderName, request: Request, app: State) -> dict[str, Any]:
    payments = settle.provider_named(app.providers, provider)
    body = await request.body()
    return await app.with_provider(
        settle.handle_refund_notification, app.ctx, payments, dict(request.headers), body
    )


PROVIDER_LABELS = {
    "wechat": {"en": "WeChat Pay", "zh": "微信支付"},
    "alipay": {"en": "Alipay", "zh": "支付宝"},
    "card": {"en": "Card (Visa, Mastercard, UnionPay)", "zh": "银行卡（Visa、万事达、银联）"},
    "sandbox": {"en": "Sandbox (no real money)", "zh": "沙箱（不会真实扣款）"},
}


@router.get(
    "/sessions/{session_id}/payment-providers",
    summary="The payment providers a buyer of this session can pay with, and their flows",
    responses=errors.responses(404),
)
def payment_providers(session_id: Id, app: State) -> list[dict[str, Any]]:
    views.require_session(app.ctx, session_id)  # 404 for a session that does not exist
    # real providers first, the sandbox (a development tool) last
    names = sorted(app.providers.names, key=lambda n: (n == "sandbox", n))
    return [
        {
            "name": name,
            "channels": list(getattr(app.providers.get(name), "channels", ("default",))),
            "label": PROVIDER_LABELS.get(name, {"en": name, "zh": name}),
        }
        for name in names
    ]


@router.get(
    "/orders/{order_id}/payments/{payment_id}/qr.png",
    summary="The QR code a desktop buyer scans with their phone to pay (WeChat Native)",
    responses=errors.responses(401, 403, 404, ok={"content": {"image/png": {}}}),
    response_class=Response,
)
def payment_qr(order_id: Id, payment_id: Id, buyer: BuyerId, app: State) -> Response:
    view = views.get_order(app.ctx, buyer, order_id)  # 403 for another buyer's order
    found = next((p for p in view["payments"] if p["id"] == payment_id), None)
    if found is None or not found["pay_url"]:
        raise NotFound(f"no payment {payment_id} with a QR in order {order_id}")
    return Response(qr_png(found["pay_url"], scale=6), media_type="image/png")
