"""Holds on seats and GA places: take them (by hand or best available), look, extend once, release.

The seat and GA writes themselves are the ledger's (:mod:`box_office.sales.ledger`, where the
no-oversell rule lives); this module decides what to take: the sale window, the hold size, the
box and no-orphan rules, best available (re-picked if another buyer won the race), and turns a
short count from the ledger into "seat taken" or "sold out". Expired holds are closed by
:mod:`box_office.sales.sweeper`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session as Db
from sqlalchemy.orm.attributes import set_committed_value

from box_office.catalog.cache import AreaFacts, SessionFacts
from box_office.context import Context
from box_office.core.errors import RuleError
from box_office.core.limits import Limits, check_limits, check_sale_window
from box_office.core.seating import BoxRuleError, FreeSeat, best_available, check_boxes
from box_office.errors import Conflict, Forbidden, Invalid, NotFound
from box_office.promotions import access as member_access
from box_office.sales import ledger
from box_office.sales.limits import held_counts, live_counts
from box_office.sales.seat_rules import check_orphan_rule
from box_office.store.models import Hold, HoldGa, Order, SessionGa, SessionSeat, Zone

MAX_HOLD_SIZE = 50
_BEST_FIRST_WINDOW = 200  # free seats read first, nearest the stage; x4 each time it is not enough


@dataclass(frozen=True)
class HoldRequest:
    seats: tuple[str, ...] = ()
    best_zone: str | None = None
    best_quantity: int = 0
    best_accessible: bool = False
    ga: tuple[tuple[str, int], ...] = field(default_factory=tuple)


class _LostRace(Exception):
    """Best-available picked seats another buyer took in the meantime: pick again."""


def create_hold(
    ctx: Context, account_id: int, device_id: str | None, session_id: int, request: HoldRequest
) -> dict[str, Any]:
    size = len(request.seats) + request.best_quantity + sum(q for _, q in request.ga)
    if size < 1:
        raise Invalid("ask for seats, best_available or ga places")
    if size > MAX_HOLD_SIZE:
        raise Invalid(f"at most {MAX_HOLD_SIZE} places in one hold")
    if len(set(request.seats)) != len(request.seats):
        raise Invalid("a seat is listed twice")
    for attempt in range(6):
        try:
            return ctx.db.write(lambda db: _hold(ctx, db, account_id, device_id, session_id, request))
        except _LostRace:
            if attempt == 5:
                raise Conflict(
                    "seats are selling fast: no adjacent seats could be secured, try again", "sold_out"
                ) from None
    raise AssertionError("unreachable")  # pragma: no cover


def _hold(
    ctx: Context, db: Db, account_id: int, device_id: str | None, session_id: int, req: HoldRequest
) -> dict[str, Any]:
    now = ctx.now()
    facts = ctx.catalog.session(db, session_id)
    perks = member_access.benefits(db, facts, account_id, now)  # early access, higher limits
    try:
        check_sale_window(perks.sale_starts_at, facts.sale_ends_at, now)
    except RuleError as exc:
        raise Conflict(str(exc), exc.code) from None
    size = len(req.seats) + req.best_quantity + sum(q for _, q in req.ga)
    if perks.limit_per_account is not None and size > perks.limit_per_account:
        raise Conflict(
            f"at most {perks.limit_per_account} tickets per account for this session", "limit_account"
        )
    _check_holding_limits(ctx, db, facts, account_id, device_id, size, now, perks.limit_per_account)
    expires = now + facts.hold_seconds
    hold_id = ledger.open_hold(
        db, session_id, account_id, device_id, len(req.seats) + req.best_quantity, expires, now
    )
    labels = list(req.seats)
    taken: list[ledger.Taken] = []
    if labels:
        taken += _take_seats(db, session_id, hold_id, labels, expires, now, explicit=True)
        if any(t.box is not None for t in taken):
            _check_box_rule(db, session_id, labels)
        if ctx.settings.extra.get("no_orphan_seats") == "on":
            check_orphan_rule(db, session_id, labels, now, picked=[(t.section, t.row, t.box) for t in taken])
    if req.best_quantity:
        picked = _pick_best(db, facts, session_id, req, now, exclude=set(labels))
        taken += _take_seats(db, session_id, hold_id, picked, expires, now, explicit=False)
    ga = [_take_ga(ctx, db, facts, hold_id, code, quantity, now) for code, quantity in req.ga]
    return {
        "id": hold_id,
        "session_id": session_id,
        "status": "active",
        "expires_at": expires,
        "extended": False,
        "seats": [
            {
                "label": t.label,
                "zone": facts.zones[t.zone_id].code,
                "price_cents": facts.zones[t.zone_id].price_cents,
            }
            for t in sorted(taken, key=lambda t: t.label)
        ],
        "ga": [
            {
                "area": area.code,
                "zone": facts.zones[area.zone_id].code,
                "quantity": quantity,
                "price_cents": facts.zones[area.zone_id].price_cents,
            }
            for area, quantity in ga
        ],
    }


def _check_box_rule(db: Db, session_id: int, labels: list[str]) -> None:
    rows = (
        db.connection()
        .execute(
            select(SessionSeat.label, SessionSeat.box).where(
                SessionSeat.session_id == session_id, SessionSeat.label.in_(labels)
            )
        )
        .all()
    )
    box_of = {r.label: r.box for r in rows}
    boxes = {b for b in box_of.values() if b is not None}
    if not boxes:
        return
    members: dict[str, set[str]] = {}
    for label, box in db.connection().execute(
        select(SessionSeat.label, SessionSeat.box).where(
            SessionSeat.session_id == session_id, SessionSeat.box.in_(boxes), SessionSeat.status != "removed"
        )
    ):
        if box is not None:
            members.setdefault(box, set()).add(label)
    try:
        check_boxes(labels, box_of, members)
    except BoxRuleError as exc:
        raise Conflict(str(exc), "box_whole") from None


def _take_seats(
    db: Db, session_id: int, hold_id: int, labels: list[str], expires: float, now: float, *, explicit: bool
) -> list[ledger.Taken]:
    """Take every seat of ``labels`` for the hold in one conditional UPDATE, or raise."""
    wanted = sorted(labels)
    taken = ledger.take_seats(db, session_id, hold_id, wanted, expires, now)
    if len(taken) == len(wanted):
        return taken
    if not explicit:
        raise _LostRace()
    rows = (
        db.connection()
        .execute(
            select(SessionSeat.label, SessionSeat.status, SessionSeat.hold_id).where(
                SessionSeat.session_id == session_id, SessionSeat.label.in_(wanted)
            )
        )
        .all()
    )
    known = {r.label: r for r in rows}
    unknown = [label for label in wanted if label not in known or known[label].status == "removed"]
    if unknown:
        raise NotFound(f"no such seats in this session: {', '.join(unknown[:10])}", "unknown_seat")
    gone = [label for label in wanted if known[label].hold_id != hold_id]
    raise Conflict(f"seats no longer available: {', '.join(gone[:10])}", "seat_taken")


def _pick_best(
    db: Db, facts: SessionFacts, session_id: int, req: HoldRequest, now: float, exclude: set[str]
) -> list[str]:
    zone = facts.zone_by_code(req.best_zone)
    if zone is None:
        raise NotFound(f"unknown zone {req.best_zone}", "unknown_zone")
    zone_id = zone.id
    query = (
        select(
            SessionSeat.label, SessionSeat.section, SessionSeat.row, SessionSeat.position, SessionSeat.rank
        )
        .where(
            SessionSeat.session_id == session_id,
            SessionSeat.zone_id == zone_id,
            SessionSeat.box.is_(None),
            ledger.free_clause(now),
        )
        .order_by(SessionSeat.rank, SessionSeat.section, SessionSeat.row, SessionSeat.position)
    )
    if req.best_accessible:
        query = query.where(SessionSeat.accessible)
    window = _BEST_FIRST_WINDOW
    while True:
        rows = db.connection().execute(query.limit(window)).all()
        complete = len(rows) < window
        # The window may end inside a row: leave that row out (its seats beyond the window would
        # change what is adjacent and what is an orphan) unless every free seat was read.
        cut = None if complete else (rows[-1].section, rows[-1].row)
        free = [
            FreeSeat(r.label, r.section, r.row, r.position, r.rank)
            for r in rows
            if r.label not in exclude and (r.section, r.row) != cut
        ]
        picked = best_available(free, req.best_quantity)
        if picked is not None:
            return picked
        if complete:
            raise Conflict(f"no {req.best_quantity} adjacent seats left in zone {req.best_zone}", "sold_out")
        window *= 4


def reclaim_expired_ga(ctx: Context, db: Db, ga_id: int, now: float, limit: int = 200) -> int:
    """Give back the places of expired holds on one GA area; returns how many holds were reclaimed."""
    hold_ids = db.scalars(
        select(Hold.id)
        .join(HoldGa, HoldGa.hold_id == Hold.id)
        .where(HoldGa.ga_id == ga_id, Hold.status == "active", Hold.expires_at < now)
        .limit(limit)
    ).all()
    reclaimed = 0
    for hold_id in hold_ids:
        reclaimed += ledger.close_hold(db, hold_id, "expired", now, only_if_expired=True)
    return reclaimed


def _take_ga(
    ctx: Context, db: Db, facts: SessionFacts, hold_id: int, code: str, quantity: int, now: float
) -> tuple[AreaFacts, int]:
    area = facts.area_by_code(code) or ctx.catalog.session(db, facts.id, fresh=True).area_by_code(code)
    if area is None:
        raise NotFound(f"no general-admission area {code} in this session", "unknown_area")
    taken = ledger.take_ga(db, hold_id, area.id, quantity, now)
    if not taken and reclaim_expired_ga(ctx, db, area.id, now):
        taken = ledger.take_ga(db, hold_id, area.id, quantity, now)
    if not taken:
        stock = (
            db.connection()
            .execute(
                select(SessionGa.capacity, SessionGa.sold, SessionGa.held).where(SessionGa.id == area.id)
            )
            .one()
        )
        left = max(0, stock.capacity - stock.sold - stock.held)
        raise Conflict(f"only {left} places left in {code}", "sold_out")
    return area, quantity


def hold_view(db: Db, hold: Hold, now: float) -> dict[str, Any]:
    seats = (
        db.connection()
        .execute(
            select(SessionSeat.label, Zone.code, Zone.price_cents)
            .join(Zone, Zone.id == SessionSeat.zone_id)
            .where(SessionSeat.hold_id == hold.id)
            .order_by(SessionSeat.label)
        )
        .all()
    )
    ga = (
        db.connection()
        .execute(
            select(SessionGa.code, Zone.code, HoldGa.quantity, Zone.price_cents)
            .join(SessionGa, SessionGa.id == HoldGa.ga_id)
            .join(Zone, Zone.id == SessionGa.zone_id)
            .where(HoldGa.hold_id == hold.id)
        )
        .all()
    )
    status = hold.status
    if status == "active" and hold.expires_at < now:
        status = "expired"
    return {
        "id": hold.id,
        "session_id": hold.session_id,
        "status": status,
        "expires_at": hold.expires_at,
        "extended": hold.extended,
        "seats": [{"label": s[0], "zone": s[1], "price_cents": s[2]} for s in seats]
        if status in ("active", "converted")
        else [],
        "ga": [{"area": g[0], "zone": g[1], "quantity": g[2], "price_cents": g[3]} for g in ga],
    }


def own_hold(db: Db, account_id: int, hold_id: int) -> Hold:
    hold = db.get(Hold, hold_id)
    if hold is None:
        raise NotFound(f"no hold {hold_id}")
    if hold.account_id != account_id:
        raise Forbidden(f"hold {hold_id} belongs to another buyer")
    return hold


def get_hold(ctx: Context, account_id: int, hold_id: int) -> dict[str, Any]:
    with ctx.db.read() as db:
        return hold_view(db, own_hold(db, account_id, hold_id), ctx.now())


def release_hold(ctx: Context, account_id: int, hold_id: int) -> dict[str, Any]:
    def work(db: Db) -> dict[str, Any]:
        hold = own_hold(db, account_id, hold_id)
        if db.scalar(select(Order.id).where(Order.hold_id == hold_id)) is not None:
            raise Conflict("this hold has an order: cancel the order instead", "has_order")
        now = ctx.now()
        if not ledger.close_hold(db, hold_id, "released", now):
            raise Conflict(f"hold {hold_id} is already {hold.status}", "hold_closed")
        db.refresh(hold)
        return hold_view(db, hold, now)

    return ctx.db.write(work)


def extend_hold(ctx: Context, db: Db, hold: Hold, now: float, hold_seconds: int | None = None) -> float:
    """Extend a live hold once (at checkout) by the session's hold time; returns its expiry."""
    if hold.extended:
        return hold.expires_at
    if hold_seconds is None:
        hold_seconds = ctx.catalog.session(db, hold.session_id).hold_seconds
    new_expiry = now + hold_seconds
    count = ledger.extend_hold(db, hold.id, new_expiry, now)
    if count is None:
        raise Conflict("the hold has expired", "hold_expired")
    if count != hold.seat_count:
        raise Conflict("the hold has expired and its seats were taken", "hold_expired")
    # What the UPDATE wrote, told to the loaded object without another round trip.
    set_committed_value(hold, "expires_at", new_expiry)
    set_committed_value(hold, "extended", True)
    return new_expiry


def extend_hold_once(ctx: Context, account_id: int, hold_id: int) -> dict[str, Any]:
    def work(db: Db) -> dict[str, Any]:
        hold = own_hold(db, account_id, hold_id)
        now = ctx.now()
        if hold.extended:
            raise Conflict("a hold can be extended only once", "already_extended")
        if hold.status != "active" or hold.expires_at < now:
            raise Conflict("the hold has expired", "hold_expired")
        extend_hold(ctx, db, hold, now)
        return hold_view(db, hold, now)

    return ctx.db.write(work)


def _check_holding_limits(
    ctx: Context,
    db: Db,
    facts: SessionFacts,
    account_id: int,
    device_id: str | None,
    size: int,
    now: float,
    limit_per_account: int | None,
) -> None:
    """A new hold counts with the buyer's live tickets and other open holds against the
    per-account and per-device limits (issue #13), under the same subject locks as checkout.
    ``limit_per_account`` is the buyer's own (a member tier may raise the session's)."""
    if limit_per_account is None and facts.limit_per_device is None:
        return
    subjects = [f"acct:{facts.id}:{account_id}"] + ([f"dev:{facts.id}:{device_id}"] if device_id else [])
    ctx.db.lock_subjects(db, subjects)
    account_tickets, device_tickets, _ = live_counts(db, facts.id, account_id, device_id, [], now)
    account_held, device_held = held_counts(db, facts.id, account_id, device_id, now)
    try:
        check_limits(
            Limits(limit_per_account, facts.limit_per_device, None),
            quantity=size,
            account_count=account_tickets + account_held,
            device_count=None if device_id is None else (device_tickets or 0) + device_held,
            id_counts={},
        )
    except RuleError as exc:
        raise Conflict(str(exc), exc.code) from None
