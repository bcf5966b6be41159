"""Issuing: sign the tickets of a paid order, feed them to the venue, queue their delivery.

All three happen in one transaction (order ``paid -> ticketed``): a ticket exists, is on the
venue feed and has its e-mail/SMS queued, or none of it happened. If the process dies
between payment and issuing, :func:`issue_pending` (run by the sweeper) finishes the job.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session as Db
from sqlalchemy.orm.attributes import set_committed_value

from box_office.catalog.cache import SessionFacts
from box_office.catalog.keys import active_signing_key
from box_office.catalog.ownership import load_session, owned_event
from box_office.context import Context
from box_office.core.orders import PAID, TICKETED
from box_office.core.tickets import ticket_window
from box_office.errors import Conflict, NotFound
from box_office.feed import service as feed
from box_office.promotions import group_buy
from box_office.sales import order_state
from box_office.sales.outbox import queue_delivery
from box_office.store.models import Order, Session, Ticket
from ticket_format import SigningKey, TicketClaims, issue
from ticket_format.rotating import bind_device_key

log = logging.getLogger(__name__)


def sign_ticket(
    ctx: Context, db: Db, ticket: Ticket, session: Session | SessionFacts, key: SigningKey | None = None
) -> None:
    """(Re)sign the ticket's current version with ``key`` or else the event's active key."""
    if key is None:
        key = active_signing_key(ctx, db, ticket.event_id)
    ticket.token, ticket.kid = _signed(ticket, session, key)


def _signed(ticket: Ticket, session: Session | SessionFacts, key: SigningKey) -> tuple[str, str]:
    """The token for the ticket's current version, and the key id it is signed with."""
    valid_from, valid_until = ticket_window(session.starts_at, session.ends_at)
    claims = TicketClaims(
        ticket_id=ticket.id,
        event_id=ticket.event_id,
        session_id=ticket.session_id,
        zone=ticket.zone,
        seat=ticket.seat_label,
        ticket_type=ticket.ticket_type,
        valid_from=valid_from,
        valid_until=valid_until,
        version=ticket.version,
    )
    if ticket.device_key is not None:  # bound to the buyer's phone: every version stays bound
        claims = bind_device_key(claims, ticket.device_key)
    return issue(claims, key), key.kid.hex()


def sign_all(
    ctx: Context, db: Db, tickets: Sequence[Ticket], facts: SessionFacts
) -> list[tuple[str, str]] | None:
    """Every ticket's token and key id, written nowhere yet; None (and logged) if signing cannot
    be done now (no usable key): the caller then records the payment and leaves issuing to
    the sweeper, so money is never refused because tickets could not be signed."""
    try:
        key = active_signing_key(ctx, db, facts.event_id)
        return [_signed(ticket, facts, key) for ticket in tickets]
    except Exception:
        log.exception(
            "cannot sign the tickets of event %s now; issuing is left to the sweeper", facts.event_id
        )
        return None


def issue_order(ctx: Context, order_id: int) -> bool:
    """Issue the tickets of a paid order; False if it was not (or no longer) waiting for tickets."""
    return ctx.db.write(lambda db: issue_in(ctx, db, order_id))


def issue_in(ctx: Context, db: Db, order_id: int) -> bool:
    """Issue a paid order's tickets inside the caller's transaction (``paid -> ticketed``).

    For an order left ``paid`` (signing failed, or the process died in between): the sweeper's
    :func:`issue_pending` calls this. A payment notification issues through
    :func:`issue_tickets` directly, in the transaction that records the payment.
    """
    order = db.get(Order, order_id)
    if order is None or order.status != PAID:
        return False
    tickets = db.scalars(select(Ticket).where(Ticket.order_id == order_id).order_by(Ticket.id)).all()
    facts = ctx.catalog.session(db, order.session_id)
    signed = sign_all(ctx, db, tickets, facts)
    return signed is not None and issue_tickets(ctx, db, order, tickets, facts, signed)


def issue_tickets(
    ctx: Context,
    db: Db,
    order: Order,
    tickets: Sequence[Ticket],
    facts: SessionFacts,
    signed: Sequence[tuple[str, str]],
) -> bool:
    """Move the order ``paid -> ticketed``, give its tickets their tokens (from :func:`sign_all`),
    queue delivery, write the feed. False (and nothing written) if the order was no longer
    ``paid``. The feed entries are the last write, as :func:`feed.append` requires.
    """
    now = ctx.now()
    if not order_state.move_if(db, order.id, PAID, TICKETED, ticketed_at=now):
        return False
    pairs = list(zip(tickets, signed, strict=True))
    db.connection().execute(
        update(Ticket)
        .where(Ticket.id == bindparam("b_id"))
        .values(status="valid", token=bindparam("b_token"), kid=bindparam("b_kid")),
        [{"b_id": t.id, "b_token": token, "b_kid": kid} for t, (token, kid) in pairs],
    )
    for ticket, (token, kid) in pairs:  # tell the loaded objects what was written, without a flush
        set_committed_value(ticket, "status", "valid")
        set_committed_value(ticket, "token", token)
        set_committed_value(ticket, "kid", kid)
    queue_delivery(ctx, db, order)
    feed.append(ctx, db, [("issued", t, facts.real_name) for t in tickets])
    return True


def issue_pending(ctx: Context) -> int:
    """Finish issuing for orders left paid but not ticketed (a crash between the two steps)."""
    with ctx.db.read() as db:
        ids = db.scalars(
            select(Order.id)
            .where(Order.status == PAID, Order.id.not_in(group_buy.waiting_orders()))
            .limit(200)
        ).all()
    return sum(issue_order(ctx, order_id) for order_id in ids)


def reissue(ctx: Context, organiser_id: int, ticket_id: str) -> dict[str, object]:
    """Re-issue a ticket with a higher version (lost phone, leaked QR): the old QR stops working."""

    def work(db: Db) -> dict[str, object]:
        ticket = _live_ticket(db, ticket_id)
        owned_event(db, organiser_id, ticket.event_id)
        session = load_session(db, ticket.session_id)
        ticket.version += 1
        sign_ticket(ctx, db, ticket, session)
        order = db.get(Order, ticket.order_id)
        assert order is not None
        queue_delivery(ctx, db, order)
        feed.append(ctx, db, [("changed", ticket, session.real_name)])
        return {"id": ticket.id, "version": ticket.version}

    return ctx.db.write(work)


def _live_ticket(db: Db, ticket_id: str) -> Ticket:
    ticket = db.get(Ticket, ticket_id)
    if ticket is None or ticket.status == "pending":
        raise NotFound(f"no ticket {ticket_id}")
    if ticket.status != "valid":
        raise Conflict(f"ticket {ticket_id} is {ticket.status}", "bad_state")
    if ticket.checked_in_at is not None:
        raise Conflict("this ticket has already been used at the venue", "already_used")
    return ticket
