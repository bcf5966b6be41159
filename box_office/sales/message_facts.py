"""Read what a buyer message needs for some orders: names (event, venue, session, zone, ticket
type, standing area), the session's time, tickets and their QR text, the buyer's language."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from box_office.context import Context
from box_office.notify.compose import new_cid
from box_office.notify.messages import OrderFacts, TicketFacts, choose_language
from box_office.store.models import Account, Event, Order, Session, SessionGa, Ticket, TicketType, Venue, Zone

DEFAULT_TIMEZONE = "Asia/Shanghai"


def timezone_of(ctx: Context) -> str:
    """The venue's clock: ``BOX_OFFICE_TIMEZONE`` (settings.extra["timezone"]), Asia/Shanghai by default."""
    return ctx.settings.extra.get("timezone", DEFAULT_TIMEZONE)


def order_facts(ctx: Context, order_ids: list[int]) -> dict[int, tuple[OrderFacts, dict[str, str]]]:
    """Per order: its facts (valid tickets only) and the QR text of those tickets."""
    if not order_ids:
        return {}
    with ctx.db.read() as db:
        heads = db.execute(
            select(Order, Session, Event, Venue.name, Account)
            .join(Session, Session.id == Order.session_id)
            .join(Event, Event.id == Session.event_id)
            .join(Venue, Venue.id == Event.venue_id)
            .join(Account, Account.id == Order.account_id)
            .where(Order.id.in_(order_ids))
        ).all()
        event_ids = {event.id for _, _, event, _, _ in heads}
        zones = {
            (z.event_id, z.code): z.name for z in db.scalars(select(Zone).where(Zone.event_id.in_(event_ids)))
        }
        types = {
            (t.event_id, t.code): t.name
            for t in db.scalars(select(TicketType).where(TicketType.event_id.in_(event_ids)))
        }
        tickets = db.execute(
            select(Ticket, SessionGa.name)
            .outerjoin(SessionGa, SessionGa.id == Ticket.ga_id)
            .where(Ticket.order_id.in_(order_ids))
            .order_by(Ticket.order_id, Ticket.seat_label, Ticket.id)
        ).all()
    by_order: dict[int, list[tuple[Ticket, str | None]]] = {}
    for row_ticket, row_area in tickets:
        by_order.setdefault(row_ticket.order_id, []).append((row_ticket, row_area))
    base = ctx.settings.public_url.rstrip("/")
    tz = timezone_of(ctx)
    out: dict[int, tuple[OrderFacts, dict[str, str]]] = {}
    for order, session, event, venue_name, account in heads:
        valid = [(t, a) for t, a in by_order.get(order.id, []) if t.status == "valid"]
        ticket_facts = []
        tokens: dict[str, str] = {}
        for ticket, area in valid:
            bound = ticket.device_key is not None  # its picture would be refused: no QR mailed
            cid: str | None = new_cid(ticket.id) if ticket.token and not bound else None
            if ticket.token and not bound:
                tokens[ticket.id] = ticket.token
            ticket_facts.append(
                TicketFacts(
                    id=ticket.id,
                    zone_name=zones.get((event.id, ticket.zone), ticket.zone),
                    type_name=types.get((event.id, ticket.ticket_type), ticket.ticket_type),
                    place=ticket.seat_label or area or "",
                    seated=ticket.seat_label is not None,
                    holder=ticket.holder_masked,
                    price_cents=ticket.price_cents,
                    qr_cid=cid,
                    live_url=f"{base}/tickets/{ticket.id}/live" if bound else None,
                )
            )
        preferred: Any = getattr(account, "language", None) or getattr(account, "locale", None)
        out[order.id] = (
            OrderFacts(
                order_id=order.id,
                event_name=event.name,
                venue_name=venue_name,
                session_name=session.name,
                starts_at=session.starts_at,
                ends_at=session.ends_at,
                timezone=tz,
                currency=order.currency,
                total_cents=order.total_cents,
                order_url=f"{base}/me/orders/{order.id}",
                language=choose_language(preferred, order.phone, order.email),
                tickets=tuple(ticket_facts),
            ),
            tokens,
        )
    return out
