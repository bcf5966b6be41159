"""The bot's adapter: the event's FAQ (stored, edited by its promoter) and the asking buyer's
own orders, read here and handed to the pure ``support.bot``.

The only orders ever read are ``Order.account_id == <the authenticated buyer>``: the bot is
never given another buyer's data, so it cannot reveal it whatever it is asked.
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session as Db

from box_office.catalog.ownership import owned_event
from box_office.context import Context
from box_office.core.orders import effective_order_status
from box_office.errors import Conflict, Invalid, NotFound
from box_office.store.models import (
    Account,
    Event,
    GaArea,
    Order,
    SessionGa,
    SupportFaq,
    SupportRequest,
    Ticket,
)
from box_office.store.models import (
    Session as EventSession,
)
from box_office.support import desk, rules
from box_office.support.bot import BotAnswer, FaqEntry, FaqIndex, OrderFacts, TicketFacts, answer
from box_office.support.faq_template import TEMPLATE

MAX_FAQ_ENTRIES = 100
_FIELDS = ("topic", "question_zh", "question_en", "answer_zh", "answer_en", "keywords")


class _IndexCache:
    """One built FaqIndex per event and FAQ version (count and last edit): segmenting the FAQ
    costs milliseconds, a question must not pay it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._built: dict[int, tuple[tuple[int, float], FaqIndex]] = {}

    def get(self, event_id: int, version: tuple[int, float], entries: list[FaqEntry]) -> FaqIndex:
        with self._lock:
            known = self._built.get(event_id)
        if known is not None and known[0] == version:
            return known[1]
        index = FaqIndex(entries)
        with self._lock:
            self._built[event_id] = (version, index)
        return index


_CACHE = _IndexCache()


def _entry_view(row: SupportFaq) -> dict[str, Any]:
    return {f: getattr(row, f) for f in _FIELDS}


def faq(ctx: Context, event_id: int) -> list[dict[str, Any]]:
    """The event's FAQ, public: what buyers read before asking."""
    with ctx.db.read() as db:
        if db.get(Event, event_id) is None:
            raise NotFound(f"no event {event_id}")
        rows = db.scalars(
            select(SupportFaq).where(SupportFaq.event_id == event_id).order_by(SupportFaq.id)
        ).all()
        return [_entry_view(r) for r in rows]


def put_faq(
    ctx: Context, organiser_id: int, event_id: int, entries: list[dict[str, str]]
) -> list[dict[str, Any]]:
    """Replace the event's FAQ (the promoter's own event only)."""
    if len(entries) > MAX_FAQ_ENTRIES:
        raise Invalid(f"at most {MAX_FAQ_ENTRIES} FAQ entries", "too_many")
    topics = [e["topic"] for e in entries]
    if len(set(topics)) != len(
        topics
    ):  # entries that conflict with each other: 409, as the schema cannot say it
        raise Conflict("each FAQ topic appears once", "duplicate_topic")
    now = ctx.now()

    def work(db: Db) -> None:
        owned_event(db, organiser_id, event_id)
        db.execute(delete(SupportFaq).where(SupportFaq.event_id == event_id))
        for e in entries:
            db.add(SupportFaq(event_id=event_id, updated_at=now, **{f: e.get(f, "") for f in _FIELDS}))

    ctx.db.write(work)
    return faq(ctx, event_id)


def _index(db: Db, event_id: int) -> FaqIndex:
    count, last = db.execute(
        select(func.count(SupportFaq.id), func.max(SupportFaq.updated_at)).where(
            SupportFaq.event_id == event_id
        )
    ).one()
    version = (int(count), float(last or 0.0))
    known = _CACHE._built.get(event_id)
    if known is not None and known[0] == version:
        return known[1]
    rows = db.scalars(select(SupportFaq).where(SupportFaq.event_id == event_id).order_by(SupportFaq.id)).all()
    return _CACHE.get(event_id, version, [FaqEntry(**{f: getattr(r, f) for f in _FIELDS}) for r in rows])


def buyer_order_facts(db: Db, account_id: int, event_id: int, now: float) -> list[OrderFacts]:
    """The asking buyer's orders for this event, newest first. The one query that decides whose
    data the bot sees: ``Order.account_id == account_id``."""
    rows = db.execute(
        select(Order, EventSession, Event)
        .join(EventSession, EventSession.id == Order.session_id)
        .join(Event, Event.id == EventSession.event_id)
        .where(Order.account_id == account_id, EventSession.event_id == event_id)
        .order_by(Order.id.desc())
        .limit(10)
    ).all()
    facts = []
    for order, session, event in rows:
        tickets = db.execute(
            select(Ticket, GaArea.name)
            .outerjoin(SessionGa, SessionGa.id == Ticket.ga_id)
            .outerjoin(GaArea, (GaArea.code == SessionGa.code) & (GaArea.venue_id == event.venue_id))
            .where(Ticket.order_id == order.id)
            .order_by(Ticket.seat_label, Ticket.id)
        ).all()
        facts.append(
            OrderFacts(
                order_id=order.id,
                event_name=event.name,
                session_name=session.name,
                starts_at=session.starts_at,
                status=effective_order_status(order.status, order.expires_at, now),
                total_cents=order.total_cents,
                currency=order.currency,
                expires_at=order.expires_at,
                tickets=tuple(
                    TicketFacts(
                        ticket_id=t.id,
                        seat_label=t.seat_label,
                        area_name=area,
                        zone=t.zone,
                        ticket_type=t.ticket_type,
                        status=t.status,
                        checked_in=t.checked_in_at is not None,
                    )
                    for t, area in tickets
                ),
            )
        )
    return facts


def bot_answer(ctx: Context, account_id: int, event_id: int, question: str, lang: str | None) -> BotAnswer:
    """Answer without storing anything (what the benchmark measures)."""
    now = ctx.now()
    with ctx.db.read() as db:
        if db.get(Event, event_id) is None:
            raise NotFound(f"no event {event_id}")
        account = db.get(Account, account_id)
        contacts = [c for c in ((account.email, account.phone) if account else ()) if c]
        index = _index(db, event_id)
        orders = buyer_order_facts(db, account_id, event_id, now)
    return answer(question, index, orders, now, lang_hint=lang, own_contacts=contacts)


def ask(
    ctx: Context, account_id: int, event_id: int, question: str, lang: str | None, *, hand_over: bool = True
) -> dict[str, Any]:
    """A buyer asks the bot. When it does not know (or the buyer asks for a person) and
    ``hand_over`` is on, a support request is opened with the question and the bot's reply, so
    staff see the conversation and answer in it."""
    text = question.strip(" \t\n\r\f\v")
    if not text:
        raise Invalid("ask a question", "empty_message")
    reply = bot_answer(ctx, account_id, event_id, text, lang)
    result: dict[str, Any] = {
        "kind": reply.kind,
        "text": reply.text,
        "topic": reply.topic,
        "intent": reply.intent,
        "confidence": round(reply.confidence, 3),
        "request": None,
    }
    if reply.kind == "handover" and hand_over:
        waiting = _open_bot_request(ctx, account_id, event_id)
        if waiting is not None:  # one conversation with staff at a time: asking again adds to it
            desk.buyer_message(ctx, account_id, waiting, text)
            desk.add_bot_note(ctx, waiting, reply.text)
            result["request"] = desk.buyer_request(ctx, account_id, waiting)
            return result
        order_id = _latest_order(ctx, account_id, event_id)
        result["request"] = desk.open_request(
            ctx,
            account_id,
            category=reply.category,
            message=text,
            order_id=order_id,
            event_id=event_id,
            lang="zh" if any("\u3400" <= ch <= "\u9fff" for ch in text) else (lang or "en"),
            from_bot=True,
        )
        desk.add_bot_note(ctx, result["request"]["id"], reply.text)
    return result


def _open_bot_request(ctx: Context, account_id: int, event_id: int) -> int | None:
    """The buyer's request for this event that the bot handed over and staff have not solved."""
    with ctx.db.read() as db:
        found = db.scalar(
            select(SupportRequest.id)
            .where(
                SupportRequest.account_id == account_id,
                SupportRequest.event_id == event_id,
                SupportRequest.from_bot.is_(True),
                SupportRequest.status != rules.SOLVED,
            )
            .order_by(SupportRequest.id.desc())
            .limit(1)
        )
    return int(found) if found is not None else None


def _latest_order(ctx: Context, account_id: int, event_id: int) -> int | None:
    with ctx.db.read() as db:
        found = db.scalar(
            select(Order.id)
            .join(EventSession, EventSession.id == Order.session_id)
            .where(Order.account_id == account_id, EventSession.event_id == event_id)
            .order_by(Order.id.desc())
            .limit(1)
        )
    return int(found) if found is not None else None


def template() -> list[dict[str, Any]]:
    return [dict(e) for e in TEMPLATE]
