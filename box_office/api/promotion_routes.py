"""Routes for promotions: price changes, campaigns, coupons (promoter side); quotes, claims and
price breakdowns (buyer side). Every route declares its errors (api/errors.py)."""

from __future__ import annotations

from pathlib import Path as Path_
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query, Response, status
from fastapi.responses import HTMLResponse, PlainTextResponse
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from box_office.api import errors
from box_office.api.deps import BuyerId, Id, OrganiserId, State
from box_office.api.schemas import Strict, TicketIn
from box_office.errors import Invalid
from box_office.promotions import campaigns, coupons, group_buy, members, posters, referrals, segments
from box_office.promotions import pricing as promotion_pricing
from box_office.sales import checkout

router = APIRouter(prefix="/api", tags=["promotions"])
pages = APIRouter(tags=["promotions"])
BUY_PAGE = Path_(__file__).resolve().parent.parent / "promotions" / "buy.html"
CONSOLE_PAGE = BUY_PAGE.with_name("console.html")


@pages.get(
    "/promotions/buy/{session_id}",
    response_class=HTMLResponse,
    summary="The buyer's phone page: hold, apply a coupon, join a group, see the breakdown (zh/en)",
    responses=errors.responses(422, ok={"description": "The page", "content": {"text/html": {}}}),
)
async def buy_page(session_id: Id) -> HTMLResponse:
    return HTMLResponse(BUY_PAGE.read_text(encoding="utf-8"))


@pages.get(
    "/console/promotions/",
    response_class=HTMLResponse,
    summary="The promoter's promotions page: price changes, coupons, campaigns, CSV reports (zh/en)",
    responses={200: {"description": "The page", "content": {"text/html": {}}}},
)
async def console_page() -> HTMLResponse:
    return HTMLResponse(CONSOLE_PAGE.read_text(encoding="utf-8"))


Fen = Annotated[int, Field(ge=0, le=10**10)]
Code = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")]
When = Annotated[float, Field(ge=0, le=10**11)]
Layer = Literal["member", "auto", "coupon"]


class ScopeIn(Strict):
    """Which tickets: empty lists mean all."""

    sessions: list[Annotated[int, Field(ge=1)]] = Field(default_factory=list, max_length=100)
    zones: list[Code] = Field(default_factory=list, max_length=100)
    ticket_types: list[Code] = Field(default_factory=list, max_length=100)


class PriceChangeIn(Strict):
    zone: Code
    price_cents: Fen
    ticket_type: Code | None = Field(default=None, description="Only this ticket type (default: all)")
    session_id: Annotated[int, Field(ge=1)] | None = Field(default=None, description="Only this session")
    valid_from: When | None = Field(default=None, description="In force from (Unix seconds); default now")
    valid_until: When | None = Field(default=None, description="In force until (exclusive); default open")


class AdjustIn(Strict):
    mode: Literal["set", "amount_off", "percent_off"]
    value: Fen = 0
    prices: dict[str, Fen] = Field(default_factory=dict, description="For `set`: a price per zone code")


class CampaignIn(Strict):
    kind: Literal["early_bird", "flash", "group", "member", "n_for_m", "threshold", "member_access"]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    priority: Annotated[int, Field(ge=0, le=1000)] = 0
    adjust: AdjustIn | None = Field(default=None, description="The price change (all kinds but n_for_m)")
    scope: ScopeIn = Field(default_factory=ScopeIn)
    starts_at: When | None = None
    ends_at: When | None = None
    quantity_limit: Annotated[int, Field(ge=1, le=10**7)] | None = Field(
        default=None, description="early_bird: the first N tickets; flash: its own stock"
    )
    stacks_with: list[Layer] = Field(
        default_factory=list, description="Later layers allowed on the lines this campaign prices"
    )
    tier: Code | None = Field(default=None, description="member: the tier whose holders get the price")
    n: Annotated[int, Field(ge=2, le=100)] | None = None
    m: Annotated[int, Field(ge=0, le=99)] | None = None
    min_cents: Fen | None = Field(default=None, description="threshold: the order value that triggers it")
    early_seconds: Annotated[int, Field(ge=0, le=90 * 86400)] | None = Field(
        default=None, description="member_access: the tier may hold this long before the public sale"
    )
    limit_per_account: Annotated[int, Field(ge=1, le=1000)] | None = Field(
        default=None, description="member_access: the tier's (higher) per-account limit"
    )
    size: Annotated[int, Field(ge=2, le=100)] | None = Field(
        default=None, description="group: members needed"
    )
    time_limit_seconds: Annotated[int, Field(ge=1, le=30 * 86400)] | None = Field(
        default=None, description="group: time from the leader's payment to fill the group"
    )
    per_buyer: Annotated[int, Field(ge=1, le=50)] | None = Field(
        default=None, description="group: tickets per member at most"
    )
    simulate_min_real: Annotated[int, Field(ge=1, le=100)] | None = Field(
        default=None, description="group: at expiry, complete a group with at least this many paying members"
    )
    only_zones: list[Code] = Field(
        default_factory=list, max_length=100, description="member_access: members-only zones"
    )
    only_sessions: list[Annotated[int, Field(ge=1)]] = Field(
        default_factory=list, max_length=100, description="member_access: members-only sessions"
    )


class MemberIn(Strict):
    tier: Code
    account_id: Annotated[int, Field(ge=1)] | None = None
    email: Annotated[str, Field(min_length=3, max_length=254)] | None = None
    valid_from: When | None = None
    valid_until: When


class ActiveIn(Strict):
    active: bool


class CouponIn(Strict):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    kind: Literal["amount_off", "percent_off", "fixed_price"]
    value: Fen = Field(description="fen off / basis points off (1000 = 10 %) / the fixed price in fen")
    threshold_cents: Fen = Field(default=0, description="满减: eligible tickets must be worth this much")
    cap_cents: Fen | None = Field(default=None, description="percent_off: the most it takes off")
    scope: ScopeIn = Field(default_factory=ScopeIn)
    valid_from: When | None = None
    valid_until: When | None = None
    valid_days: Annotated[int, Field(ge=1, le=3650)] | None = Field(
        default=None, description="Valid N days from claiming (personal codes)"
    )
    max_issued: Annotated[int, Field(ge=1, le=10**7)] | None = None
    max_uses: Annotated[int, Field(ge=1, le=10**7)] | None = None
    per_buyer: Annotated[int, Field(ge=1, le=1000)] | None = None
    budget_cents: Fen | None = Field(default=None, description="The most the coupon may take off in all")
    return_on_refund: bool = Field(default=False, description="A refunded order gives its use back")
    code: Annotated[str, Field(min_length=4, max_length=40, pattern=r"^[A-Za-z0-9-]+$")] | None = Field(
        default=None, description="A shared code anyone may type (omit for personal codes only)"
    )


class CodesIn(Strict):
    count: Annotated[int, Field(ge=1, le=coupons.MAX_BULK)]


class ReferrerIn(Strict):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    mode: Literal["percent", "fixed"] = Field(
        description="percent: basis points of what the buyer pays; fixed: fen a ticket"
    )
    value: Annotated[int, Field(ge=0, le=10**8)]
    include_group: bool = Field(default=False, description="Commission on group-buy orders too")
    window_seconds: Annotated[int, Field(ge=60, le=365 * 86400)] = Field(
        default=7 * 86400, description="How long after a click an order is still attributed"
    )


class SeenIn(Strict):
    code: Annotated[str, Field(min_length=4, max_length=16, pattern=r"^[A-Za-z0-9]+$")]


class SegmentIn(Strict):
    kind: Literal["past_buyers", "tier", "referred", "abandoned"]
    event_ids: list[Annotated[int, Field(ge=1)]] = Field(default_factory=list, max_length=100)
    artist: Annotated[str, Field(min_length=1, max_length=100)] | None = Field(
        default=None, description="Words in the event's name"
    )
    city: Annotated[str, Field(min_length=1, max_length=100)] | None = Field(
        default=None, description="Words in the venue's name"
    )
    zone: Code | None = None
    tier: Code | None = None
    referrer_id: Annotated[int, Field(ge=1)] | None = None


class MessageIn(Strict):
    zh: Annotated[str, Field(min_length=1, max_length=500)]
    en: Annotated[str, Field(min_length=1, max_length=500)]
    subject_zh: Annotated[str, Field(min_length=1, max_length=100)] = "优惠券"
    subject_en: Annotated[str, Field(min_length=1, max_length=100)] = "A coupon for you"
    sms: bool = False


class GrantIn(Strict):
    segment: SegmentIn
    message: MessageIn


class ConsentIn(Strict):
    consent: bool


class QuoteIn(Strict):
    tickets: list[TicketIn] = Field(default_factory=list, max_length=50)
    group_open: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None
    group_join: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None
    coupon: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9 -]+$")] | None = None


# --- promoter ---------------------------------------------------------------------------


@router.post(
    "/events/{event_id}/prices",
    status_code=status.HTTP_201_CREATED,
    summary="Change a price by zone, ticket type, session and period (new holds at once, not orders)",
    responses=errors.responses(401, 403, 404, 422),
)
async def change_price(
    event_id: Id, body: PriceChangeIn, organiser: OrganiserId, app: State
) -> dict[str, Any]:
    return await run_in_threadpool(campaigns.change_price, app.ctx, organiser, event_id, body.model_dump())


@router.get(
    "/events/{event_id}/prices",
    summary="Every price change of the event, oldest first",
    responses=errors.responses(401, 403, 404),
)
async def list_prices(event_id: Id, organiser: OrganiserId, app: State) -> list[dict[str, Any]]:
    return await run_in_threadpool(campaigns.list_prices, app.ctx, organiser, event_id)


@router.post(
    "/events/{event_id}/campaigns",
    status_code=status.HTTP_201_CREATED,
    summary="Create a price campaign (early-bird, flash, group, member, N for M, threshold)",
    responses=errors.responses(401, 403, 404, 422),
)
async def create_campaign(
    event_id: Id, body: CampaignIn, organiser: OrganiserId, app: State
) -> dict[str, Any]:
    spec = body.model_dump()
    return await run_in_threadpool(campaigns.create_campaign, app.ctx, organiser, event_id, spec)


@router.get(
    "/events/{event_id}/campaigns",
    summary="The event's campaigns",
    responses=errors.responses(401, 403, 404),
)
async def list_campaigns(event_id: Id, organiser: OrganiserId, app: State) -> list[dict[str, Any]]:
    return await run_in_threadpool(campaigns.list_campaigns, app.ctx, organiser, event_id)


@router.put(
    "/campaigns/{campaign_id}/active",
    summary="Switch a campaign on or off (new holds at once)",
    responses=errors.responses(401, 403, 404, 422),
)
async def set_campaign_active(
    campaign_id: Id, body: ActiveIn, organiser: OrganiserId, app: State
) -> dict[str, Any]:
    return await run_in_threadpool(campaigns.set_active, app.ctx, organiser, campaign_id, body.active)


@router.post(
    "/events/{event_id}/coupons",
    status_code=status.HTTP_201_CREATED,
    summary="Create a coupon (满减, percent off with a cap, fixed price) with its limits",
    responses=errors.responses(401, 403, 404, 409, 422),
)
async def create_coupon(event_id: Id, body: CouponIn, organiser: OrganiserId, app: State) -> dict[str, Any]:
    spec = body.model_dump()
    spec["scope"] = body.scope.model_dump()
    return await run_in_threadpool(coupons.create_coupon, app.ctx, organiser, event_id, spec)


@router.get(
    "/coupons/{coupon_id}",
    summary="A coupon, its counters (issued, uses, budget spent) and its redemptions",
    responses=errors.responses(401, 403, 404),
)
async def coupon_report(coupon_id: Id, organiser: OrganiserId, app: State) -> dict[str, Any]:
    return await run_in_threadpool(coupons.coupon_report, app.ctx, organiser, coupon_id)


@router.post(
    "/coupons/{coupon_id}/codes",
    status_code=status.HTTP_201_CREATED,
    summary="Issue unguessable single-use codes in bulk (counted against max_issued)",
    responses=errors.responses(401, 403, 404, 409, 422),
)
async def issue_codes(coupon_id: Id, body: CodesIn, organiser: OrganiserId, app: State) -> dict[str, Any]:
    codes = await run_in_threadpool(coupons.issue_codes, app.ctx, organiser, coupon_id, body.count)
    return {"coupon_id": coupon_id, "codes": codes}


_CSV = {"description": "CSV", "content": {"text/csv": {"schema": {"type": "string"}}}}


@router.get(
    "/coupons/{coupon_id}/redemptions.csv",
    summary="Report: the coupon's redemptions and its budget spent, as CSV",
    response_class=PlainTextResponse,
    responses=errors.responses(401, 403, 404, ok=_CSV),
)
async def redemptions_csv(coupon_id: Id, organiser: OrganiserId, app: State) -> PlainTextResponse:
    text = await run_in_threadpool(coupons.redemptions_csv, app.ctx, organiser, coupon_id)
    return PlainTextResponse(text, media_type="text/csv")


@router.get(
    "/events/{event_id}/groups.csv",
    summary="Report: the event's group-buys (formed, forming, failed) as CSV",
    response_class=PlainTextResponse,
    responses=errors.responses(401, 403, 404, ok=_CSV),
)
async def groups_csv(event_id: Id, organiser: OrganiserId, app: State) -> PlainTextResponse:
    text = await run_in_threadpool(group_buy.groups_csv, app.ctx, organiser, event_id)
    return PlainTextResponse(text, media_type="text/csv")


@router.get(
    "/organiser/orders/{order_id}/prices",
    summary="An order's frozen prices, line by line with every step (for the promoter)",
    responses=errors.responses(401, 403, 404),
)
async def organiser_order_prices(order_id: Id, organiser: OrganiserId, app: State) -> dict[str, Any]:
    return await run_in_threadpool(promotion_pricing.organiser_breakdown, app.ctx, organiser, order_id)


@router.post(
    "/organiser/members",
    status_code=status.HTTP_201_CREATED,
    summary="Grant a buyer (by account id or e-mail) a membership tier for a period",
    responses=errors.responses(401, 404, 422),
)
async def grant_member(body: MemberIn, organiser: OrganiserId, app: State) -> dict[str, Any]:
    if body.account_id is None and body.email is None:
        raise Invalid("name the buyer by account_id or email")
    return await run_in_threadpool(members.grant, app.ctx, organiser, body.model_dump())


@router.get("/organiser/members", summary="The organiser's members", responses=errors.responses(401))
async def list_members(organiser: OrganiserId, app: State) -> list[dict[str, Any]]:
    return await run_in_threadpool(members.list_members, app.ctx, organiser)


@router.get(
    "/sessions/{session_id}/groups",
    summary="Open group-buys of a session to join (counts only, no members' names)",
    responses=errors.responses(404),
)
async def open_groups(session_id: Id, app: State) -> list[dict[str, Any]]:
    return await run_in_threadpool(group_buy.open_groups, app.ctx, session_id)


@router.get(
    "/groups/{group_id}", summary="A group-buy and how many it still needs", responses=errors.responses(404)
)
async def get_group(group_id: Id, app: State) -> dict[str, Any]:
    return await run_in_threadpool(group_buy.get_group, app.ctx, group_id)


@router.post(
    "/events/{event_id}/referrers",
    status_code=status.HTTP_201_CREATED,
    summary="Enroll a referrer (推广员) with a commission rule; answers its code and stats token (once)",
    responses=errors.responses(401, 403, 404, 422),
)
async def enroll_referrer(
    event_id: Id, body: ReferrerIn, organiser: OrganiserId, app: State
) -> dict[str, Any]:
    return await run_in_threadpool(referrals.enroll, app.ctx, organiser, event_id, body.model_dump())


@router.get(
    "/events/{event_id}/referrers",
    summary="Every referrer's clicks, orders, sales and commission (pending, settled, reversed)",
    responses=errors.responses(401, 403, 404),
)
async def referrer_report(event_id: Id, organiser: OrganiserId, app: State) -> list[dict[str, Any]]:
    return await run_in_threadpool(referrals.organiser_stats, app.ctx, organiser, event_id)


@router.get(
    "/referrer/stats",
    summary="A referrer's own figures (header X-Referrer-Token: the token given at enrollment)",
    responses=errors.responses(401, 422),
)
async def referrer_stats(
    app: State, x_referrer_token: Annotated[str, Header(min_length=8, max_length=64)]
) -> dict[str, Any]:
    return await run_in_threadpool(referrals.stats, app.ctx, x_referrer_token)


@router.get(
    "/sessions/{session_id}/poster.png",
    summary="A share poster (zh/en) with a QR to the buying page, optionally with a referrer's code",
    response_class=Response,
    responses=errors.responses(404, 422, ok={"description": "PNG", "content": {"image/png": {}}}),
)
async def poster(
    session_id: Id,
    app: State,
    ref: Annotated[str | None, Query(min_length=4, max_length=16, pattern=r"^[A-Za-z0-9]+$")] = None,
) -> Response:
    png = await run_in_threadpool(posters.poster_for, app.ctx, session_id, ref)
    return Response(png, media_type="image/png", headers={"Cache-Control": "public, max-age=300"})


@router.post(
    "/organiser/segments/preview",
    summary="How many of the organiser's buyers a segment holds, and how many consented to marketing",
    responses=errors.responses(401, 422),
)
async def preview_segment(body: SegmentIn, organiser: OrganiserId, app: State) -> dict[str, Any]:
    return await run_in_threadpool(segments.preview, app.ctx, organiser, body.model_dump())


@router.post(
    "/coupons/{coupon_id}/grant",
    summary="Grant the coupon to a segment; tell (zh/en, opt-out link) only those who consented",
    responses=errors.responses(401, 403, 404, 409, 422),
)
async def grant_segment(coupon_id: Id, body: GrantIn, organiser: OrganiserId, app: State) -> dict[str, Any]:
    return await run_in_threadpool(
        segments.grant_to_segment,
        app.ctx,
        app.mailer,
        app.sms,
        organiser,
        coupon_id,
        body.segment.model_dump(),
        body.message.model_dump(),
    )


@router.get(
    "/marketing/opt-out/{token}",
    summary="The opt-out link in every marketing message: no more marketing (no login needed)",
    response_class=HTMLResponse,
    responses=errors.responses(404, 422, ok={"description": "A page (zh/en)", "content": {"text/html": {}}}),
)
async def opt_out(
    token: Annotated[str, Path(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")], app: State
) -> HTMLResponse:
    await run_in_threadpool(segments.opt_out, app.ctx, token)
    return HTMLResponse(
        "<!doctype html><meta charset=utf-8><title>退订 Unsubscribed</title>"
        "<p lang=zh>您已退订营销消息。</p><p lang=en>You will receive no more marketing messages.</p>"
    )


# --- buyer ------------------------------------------------------------------------------


@router.post(
    "/holds/{hold_id}/quote",
    summary="What an order from this hold costs, with each line's breakdown (nothing is written)",
    responses=errors.responses(401, 403, 404, 409, 422),
)
async def quote(hold_id: Id, body: QuoteIn, buyer: BuyerId, app: State) -> dict[str, Any]:
    requested = tuple(
        checkout.TicketRequest(seat=t.seat, area=t.area, ticket_type=t.ticket_type) for t in body.tickets
    )
    return await run_in_threadpool(
        checkout.quote_hold, app.ctx, buyer, hold_id, requested, body.coupon, body.group_open, body.group_join
    )


@router.post(
    "/coupons/claim/{claim_token}",
    summary="Claim a coupon from its link: a personal code (once per buyer)",
    responses=errors.responses(401, 404, 409, 422),
)
async def claim_coupon(
    claim_token: Annotated[str, Path(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")],
    buyer: BuyerId,
    app: State,
) -> dict[str, Any]:
    return await run_in_threadpool(coupons.claim, app.ctx, buyer, claim_token)


@router.post(
    "/referrals/seen",
    summary="The buyer arrived through a referrer's link or poster (last code within its window wins)",
    responses=errors.responses(401, 404, 422),
)
async def referral_seen(body: SeenIn, buyer: BuyerId, app: State) -> dict[str, Any]:
    return await run_in_threadpool(referrals.seen, app.ctx, buyer, body.code)


@router.put(
    "/me/marketing",
    summary="The buyer's marketing consent (opt-in; every message also carries an opt-out link)",
    responses=errors.responses(401, 422),
)
async def marketing_consent(body: ConsentIn, buyer: BuyerId, app: State) -> dict[str, Any]:
    return await run_in_threadpool(segments.set_consent, app.ctx, buyer, body.consent)


@router.get(
    "/orders/{order_id}/prices",
    summary="My order's frozen prices, line by line with every step",
    responses=errors.responses(401, 403, 404),
)
async def order_prices(order_id: Id, buyer: BuyerId, app: State) -> dict[str, Any]:
    return await run_in_threadpool(promotion_pricing.buyer_breakdown, app.ctx, buyer, order_id)
