"""Transfers: a buyer offers a ticket to another account, which accepts (or declines).

On acceptance, in one transaction: the ticket moves to a new order of the recipient (a
zero-amount order, so the money stays with the order that paid it: a transferred ticket is
never refunded to its recipient), its seat follows it in the ledger, and it is signed again at
``version + 1`` (for real-name sessions with the recipient as holder, after the one-ID-one-
ticket check); the feed carries the change, so the gates refuse the old QR.

The promoter sets per event whether transfers are allowed, how many times a ticket may move,
and how many hours before the show they close (``PUT /api/events/{id}/transfer-rules``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session as Db

from box_office.aftersales import refund_requests
from box_office.catalog.keys import identity_key
from box_office.catalog.ownership import load_session, owned_event
from box_office.context import Context
from box_office.core.errors import RuleError
from box_office.core.holders import identify
from box_office.core.orders import OPENED, PAID, TICKETED
from box_office.errors import Conflict, Forbidden, Invalid, NotFound
from box_office.feed import service as feed
from box_office.sales import ledger, order_state
from box_office.sales.issuing import sign_ticket
from box_office.sales.limits import live_counts
from box_office.sales.outbox import queue_delivery
from box_office.store.models import Account, EventTransferRules, Order, Ticket, TicketTransfer

HOUR = 3600.0
DEFAULT_RULES = {"allowed": True, "max_per_ticket": None, "lock_hours": 0.0}


def _rules(db: Db, event_id: int) -> dict[str, Any]:
    row = db.get(EventTransferRules, event_id)
    if row is None:
        return dict(DEFAULT_RULES)
    return {"allowed": row.allowed, "max_per_ticket": row.max_per_ticket, "lock_hours": row.lock_hours}


def set_rules(ctx: Context, organiser_id: int, event_id: int, body: dict[str, Any]) -> dict[str, Any]:
    def work(db: Db) -> dict[str, Any]:
        owned_event(db, organiser_id, event_id)
        row = db.get(EventTransferRules, event_id)
        if row is None:
            row = EventTransferRules(event_id=event_id)
            db.add(row)
        row.allowed = bool(body["allowed"])
        row.max_per_ticket = body.get("max_per_ticket")
        row.lock_hours = float(body.get("lock_hours") or 0)
        row.updated_at = ctx.now()
        return {"event_id": event_id, **_rules_of(row)}

    return ctx.db.write(work)


def _rules_of(row: EventTransferRules) -> dict[str, Any]:
    return {"allowed": row.allowed, "max_per_ticket": row.max_per_ticket, "lock_hours": row.lock_hours}


def _check_movable(ctx: Context, db: Db, ticket: Ticket, order: Order) -> None:
    """Refuse what cannot move: used, not valid, refund asked, rules of the promoter."""
    if order.status != TICKETED or ticket.status != "valid":
        raise Conflict(f"ticket {ticket.id} is {ticket.status}: it cannot be transferred", "bad_state")
    if ticket.checked_in_at is not None:
        raise Conflict("this ticket has already been used at the venue", "entered")
    if ticket.id in refund_requests.claimed_tickets(db, order.id):
        raise Conflict(f"ticket {ticket.id} has a refund request", "refund_requested")
    rules = _rules(db, ticket.event_id)
    if not rules["allowed"]:
        raise Conflict("the promoter does not allow transfers for this show", "transfers_forbidden")
    session = load_session(db, ticket.session_id)
    if session.starts_at - ctx.now() < rules["lock_hours"] * HOUR:
        raise Conflict("transfers for this show are closed", "transfers_closed")
    if rules["max_per_ticket"] is not None:
        done = db.scalar(
            select(func.count(TicketTransfer.id)).where(
                TicketTransfer.ticket_id == ticket.id, TicketTransfer.status == "accepted"
            )
        )
        if int(done or 0) >= rules["max_per_ticket"]:
            raise Conflict(
                "this ticket has been transferred as often as the promoter allows", "transfer_limit"
            )


def offer(ctx: Context, account_id: int, ticket_id: str, to_email: str) -> dict[str, Any]:
    def work(db: Db) -> int:
        ticket = db.get(Ticket, ticket_id)
        if ticket is None:
            raise NotFound(f"no ticket {ticket_id}")
        order = refund_requests.lock_order(db, ticket.order_id)
        if order.account_id != account_id:
            raise Forbidden(f"ticket {ticket_id} belongs to another buyer")
        _check_movable(ctx, db, ticket, order)
        sender = db.get(Account, account_id)
        if sender is not None and sender.email.lower() == to_email.strip().lower():
            raise Invalid("a ticket cannot be transferred to its own account", "self_transfer")
        open_offer = db.scalar(
            select(TicketTransfer.id).where(
                TicketTransfer.ticket_id == ticket_id, TicketTransfer.status == "offered"
            )
        )
        if open_offer is not None:
            raise Conflict(
                f"ticket {ticket_id} is already offered (transfer {open_offer})", "already_offered"
            )
        transfer = TicketTransfer(
            ticket_id=ticket_id,
            from_account=account_id,
            to_email=to_email.strip().lower(),
            status="offered",
            created_at=ctx.now(),
        )
        db.add(transfer)
        db.flush()
        return transfer.id

    return get_transfer(ctx, ctx.db.write(work))


def incoming(ctx: Context, account_id: int) -> list[dict[str, Any]]:
    with ctx.db.read() as db:
        account = db.get(Account, account_id)
        assert account is not None
        rows = db.scalars(
            select(TicketTransfer)
            .where(TicketTransfer.to_email == account.email.lower(), TicketTransfer.status == "offered")
            .order_by(TicketTransfer.id)
        ).all()
        return [_view(db, r) for r in rows]


def accept(ctx: Context, account_id: int, transfer_id: int, holder: dict[str, str] | None) -> dict[str, Any]:
    """The recipient accepts: the ticket becomes theirs (see the module docstring)."""

    def work(db: Db) -> None:
        transfer = db.get(TicketTransfer, transfer_id)
        account = db.get(Account, account_id)
        if transfer is None or account is None:
            raise NotFound(f"no transfer {transfer_id}")
        if transfer.to_email != account.email.lower():
            raise Forbidden(f"transfer {transfer_id} is offered to someone else")
        ticket = db.get(Ticket, transfer.ticket_id)
        assert ticket is not None
        old_order = refund_requests.lock_order(db, ticket.order_id)
        db.refresh(transfer)
        if transfer.status != "offered":
            raise Conflict(f"transfer {transfer_id} is {transfer.status}", "not_offered")
        if old_order.account_id != transfer.from_account:
            raise Conflict("the ticket changed hands meanwhile", "not_offered")
        _check_movable(ctx, db, ticket, old_order)
        session = load_session(db, ticket.session_id)
        now = ctx.now()
        if session.real_name:
            if holder is None:
                raise Invalid("a real-name show: the recipient's name and ID are needed", "holder_required")
            try:
                who = identify(
                    identity_key(ctx, db, ticket.event_id),
                    holder["name"],
                    holder["id_type"],
                    holder["id_number"],
                )
            except RuleError as exc:
                raise Invalid(str(exc), exc.code) from None
            ctx.db.lock_subjects(db, [f"id:{session.id}:{who.id_digest}"])
            _, _, per_id = live_counts(db, session.id, None, None, [who.id_digest], now)
            if per_id[who.id_digest] > 0:  # one ID, one ticket per show
                raise Conflict(f"{who.masked_id} already holds a ticket for this show", "id_has_ticket")
            ticket.holder_enc = ctx.vault.seal_json(who.sealed)
            ticket.holder_masked = who.masked
            ticket.id_digest = who.id_digest
            ticket.name_digest = who.name_digest
        new_order = _recipient_order(db, session.id, account, old_order, transfer_id, now)
        if ticket.seat_label is not None:
            ledger.move_seat_to_order(db, session.id, ticket.seat_label, old_order.id, new_order.id, now)
        ticket.order_id = new_order.id
        ticket.version += 1
        sign_ticket(ctx, db, ticket, session)
        transfer.status = "accepted"
        transfer.to_account = account_id
        transfer.new_order_id = new_order.id
        transfer.decided_at = now
        db.flush()
        queue_delivery(ctx, db, new_order)
        kind = "identity_changed" if session.real_name else "changed"
        feed.append(ctx, db, [(kind, ticket, session.real_name)])

    ctx.db.write(work)
    return get_transfer(ctx, transfer_id)


def _recipient_order(
    db: Db, session_id: int, account: Account, old: Order, transfer_id: int, now: float
) -> Order:
    """A zero-amount, ticketed order of the recipient that the transferred ticket joins."""
    hold_id = ledger.open_hold(db, session_id, account.id, None, 0, now, now)
    fields: dict[str, Any] = {
        "session_id": session_id,
        "account_id": account.id,
        "device_id": None,
        "hold_id": hold_id,
        "idempotency_key": f"transfer-{transfer_id}",
        "request_digest": "transfer",
        "status": OPENED,
        "total_cents": 0,
        "currency": old.currency,
        "email": account.email,
        "phone": account.phone,
        "expires_at": now,
        "created_at": now,
    }
    order_id: int = db.connection().execute(insert(Order).values(**fields).returning(Order.id)).scalar_one()
    ledger.sell_hold(db, hold_id, order_id, {}, now)
    order_state.move_if(db, order_id, OPENED, PAID, paid_at=now)
    order_state.move_if(db, order_id, PAID, TICKETED, ticketed_at=now, reason=f"transfer {transfer_id}")
    order = db.get(Order, order_id)
    assert order is not None
    return order


def decline_or_cancel(ctx: Context, account_id: int, transfer_id: int) -> dict[str, Any]:
    """The recipient declines, or the sender takes the offer back."""

    def work(db: Db) -> None:
        transfer = db.get(TicketTransfer, transfer_id)
        account = db.get(Account, account_id)
        if transfer is None or account is None:
            raise NotFound(f"no transfer {transfer_id}")
        if account_id == transfer.from_account:
            new_status = "cancelled"
        elif transfer.to_email == account.email.lower():
            new_status = "declined"
        else:
            raise Forbidden(f"transfer {transfer_id} is someone else's")
        if transfer.status != "offered":
            raise Conflict(f"transfer {transfer_id} is {transfer.status}", "not_offered")
        transfer.status = new_status
        transfer.decided_at = ctx.now()

    ctx.db.write(work)
    return get_transfer(ctx, transfer_id)


def _view(db: Db, transfer: TicketTransfer) -> dict[str, Any]:
    ticket = db.get(Ticket, transfer.ticket_id)
    return {
        "id": transfer.id,
        "ticket_id": transfer.ticket_id,
        "seat": ticket.seat_label if ticket is not None else None,
        "zone": ticket.zone if ticket is not None else None,
        "event_id": ticket.event_id if ticket is not None else None,
        "to_email": transfer.to_email,
        "status": transfer.status,
        "new_order_id": transfer.new_order_id,
        "created_at": transfer.created_at,
        "decided_at": transfer.decided_at,
    }


def get_transfer(ctx: Context, transfer_id: int) -> dict[str, Any]:
    with ctx.db.read() as db:
        transfer = db.get(TicketTransfer, transfer_id)
        if transfer is None:
            raise NotFound(f"no transfer {transfer_id}")
        return _view(db, transfer)
