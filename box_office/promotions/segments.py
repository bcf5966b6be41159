"""Reaching the right buyers: segments of the organiser's own buyers, a coupon granted to a
segment, and a message (zh/en) to those who consented, each with an opt-out link.

Segments (always within the organiser's events, never another's buyers):
``past_buyers`` (sold orders; by events, artist = words in the event's name, city = words in the
venue's name, zone), ``tier`` (members of a tier now), ``referred`` (orders a referrer brought),
``abandoned`` (held seats in a session and never bought in it).

Consent is opt-in: a buyer is told only after ``PUT /api/me/marketing`` said yes, and every
message carries the opt-out link (and a List-Unsubscribe header), which works without logging in.
Coupons are granted to the whole segment (they are not a message); only the telling needs consent.
"""

from __future__ import annotations

import secrets
from email.message import EmailMessage
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session as Db

from box_office.context import Context
from box_office.core.orders import SOLD
from box_office.errors import NotFound
from box_office.notify.mail import Mailer, send_all
from box_office.notify.sms import SmsGateway
from box_office.promotions import coupons
from box_office.promotions.tables import ConsentRow, CouponCodeRow, MembershipRow, ReferralRow, ReferrerRow
from box_office.store.db import changed
from box_office.store.models import Account, Event, Hold, Order, Session, Ticket, Venue


def members_of(db: Db, organiser_id: int, spec: dict[str, Any], now: float) -> list[int]:
    kind = spec["kind"]
    if kind == "tier":
        query = select(MembershipRow.account_id).where(
            MembershipRow.organiser_id == organiser_id,
            MembershipRow.tier == spec.get("tier"),
            MembershipRow.valid_from <= now,
            MembershipRow.valid_until > now,
        )
    elif kind == "referred":
        query = (
            select(Order.account_id)
            .join(ReferralRow, ReferralRow.order_id == Order.id)
            .join(ReferrerRow, ReferrerRow.id == ReferralRow.referrer_id)
            .join(Event, Event.id == ReferrerRow.event_id)
            .where(Event.organiser_id == organiser_id, ReferrerRow.id == spec.get("referrer_id"))
        )
    else:
        table = Order if kind == "past_buyers" else Hold
        query = (
            select(table.account_id)
            .join(Session, Session.id == table.session_id)
            .join(Event, Event.id == Session.event_id)
            .join(Venue, Venue.id == Event.venue_id)
            .where(Event.organiser_id == organiser_id)
        )
        if spec.get("event_ids"):
            query = query.where(Event.id.in_(spec["event_ids"]))
        if spec.get("artist"):
            query = query.where(Event.name.ilike(f"%{spec['artist']}%"))
        if spec.get("city"):
            query = query.where(Venue.name.ilike(f"%{spec['city']}%"))
        if kind == "past_buyers":
            query = query.where(Order.status.in_(SOLD))
            if spec.get("zone"):
                query = query.where(exists().where(Ticket.order_id == Order.id, Ticket.zone == spec["zone"]))
        else:  # abandoned: held, the hold ended unconverted, and no sold order in that session
            bought = exists().where(
                Order.account_id == Hold.account_id,
                Order.session_id == Hold.session_id,
                Order.status.in_(SOLD),
            )
            query = query.where(Hold.status.in_(("expired", "released")), ~bought)
    return sorted({int(a) for a in db.scalars(query.distinct())})


def preview(ctx: Context, organiser_id: int, spec: dict[str, Any]) -> dict[str, Any]:
    with ctx.db.read() as db:
        accounts = members_of(db, organiser_id, spec, ctx.now())
        consenting = _consenting(db, accounts)
    return {"size": len(accounts), "consenting": len(consenting)}


def _consenting(db: Db, accounts: list[int]) -> dict[int, tuple[str, str | None, str]]:
    """{account: (email, phone, opt-out token)} of those who said yes to marketing."""
    if not accounts:
        return {}
    rows = db.execute(
        select(Account.id, Account.email, Account.phone, ConsentRow.opt_out_token)
        .join(ConsentRow, ConsentRow.account_id == Account.id)
        .where(Account.id.in_(accounts), ConsentRow.marketing.is_(True))
    ).all()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def grant_to_segment(
    ctx: Context,
    mailer: Mailer,
    sms: SmsGateway,
    organiser_id: int,
    coupon_id: int,
    spec: dict[str, Any],
    message: dict[str, str],
) -> dict[str, Any]:
    """Grant the coupon to everyone in the segment; tell those who consented (e-mail, and SMS if
    asked and they gave a phone), each message with its opt-out link."""
    now = ctx.now()
    with ctx.db.read() as db:
        coupon = coupons.owned_coupon(db, organiser_id, coupon_id)
        name = coupon.name
        accounts = members_of(db, organiser_id, spec, now)
    granted = coupons.grant(ctx, coupon_id, accounts)
    with ctx.db.read() as db:
        consenting = _consenting(db, accounts)
        codes = dict(
            db.execute(
                select(CouponCodeRow.account_id, CouponCodeRow.code).where(
                    CouponCodeRow.coupon_id == coupon_id,
                    CouponCodeRow.account_id.in_(list(consenting) or [0]),
                )
            ).all()
        )
    base = str(ctx.settings.public_url).rstrip("/")
    mails: list[EmailMessage] = []
    texts = 0
    for account, (email, phone, token) in consenting.items():
        code = codes.get(account)
        if code is None:
            continue
        link = f"{base}/api/marketing/opt-out/{token}"
        body = (
            f"{message['zh']}\n优惠券 {name}：{code}\n退订：{link}\n\n"
            f"{message['en']}\nCoupon {name}: {code}\nUnsubscribe: {link}\n"
        )
        mail = EmailMessage()
        mail["To"] = email
        mail["From"] = "promotions@encore.invalid"
        mail["Subject"] = (
            f"{message.get('subject_zh', '优惠券')} / {message.get('subject_en', 'A coupon for you')}"
        )
        mail["List-Unsubscribe"] = f"<{link}>"
        mail.set_content(body)
        mails.append(mail)
        if message.get("sms") and phone:
            sms.send(phone, f"{message['zh']} {code} 退订 {link} / {message['en']} {code}")
            texts += 1
    failures = [f for f in send_all(mailer, mails) if f is not None] if mails else []
    return {
        "segment_size": len(accounts),
        "granted": len(granted),
        "told_by_email": len(mails) - len(failures),
        "told_by_sms": texts,
        "not_told_no_consent": len(accounts) - len(consenting),
    }


def set_consent(ctx: Context, account_id: int, consent: bool) -> dict[str, Any]:
    def work(db: Db) -> dict[str, Any]:
        now = ctx.now()
        row = db.get(ConsentRow, account_id)
        if row is None:
            db.add(
                ConsentRow(
                    account_id=account_id,
                    marketing=consent,
                    opt_out_token=secrets.token_urlsafe(24),
                    updated_at=now,
                )
            )
        else:
            row.marketing = consent
            row.updated_at = now
        return {"marketing": consent, "updated_at": now}

    return ctx.db.write(work)


def opt_out(ctx: Context, token: str) -> None:
    def work(db: Db) -> None:
        done = changed(
            db.connection().execute(
                update(ConsentRow)
                .where(ConsentRow.opt_out_token == token)
                .values(marketing=False, updated_at=ctx.now())
                .execution_options(synchronize_session=False)
            )
        )
        if not done:
            raise NotFound("no such opt-out link")

    ctx.db.write(work)
