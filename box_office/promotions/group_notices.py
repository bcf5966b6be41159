"""Telling group-buy members each step, in Chinese and English: opened, joined, formed (tickets
issued), failed (refunded), lost the last place (refunded).

Each notice is a row written in the same transaction as the step, so none is lost; a loop
(the app's delivery loop) sends the pending ones and marks them sent with a conditional UPDATE.
"""

from __future__ import annotations

from collections.abc import Iterable
from email.message import EmailMessage

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session as Db

from box_office.context import Context
from box_office.notify.mail import Mailer, send_all
from box_office.notify.sms import SmsGateway
from box_office.promotions.tables import CampaignRow, GroupNoticeRow, GroupRow
from box_office.store.db import changed
from box_office.store.models import Order

OPENED = "opened"
JOINED = "joined"
FORMED = "formed"
FAILED = "failed"
LOST = "lost"

_TEXT: dict[str, tuple[str, str, str, str]] = {
    # kind: (subject zh, body zh, subject en, body en); {name} {missing} {link}
    OPENED: (
        "拼团已开：{name}",
        "您已开团并付款。还差 {missing} 人成团，快分享给朋友：{link}",
        "Your group is open: {name}",
        "You opened the group and paid. {missing} more needed; share it with friends: {link}",
    ),
    JOINED: (
        "参团成功：{name}",
        "您已参团并付款。还差 {missing} 人成团：{link}",
        "You joined: {name}",
        "You joined the group and paid. {missing} more needed: {link}",
    ),
    FORMED: (
        "拼团成功：{name}",
        "人数已满，拼团成功！您的门票已出票，请查收门票邮件。",
        "Group complete: {name}",
        "The group is full! Your tickets are issued; they come in a separate e-mail.",
    ),
    FAILED: (
        "拼团未成功：{name}",
        "很遗憾，拼团在时限内未满员。您的付款已原路退回，座位已释放。",
        "Group not completed: {name}",
        "Sorry, the group did not fill in time. Your payment is refunded to where it came from.",
    ),
    LOST: (
        "拼团已满：{name}",
        "您付款时该团刚刚满员。您的付款已原路退回，欢迎开新团。",
        "The group filled first: {name}",
        "The group filled just before your payment arrived. It is refunded; you can open a new group.",
    ),
}


def queue(db: Db, group_id: int, kind: str, order_ids: Iterable[int], now: float) -> None:
    rows = [
        {
            "group_id": group_id,
            "order_id": o,
            "kind": kind,
            "status": "pending",
            "created_at": now,
            "sent_at": None,
        }
        for o in order_ids
    ]
    if rows:
        db.connection().execute(insert(GroupNoticeRow), rows)


def deliver(ctx: Context, mailer: Mailer, sms: SmsGateway, limit: int = 50) -> int:
    """Send pending notices (a crash may send one twice, never lose one); returns how many."""
    base = str(ctx.settings.public_url).rstrip("/")
    with ctx.db.read() as db:
        rows = db.execute(
            select(GroupNoticeRow, Order.email, GroupRow, CampaignRow.name)
            .join(Order, Order.id == GroupNoticeRow.order_id)
            .join(GroupRow, GroupRow.id == GroupNoticeRow.group_id)
            .join(CampaignRow, CampaignRow.id == GroupRow.campaign_id)
            .where(GroupNoticeRow.status == "pending")
            .order_by(GroupNoticeRow.id)
            .limit(limit)
        ).all()
    if not rows:
        return 0
    mails = []
    for notice, email, group, name in rows:
        subject_zh, body_zh, subject_en, body_en = _TEXT[notice.kind]
        values = {
            "name": name,
            "missing": max(0, group.size - group.paid_count),
            "link": f"{base}/promotions/buy/{group.session_id}",
        }
        mail = EmailMessage()
        mail["To"] = email
        mail["From"] = "groups@encore.invalid"
        mail["Subject"] = f"{subject_zh.format(**values)} / {subject_en.format(**values)}"
        mail.set_content(f"{body_zh.format(**values)}\n\n{body_en.format(**values)}\n")
        mails.append(mail)
    failures = send_all(mailer, mails)
    sent = [notice.id for (notice, *_), failure in zip(rows, failures, strict=True) if failure is None]
    now = ctx.now()

    def mark(db: Db) -> int:
        return changed(
            db.connection().execute(
                update(GroupNoticeRow)
                .where(GroupNoticeRow.id.in_(sent), GroupNoticeRow.status == "pending")
                .values(status="sent", sent_at=now)
                .execution_options(synchronize_session=False)
            )
        )

    return ctx.db.write(mark) if sent else 0
