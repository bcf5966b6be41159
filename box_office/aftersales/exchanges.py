"""Exchanges: a ticket moved to another seat of its session, re-issued at a higher version.

One transaction: the new seat is sold to the order and the old one put back on sale (one
conditional UPDATE each, in ``sales/ledger.py``); the ticket gets the new seat, zone and price
and is signed again at ``version + 1``; the feed carries the change, so the gates refuse the
old QR (contract 5: a lower version is refused). A cheaper seat refunds the difference through
the payment's provider (a refund request of status ``exchange``, which leaves the ticket
refundable later) with a 红字 credit (reason ``sales_discount``) if the order was invoiced.
A dearer seat needs a top-up payment, which is not built yet: refused with ``top_up_required``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session as Db

from box_office.aftersales import invoices, refund_requests
from box_office.context import Context
from box_office.core.errors import RuleError
from box_office.core.invoice_rules import SALES_DISCOUNT
from box_office.core.orders import TICKETED
from box_office.core.pricing import TicketTypeRule, price_of
from box_office.errors import Conflict, Forbidden, Invalid, NotFound
from box_office.feed import service as feed
from box_office.payments.provider import ProviderRegistry
from box_office.sales import ledger
from box_office.sales.issuing import sign_ticket
from box_office.sales.outbox import queue_delivery
from box_office.store.models import Refund, RefundRequest, Ticket


def exchange_seat(
    ctx: Context, providers: ProviderRegistry, account_id: int, ticket_id: str, new_seat: str
) -> dict[str, Any]:
    """Move the buyer's ticket to ``new_seat`` of the same session (see the module docstring)."""

    def work(db: Db) -> tuple[int, int, str, str, int, int | None]:
        ticket = db.get(Ticket, ticket_id)
        if ticket is None:
            raise NotFound(f"no ticket {ticket_id}")
        order = refund_requests.lock_order(db, ticket.order_id)
        if order.account_id != account_id:
            raise Forbidden(f"ticket {ticket_id} belongs to another buyer")
        db.refresh(ticket)
        if order.status != TICKETED or ticket.status != "valid":
            raise Conflict(f"ticket {ticket_id} is {ticket.status}: it cannot be exchanged", "bad_state")
        if ticket.checked_in_at is not None:
            raise Conflict("this ticket has already been used at the venue", "entered")
        if ticket.seat_label is None:
            raise Conflict("general-admission tickets cannot change seats", "not_seated")
        if ticket.id in refund_requests.claimed_tickets(db, order.id):
            raise Conflict(f"ticket {ticket_id} has a refund request", "refund_requested")
        if new_seat == ticket.seat_label:
            raise Invalid("that is the ticket's own seat", "same_seat")
        now = ctx.now()
        facts = ctx.catalog.session(db, order.session_id)
        taken = ledger.swap_seat(db, order.session_id, order.id, ticket.seat_label, new_seat, now)
        if taken is None:
            raise Conflict(f"seat {new_seat} is not available", "seat_unavailable")
        zone_id, box = taken
        zone = facts.zones[zone_id]
        kind = facts.types[ticket.ticket_type]
        try:
            price = price_of(
                zone.code,
                zone.price_cents,
                TicketTypeRule(kind.code, kind.kind, kind.prices),
                box is not None,
            )
        except RuleError as exc:
            raise Conflict(str(exc), exc.code) from None
        difference = ticket.price_cents - price
        if difference < 0:
            raise Conflict(
                f"seat {new_seat} costs {-difference} more: a top-up payment is needed (not available yet)",
                "top_up_required",
            )
        old_seat = ticket.seat_label
        ticket.seat_label, ticket.zone, ticket.price_cents = new_seat, zone.code, price
        ticket.version += 1
        sign_ticket(ctx, db, ticket, facts)
        request_id = None
        if difference > 0:
            request_id = _refund_difference(
                ctx, db, order.id, order.account_id, order.session_id, ticket, difference
            )
        queue_delivery(ctx, db, order)
        feed.append(ctx, db, [("changed", ticket, facts.real_name)])
        return order.id, ticket.version, old_seat, new_seat, difference, request_id

    order_id, version, old_seat, seat, difference, request_id = ctx.db.write(work)
    if request_id is not None:
        refund_requests.run_refunds(ctx, providers, request_id)
    refund = refund_requests.request_view(ctx, request_id) if request_id is not None else None
    return {
        "ticket_id": ticket_id,
        "order_id": order_id,
        "old_seat": old_seat,
        "seat": seat,
        "version": version,
        "refunded_cents": difference,
        "refund": refund,
    }


def _refund_difference(
    ctx: Context, db: Db, order_id: int, account_id: int, session_id: int, ticket: Ticket, amount: int
) -> int:
    payment = refund_requests.paid_payment(db, order_id)
    assert payment is not None
    amount = min(amount, refund_requests.remaining_cents(db, payment))
    now = ctx.now()
    request = RefundRequest(
        order_id=order_id,
        account_id=account_id,
        session_id=session_id,
        ticket_ids=[ticket.id],
        amount_cents=amount,
        percent=100,
        fee_cents=0,
        basis="exchange",
        reason=None,
        status="exchange",
        note=f"exchange to {ticket.seat_label}",
        created_at=now,
        decided_at=now,
    )
    db.add(request)
    db.flush()
    seq = len(db.scalars(select(Refund.id).where(Refund.order_id == order_id)).all())
    db.add(
        Refund(
            refund_no=f"R{order_id}-{seq + 1}",
            request_id=request.id,
            order_id=order_id,
            payment_id=payment.id,
            provider=payment.provider,
            amount_cents=amount,
            status="pending",
            attempts=0,
            created_at=now,
        )
    )
    invoices.credit_in(ctx, db, order_id, [ticket.id], amount, SALES_DISCOUNT)
    return request.id
