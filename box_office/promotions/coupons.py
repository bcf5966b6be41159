"""Coupons: create, issue codes (bulk, claim links, grants), check, redeem atomically, give back.

Redemption is race-safe on SQLite and PostgreSQL without locks held across requests: the
coupon's ``uses`` and ``spent_cents`` (and a single-use code's ``uses``) move only by
conditional UPDATEs (``WHERE uses < max_uses AND spent_cents + d <= budget_cents``), so when
200 buyers race for the last 50 uses the database lets exactly 50 through and the budget is
never passed. Uses per buyer are counted under a per-(coupon, buyer) advisory lock on
PostgreSQL (SQLite's writers are serialised already).

A coupon comes back (its use and its discount return to the counters) when its order expires
or is cancelled unpaid, and when the order is refunded if the coupon says ``return_on_refund``.
That happens in the sweeper, and at once when a redemption finds the counters full.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as Db

from box_office.catalog.ownership import owned_event
from box_office.context import Context
from box_office.core import pricing_pipeline as pp
from box_office.core.orders import CANCELLED, EXPIRED, PENDING_PAYMENT, REFUNDED
from box_office.errors import Conflict, Forbidden, Invalid, NotFound
from box_office.promotions.tables import CouponCodeRow, CouponRow, RedemptionRow
from box_office.store.db import changed
from box_office.store.models import Order

CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud and typed on phones
CODE_LENGTH = 12  # 32^12 = 2^60 codes: unguessable by trying
MAX_BULK = 10_000
DAY = 86_400.0
HELD = "held"
RETURNED = "returned"


@dataclass(frozen=True)
class Usable:
    """A code checked for this buyer and this event, ready for the pipeline and for redemption."""

    coupon_id: int
    code_id: int
    code_max_uses: int | None
    per_buyer: int | None
    terms: pp.CouponTerms


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise(code: str) -> str:
    return code.strip().upper().replace("-", "").replace(" ", "")


def terms_of(row: CouponRow) -> pp.CouponTerms:
    from box_office.promotions.pricing import scope_of

    return pp.CouponTerms(
        f"coupon:{row.id}",
        row.name,
        row.kind,
        row.value,
        row.threshold_cents,
        row.cap_cents,
        scope_of(row.scope),
    )


# --- promoter side ----------------------------------------------------------------------


def create_coupon(ctx: Context, organiser_id: int, event_id: int, spec: dict[str, Any]) -> dict[str, Any]:
    """A coupon campaign for the organiser's event; ``spec`` is validated by the API schema,
    the terms once more by the pipeline (a 100 %+ percentage or a negative amount is refused)."""

    def work(db: Db) -> dict[str, Any]:
        owned_event(db, organiser_id, event_id)
        now = ctx.now()
        values = {
            "event_id": event_id,
            "name": spec["name"],
            "kind": spec["kind"],
            "value": spec["value"],
            "threshold_cents": spec.get("threshold_cents") or 0,
            "cap_cents": spec.get("cap_cents"),
            "scope": spec.get("scope") or {},
            "valid_from": spec.get("valid_from"),
            "valid_until": spec.get("valid_until"),
            "valid_days": spec.get("valid_days"),
            "max_issued": spec.get("max_issued"),
            "issued": 0,
            "max_uses": spec.get("max_uses"),
            "uses": 0,
            "per_buyer": spec.get("per_buyer"),
            "budget_cents": spec.get("budget_cents"),
            "spent_cents": 0,
            "return_on_refund": bool(spec.get("return_on_refund", False)),
            "claim_token": secrets.token_urlsafe(24),
            "created_at": now,
        }
        probe = CouponRow(id=0, **values)
        try:
            terms_of(probe)
        except pp.PricingError as exc:
            raise Invalid(str(exc), exc.code) from None
        coupon_id = (
            db.connection().execute(insert(CouponRow).values(**values).returning(CouponRow.id)).scalar_one()
        )
        shared = spec.get("code")
        if shared:
            _insert_code(db, coupon_id, normalise(shared), None, None, None, now)
        row = db.get(CouponRow, coupon_id)
        assert row is not None
        return coupon_view(db, row)

    try:
        return ctx.db.write(work)
    except IntegrityError:
        raise Conflict("that coupon code is already taken", "code_taken") from None


def _insert_code(
    db: Db,
    coupon_id: int,
    code: str,
    account_id: int | None,
    max_uses: int | None,
    expires: float | None,
    now: float,
) -> int:
    return int(
        db.connection()
        .execute(
            insert(CouponCodeRow)
            .values(
                coupon_id=coupon_id,
                code=code,
                account_id=account_id,
                max_uses=max_uses,
                uses=0,
                claimed_at=now if account_id is not None else None,
                expires_at=expires,
                created_at=now,
            )
            .returning(CouponCodeRow.id)
        )
        .scalar_one()
    )


def _take_issue(db: Db, coupon: CouponRow, count: int) -> None:
    """Count ``count`` more codes issued, within ``max_issued`` (a conditional UPDATE)."""
    won = changed(
        db.connection().execute(
            update(CouponRow)
            .where(
                CouponRow.id == coupon.id,
                or_(CouponRow.max_issued.is_(None), CouponRow.issued + count <= CouponRow.max_issued),
            )
            .values(issued=CouponRow.issued + count)
            .execution_options(synchronize_session=False)
        )
    )
    if not won:
        raise Conflict(f"coupon {coupon.name}: no more codes may be issued", "coupon_issued_out")


def _relative_expiry(coupon: CouponRow, now: float) -> float | None:
    return None if coupon.valid_days is None else now + coupon.valid_days * DAY


def owned_coupon(db: Db, organiser_id: int, coupon_id: int) -> CouponRow:
    coupon = db.get(CouponRow, coupon_id)
    if coupon is None:
        raise NotFound(f"no coupon {coupon_id}")
    owned_event(db, organiser_id, coupon.event_id)
    return coupon


def issue_codes(ctx: Context, organiser_id: int, coupon_id: int, count: int) -> list[str]:
    """Bulk single-use codes (unguessable, 60 bits each), counted against ``max_issued``.

    Relative validity (N days) starts when a bulk code is first used by a buyer: it is
    recorded then (the code is claimed by its first user)."""
    if not 1 <= count <= MAX_BULK:
        raise Invalid(f"issue between 1 and {MAX_BULK} codes at a time")

    def work(db: Db) -> list[str]:
        coupon = owned_coupon(db, organiser_id, coupon_id)
        _take_issue(db, coupon, count)
        now = ctx.now()
        codes = [new_code() for _ in range(count)]
        db.connection().execute(
            insert(CouponCodeRow),
            [
                {
                    "coupon_id": coupon.id,
                    "code": code,
                    "account_id": None,
                    "max_uses": 1,
                    "uses": 0,
                    "claimed_at": None,
                    "expires_at": None,
                    "created_at": now,
                }
                for code in codes
            ],
        )
        return codes

    return ctx.db.write(work)


def grant(ctx: Context, coupon_id: int, account_ids: Iterable[int]) -> dict[int, str]:
    """Automatic grants (new members, referral rewards, a segment): one personal code per buyer
    who has none yet; returns {account: code}. The caller has checked who may grant."""
    wanted = sorted(set(account_ids))

    def work(db: Db) -> dict[int, str]:
        coupon = db.get(CouponRow, coupon_id)
        if coupon is None:
            raise NotFound(f"no coupon {coupon_id}")
        have = set(
            db.scalars(
                select(CouponCodeRow.account_id).where(
                    CouponCodeRow.coupon_id == coupon_id, CouponCodeRow.account_id.in_(wanted)
                )
            )
        )
        new = [a for a in wanted if a not in have]
        if not new:
            return {}
        _take_issue(db, coupon, len(new))
        now = ctx.now()
        out = {}
        for account in new:
            code = new_code()
            _insert_code(db, coupon.id, code, account, coupon.per_buyer, _relative_expiry(coupon, now), now)
            out[account] = code
        return out

    return ctx.db.write(work)


def claim(ctx: Context, account_id: int, claim_token: str) -> dict[str, Any]:
    """A buyer claims a coupon through its claim link: a personal code (once per buyer)."""

    def work(db: Db) -> dict[str, Any]:
        coupon = db.scalar(select(CouponRow).where(CouponRow.claim_token == claim_token))
        if coupon is None:
            raise NotFound("no such coupon link")
        now = ctx.now()
        if coupon.valid_until is not None and now >= coupon.valid_until:
            raise Conflict(f"coupon {coupon.name} has ended", "coupon_expired")
        ctx.db.lock_subjects(db, [f"coupon-claim:{coupon.id}:{account_id}"])
        existing = db.scalar(
            select(CouponCodeRow).where(
                CouponCodeRow.coupon_id == coupon.id, CouponCodeRow.account_id == account_id
            )
        )
        if existing is not None:
            return _claimed_view(coupon, existing.code, existing.expires_at, created=False)
        _take_issue(db, coupon, 1)
        code = new_code()
        expires = _relative_expiry(coupon, now)
        _insert_code(db, coupon.id, code, account_id, coupon.per_buyer, expires, now)
        return _claimed_view(coupon, code, expires, created=True)

    return ctx.db.write(work)


def _claimed_view(coupon: CouponRow, code: str, expires: float | None, *, created: bool) -> dict[str, Any]:
    return {
        "coupon_id": coupon.id,
        "name": coupon.name,
        "code": code,
        "expires_at": expires if expires is not None else coupon.valid_until,
        "created": created,
    }


def coupon_view(db: Db, coupon: CouponRow) -> dict[str, Any]:
    codes = db.scalar(
        select(func.count()).select_from(CouponCodeRow).where(CouponCodeRow.coupon_id == coupon.id)
    )
    shared = db.scalar(
        select(CouponCodeRow.code).where(
            CouponCodeRow.coupon_id == coupon.id, CouponCodeRow.max_uses.is_(None)
        )
    )
    return {
        "id": coupon.id,
        "event_id": coupon.event_id,
        "name": coupon.name,
        "kind": coupon.kind,
        "value": coupon.value,
        "threshold_cents": coupon.threshold_cents,
        "cap_cents": coupon.cap_cents,
        "scope": coupon.scope,
        "valid_from": coupon.valid_from,
        "valid_until": coupon.valid_until,
        "valid_days": coupon.valid_days,
        "max_issued": coupon.max_issued,
        "issued": coupon.issued,
        "max_uses": coupon.max_uses,
        "uses": coupon.uses,
        "per_buyer": coupon.per_buyer,
        "budget_cents": coupon.budget_cents,
        "spent_cents": coupon.spent_cents,
        "return_on_refund": coupon.return_on_refund,
        "claim_token": coupon.claim_token,
        "code": shared,
        "codes": codes,
    }


def coupon_report(ctx: Context, organiser_id: int, coupon_id: int) -> dict[str, Any]:
    with ctx.db.read() as db:
        coupon = owned_coupon(db, organiser_id, coupon_id)
        view = coupon_view(db, coupon)
        counts = dict(
            db.execute(
                select(RedemptionRow.status, func.count())
                .where(RedemptionRow.coupon_id == coupon_id)
                .group_by(RedemptionRow.status)
            ).all()
        )
    return view | {"redemptions": {HELD: counts.get(HELD, 0), RETURNED: counts.get(RETURNED, 0)}}


# --- buyer side -------------------------------------------------------------------------


def usable(db: Db, event_id: int, account_id: int, code: str, now: float) -> Usable:
    """Check a code for this buyer and event now (validity, owner); limits are taken at redemption."""
    row = db.scalar(select(CouponCodeRow).where(CouponCodeRow.code == normalise(code)))
    coupon = None if row is None else db.get(CouponRow, row.coupon_id)
    if row is None or coupon is None or coupon.event_id != event_id:
        raise Invalid("no such coupon code for this event", "coupon_unknown")
    if row.account_id is not None and row.account_id != account_id:
        raise Forbidden("this coupon code belongs to another buyer", "coupon_not_yours")
    if coupon.valid_from is not None and now < coupon.valid_from:
        raise Conflict(f"coupon {coupon.name} is not valid yet", "coupon_not_started")
    if (coupon.valid_until is not None and now >= coupon.valid_until) or (
        row.expires_at is not None and now >= row.expires_at
    ):
        raise Conflict(f"coupon {coupon.name} has expired", "coupon_expired")
    return Usable(coupon.id, row.id, row.max_uses, coupon.per_buyer, terms_of(coupon))


def redeem(ctx: Context, db: Db, use: Usable, *, account_id: int, order_id: int, discount: int) -> None:
    """Take one use of the coupon (and of its code) for this order, with ``discount`` fen of budget.

    Conflict (nothing written) when the buyer's uses, the code, the uses or the budget are gone."""
    now = ctx.now()
    if use.per_buyer is not None:
        ctx.db.lock_subjects(db, [f"coupon:{use.coupon_id}:{account_id}"])
        mine = db.scalar(
            select(func.count())
            .select_from(RedemptionRow)
            .where(
                RedemptionRow.coupon_id == use.coupon_id,
                RedemptionRow.account_id == account_id,
                RedemptionRow.status == HELD,
            )
        )
        if (mine or 0) >= use.per_buyer:
            raise Conflict(f"you have used this coupon {use.per_buyer} time(s) already", "coupon_limit_buyer")
    code_values: dict[str, Any] = {"uses": CouponCodeRow.uses + 1}
    row = db.get(CouponCodeRow, use.code_id)
    if row is not None and row.account_id is None and use.code_max_uses is not None:
        code_values |= {"account_id": account_id, "claimed_at": now}  # a bulk code is its first user's
    won = changed(
        db.connection().execute(
            update(CouponCodeRow)
            .where(
                CouponCodeRow.id == use.code_id,
                or_(CouponCodeRow.max_uses.is_(None), CouponCodeRow.uses < CouponCodeRow.max_uses),
            )
            .values(**code_values)
            .execution_options(synchronize_session=False)
        )
    )
    if not won:
        raise Conflict("this coupon code has been used", "coupon_used")
    if not _take_use(db, use.coupon_id, discount) and not (
        return_stale(db, use.coupon_id, now) and _take_use(db, use.coupon_id, discount)
    ):
        coupon = db.get(CouponRow, use.coupon_id, populate_existing=True)
        assert coupon is not None
        if coupon.budget_cents is not None and coupon.budget_cents - coupon.spent_cents < discount:
            raise Conflict("this coupon's budget is spent", "coupon_budget")
        raise Conflict("this coupon has been used up", "coupon_used_up")
    db.connection().execute(
        insert(RedemptionRow).values(
            coupon_id=use.coupon_id,
            code_id=use.code_id,
            account_id=account_id,
            order_id=order_id,
            discount_cents=discount,
            status=HELD,
            created_at=now,
            returned_at=None,
        )
    )


def _take_use(db: Db, coupon_id: int, discount: int) -> bool:
    return bool(
        changed(
            db.connection().execute(
                update(CouponRow)
                .where(
                    CouponRow.id == coupon_id,
                    or_(CouponRow.max_uses.is_(None), CouponRow.uses < CouponRow.max_uses),
                    or_(
                        CouponRow.budget_cents.is_(None),
                        CouponRow.spent_cents + discount <= CouponRow.budget_cents,
                    ),
                )
                .values(uses=CouponRow.uses + 1, spent_cents=CouponRow.spent_cents + discount)
                .execution_options(synchronize_session=False)
            )
        )
    )


def _stale_condition(now: float) -> Any:
    """Orders whose coupon comes back: unpaid and expired (recorded or not), cancelled, or
    refunded under a coupon that returns on refund."""
    return or_(
        Order.status.in_((EXPIRED, CANCELLED)),
        and_(Order.status == PENDING_PAYMENT, Order.expires_at < now),
        and_(Order.status == REFUNDED, CouponRow.return_on_refund.is_(True)),
    )


def return_stale(db: Db, coupon_id: int | None, now: float, limit: int = 500) -> int:
    """Give back the uses held by orders that no longer need them; returns how many."""
    query = (
        select(RedemptionRow.id, RedemptionRow.coupon_id, RedemptionRow.code_id, RedemptionRow.discount_cents)
        .join(Order, Order.id == RedemptionRow.order_id)
        .join(CouponRow, CouponRow.id == RedemptionRow.coupon_id)
        .where(RedemptionRow.status == HELD, _stale_condition(now))
        .limit(limit)
    )
    if coupon_id is not None:
        query = query.where(RedemptionRow.coupon_id == coupon_id)
    done = 0
    for redemption_id, cid, code_id, discount in db.execute(query).all():
        if not changed(
            db.connection().execute(
                update(RedemptionRow)
                .where(RedemptionRow.id == redemption_id, RedemptionRow.status == HELD)
                .values(status=RETURNED, returned_at=now)
                .execution_options(synchronize_session=False)
            )
        ):
            continue
        db.connection().execute(
            update(CouponRow)
            .where(CouponRow.id == cid)
            .values(uses=CouponRow.uses - 1, spent_cents=CouponRow.spent_cents - discount)
            .execution_options(synchronize_session=False)
        )
        db.connection().execute(
            update(CouponCodeRow)
            .where(CouponCodeRow.id == code_id)
            .values(uses=CouponCodeRow.uses - 1)
            .execution_options(synchronize_session=False)
        )
        done += 1
    return done


def sweep_returns(ctx: Context) -> int:
    """The sweeper's step: coupons of expired, cancelled (and refunded, if so set) orders come back."""
    now = ctx.now()
    return ctx.db.write(lambda db: return_stale(db, None, now))


def redemptions_csv(ctx: Context, organiser_id: int, coupon_id: int) -> str:
    """The coupon's redemptions as CSV (a report: discount spent against the budget, per order)."""
    import csv
    import io

    with ctx.db.read() as db:
        coupon = owned_coupon(db, organiser_id, coupon_id)
        rows = db.scalars(
            select(RedemptionRow).where(RedemptionRow.coupon_id == coupon_id).order_by(RedemptionRow.id)
        ).all()
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(
            ["redemption", "order", "buyer", "discount_cents", "status", "created_at", "returned_at"]
        )
        for r in rows:
            writer.writerow(
                [r.id, r.order_id, r.account_id, r.discount_cents, r.status, r.created_at, r.returned_at]
            )
        writer.writerow([])
        writer.writerow(
            ["uses", coupon.uses, "spent_cents", coupon.spent_cents, "budget_cents", coupon.budget_cents]
        )
        return out.getvalue()
