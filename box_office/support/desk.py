"""The support desk: buyers' requests and the promoter's staff answering them.

Every use case takes who asks: a buyer reaches only requests they opened (another buyer's is
"not found", so its existence is not revealed), an organiser only requests about their own
events. The status and response-time rules are ``support.rules`` (pure); this module stores.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session as Db

from box_office.context import Context
from box_office.core.errors import RuleError
from box_office.errors import Conflict, Forbidden, Invalid, NotFound
from box_office.store.models import (
    Account,
    CannedReply,
    Event,
    Order,
    SupportMessage,
    SupportRequest,
)
from box_office.store.models import (
    Session as EventSession,
)
from box_office.support import rules

BUYER = "buyer"
STAFF = "staff"
BOT = "bot"
LANGS = ("zh", "en")


def _checked(work: Any) -> Any:
    """Turn the pure rules' refusals into the API's 422."""
    try:
        return work()
    except RuleError as exc:
        raise Invalid(str(exc), exc.code) from exc


def _lang(lang: str | None) -> str:
    return lang if lang in LANGS else "zh"


def _event_of_order(db: Db, order: Order) -> int:
    session = db.get(EventSession, order.session_id)
    if session is None:  # an order always has its session; a broken row is not the buyer's fault
        raise NotFound(f"no session for order {order.id}")
    return session.event_id


def open_request(
    ctx: Context,
    account_id: int,
    *,
    category: str,
    message: str,
    order_id: int | None = None,
    event_id: int | None = None,
    lang: str | None = None,
    from_bot: bool = False,
    transcript: list[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """A buyer opens a request about one of their orders (or, without an order, about an event).

    ``transcript`` are earlier (author, text) lines, e.g. the bot conversation it was handed over from.
    """
    body = _checked(lambda: rules.check_message(message))
    _checked(lambda: rules.check_category(category))
    now = ctx.now()

    def work(db: Db) -> int:
        event = event_id
        if order_id is not None:
            order = db.get(Order, order_id)
            if order is None or order.account_id != account_id:
                raise NotFound(f"no order {order_id} of yours")
            event = _event_of_order(db, order)
        if event is None:
            raise Invalid("a request needs an order_id or an event_id", "invalid")
        if db.get(Event, event) is None:
            raise NotFound(f"no event {event}")
        step = rules.opened(category, now)
        row = SupportRequest(
            account_id=account_id,
            event_id=event,
            order_id=order_id,
            category=category,
            status=step.status,
            lang=_lang(lang),
            subject=" ".join(body.split())[:80],
            from_bot=from_bot,
            created_at=now,
            updated_at=now,
            reply_due_at=step.reply_due_at,
        )
        db.add(row)
        db.flush()
        for author, text in transcript or []:
            db.add(
                SupportMessage(
                    request_id=row.id, author=author, body=text[: rules.MAX_MESSAGE], created_at=now
                )
            )
        db.add(SupportMessage(request_id=row.id, author=BUYER, body=body, created_at=now))
        return row.id

    request_id = ctx.db.write(work)
    return buyer_request(ctx, account_id, request_id)


def _view(db: Db, row: SupportRequest, now: float, *, messages: bool, staff: bool) -> dict[str, Any]:
    event = db.get(Event, row.event_id)
    view: dict[str, Any] = {
        "id": row.id,
        "event_id": row.event_id,
        "event_name": event.name if event else "",
        "order_id": row.order_id,
        "category": row.category,
        "category_name": dict(zip(LANGS, rules.CATEGORY_NAMES[row.category], strict=True)),
        "status": row.status,
        "status_name": dict(zip(LANGS, rules.STATUS_NAMES[row.status], strict=True)),
        "lang": row.lang,
        "subject": row.subject,
        "from_bot": row.from_bot,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "first_reply_at": row.first_reply_at,
        "reply_due_at": row.reply_due_at,
        "overdue": rules.overdue(row.status, row.reply_due_at, now),
        "seconds_left": rules.seconds_left(row.status, row.reply_due_at, now),
    }
    if staff:
        account = db.get(Account, row.account_id)
        view["buyer"] = {
            "name": account.name if account else None,
            "email": account.email if account else None,
        }
    if messages:
        view["messages"] = [
            {"author": m.author, "body": m.body, "created_at": m.created_at}
            for m in db.scalars(
                select(SupportMessage).where(SupportMessage.request_id == row.id).order_by(SupportMessage.id)
            )
        ]
    return view


def _buyers(db: Db, account_id: int, request_id: int) -> SupportRequest:
    row = db.get(SupportRequest, request_id)
    if row is None or row.account_id != account_id:
        raise NotFound(f"no support request {request_id} of yours")
    return row


def _staffs(db: Db, organiser_id: int, request_id: int) -> SupportRequest:
    row = db.get(SupportRequest, request_id)
    if row is None:
        raise NotFound(f"no support request {request_id}")
    event = db.get(Event, row.event_id)
    if event is None or event.organiser_id != organiser_id:
        raise Forbidden(f"support request {request_id} is about another organiser's event")
    return row


def buyer_requests(ctx: Context, account_id: int) -> list[dict[str, Any]]:
    now = ctx.now()
    with ctx.db.read() as db:
        rows = db.scalars(
            select(SupportRequest)
            .where(SupportRequest.account_id == account_id)
            .order_by(SupportRequest.updated_at.desc())
            .limit(200)
        ).all()
        return [_view(db, r, now, messages=False, staff=False) for r in rows]


def buyer_request(ctx: Context, account_id: int, request_id: int) -> dict[str, Any]:
    now = ctx.now()
    with ctx.db.read() as db:
        return _view(db, _buyers(db, account_id, request_id), now, messages=True, staff=False)


def buyer_message(ctx: Context, account_id: int, request_id: int, message: str) -> dict[str, Any]:
    body = _checked(lambda: rules.check_message(message))
    now = ctx.now()

    def work(db: Db) -> None:
        row = _buyers(db, account_id, request_id)
        step = rules.after_buyer_message(row.status, row.reply_due_at, now)
        row.status, row.reply_due_at, row.solved_at, row.updated_at = (
            step.status,
            step.reply_due_at,
            None,
            now,
        )
        db.add(SupportMessage(request_id=row.id, author=BUYER, body=body, created_at=now))

    ctx.db.write(work)
    return buyer_request(ctx, account_id, request_id)


def buyer_set_status(ctx: Context, account_id: int, request_id: int, status: str) -> dict[str, Any]:
    """A buyer may mark their request solved, or reopen it; waiting_buyer is staff's to set."""
    if status == rules.WAITING_BUYER:
        raise Conflict("only staff set a request to waiting for buyer", "bad_status")
    now = ctx.now()

    def work(db: Db) -> None:
        row = _buyers(db, account_id, request_id)
        step = _checked(lambda: rules.set_status(row.status, status, row.reply_due_at, now))
        row.status, row.reply_due_at, row.solved_at, row.updated_at = (
            step.status,
            step.reply_due_at,
            step.solved_at,
            now,
        )

    ctx.db.write(work)
    return buyer_request(ctx, account_id, request_id)


def staff_requests(
    ctx: Context, organiser_id: int, *, event_id: int | None = None, status: str | None = None
) -> list[dict[str, Any]]:
    """The requests about this organiser's events, overdue first, then the oldest due."""
    now = ctx.now()
    with ctx.db.read() as db:
        query = (
            select(SupportRequest)
            .join(Event, Event.id == SupportRequest.event_id)
            .where(Event.organiser_id == organiser_id)
        )
        if event_id is not None:
            event = db.get(Event, event_id)
            if event is None:
                raise NotFound(f"no event {event_id}")
            if event.organiser_id != organiser_id:
                raise Forbidden(f"event {event_id} belongs to another organiser")
            query = query.where(SupportRequest.event_id == event_id)
        if status is not None:
            if status not in rules.STATUSES:
                raise Invalid(f"unknown status {status!r}", "bad_status")
            query = query.where(SupportRequest.status == status)
        rows = db.scalars(query.order_by(SupportRequest.updated_at.desc()).limit(500)).all()
        views = [_view(db, r, now, messages=False, staff=True) for r in rows]
    far = float("inf")
    views.sort(key=lambda v: (not v["overdue"], v["reply_due_at"] if v["reply_due_at"] is not None else far))
    return views


def staff_request(ctx: Context, organiser_id: int, request_id: int) -> dict[str, Any]:
    now = ctx.now()
    with ctx.db.read() as db:
        return _view(db, _staffs(db, organiser_id, request_id), now, messages=True, staff=True)


def staff_reply(
    ctx: Context,
    organiser_id: int,
    request_id: int,
    *,
    message: str | None,
    canned_id: int | None = None,
    then: str | None = None,
) -> dict[str, Any]:
    """Staff answer with their own text or a canned reply (in the request's language)."""
    now = ctx.now()

    def work(db: Db) -> None:
        row = _staffs(db, organiser_id, request_id)
        text = message
        if canned_id is not None:
            canned = db.get(CannedReply, canned_id)
            if canned is None or canned.organiser_id != organiser_id:
                raise NotFound(f"no canned reply {canned_id} of yours")
            text = canned.body_zh if row.lang == "zh" else canned.body_en
        body = _checked(lambda: rules.check_message(text or ""))
        step = _checked(lambda: rules.after_staff_message(row.status, then, now))
        row.status, row.reply_due_at, row.solved_at, row.updated_at = (
            step.status,
            step.reply_due_at,
            step.solved_at,
            now,
        )
        if row.first_reply_at is None:
            row.first_reply_at = now
        db.add(SupportMessage(request_id=row.id, author=STAFF, body=body, created_at=now))

    ctx.db.write(work)
    return staff_request(ctx, organiser_id, request_id)


def staff_set_status(ctx: Context, organiser_id: int, request_id: int, status: str) -> dict[str, Any]:
    now = ctx.now()

    def work(db: Db) -> None:
        row = _staffs(db, organiser_id, request_id)
        step = _checked(lambda: rules.set_status(row.status, status, row.reply_due_at, now))
        row.status, row.reply_due_at, row.solved_at, row.updated_at = (
            step.status,
            step.reply_due_at,
            step.solved_at,
            now,
        )

    ctx.db.write(work)
    return staff_request(ctx, organiser_id, request_id)


def _canned_view(row: CannedReply) -> dict[str, Any]:
    return {"id": row.id, "title": row.title, "body_zh": row.body_zh, "body_en": row.body_en}


def canned_replies(ctx: Context, organiser_id: int) -> list[dict[str, Any]]:
    with ctx.db.read() as db:
        rows = db.scalars(
            select(CannedReply).where(CannedReply.organiser_id == organiser_id).order_by(CannedReply.id)
        ).all()
        return [_canned_view(r) for r in rows]


def add_canned_reply(
    ctx: Context, organiser_id: int, title: str, body_zh: str, body_en: str
) -> dict[str, Any]:
    zh = _checked(lambda: rules.check_message(body_zh))
    en = _checked(lambda: rules.check_message(body_en))

    def work(db: Db) -> dict[str, Any]:
        row = CannedReply(
            organiser_id=organiser_id, title=title.strip()[:100], body_zh=zh, body_en=en, created_at=ctx.now()
        )
        db.add(row)
        db.flush()
        return _canned_view(row)

    result: dict[str, Any] = ctx.db.write(work)
    return result


def delete_canned_reply(ctx: Context, organiser_id: int, canned_id: int) -> None:
    def work(db: Db) -> None:
        row = db.get(CannedReply, canned_id)
        if row is None or row.organiser_id != organiser_id:
            raise NotFound(f"no canned reply {canned_id} of yours")
        db.delete(row)

    ctx.db.write(work)


def add_bot_note(ctx: Context, request_id: int, text: str) -> None:
    """The bot's reply in the thread of a request it handed over (no status change)."""

    def work(db: Db) -> None:
        db.add(
            SupportMessage(
                request_id=request_id, author=BOT, body=text[: rules.MAX_MESSAGE], created_at=ctx.now()
            )
        )

    ctx.db.write(work)
