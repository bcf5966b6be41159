"""One call per buyer message kind, for the features that cause them (after-sales, support,
the organiser's console). Each queues the e-mail (and SMS when the order has a phone) in the
caller's transaction; the delivery loop writes and sends it in the buyer's language."""

from __future__ import annotations

from sqlalchemy.orm import Session as Db

from box_office.context import Context
from box_office.sales.outbox import queue_delivery
from box_office.store.models import Order


def queue_tickets(ctx: Context, db: Db, order: Order) -> None:
    queue_delivery(ctx, db, order, "tickets")


def queue_refund(ctx: Context, db: Db, order: Order) -> None:
    queue_delivery(ctx, db, order, "refund")


def queue_expiry(ctx: Context, db: Db, order: Order) -> None:
    queue_delivery(ctx, db, order, "expiry")


def queue_exchange(ctx: Context, db: Db, order: Order) -> None:
    """The order's tickets after an exchange (the new QR codes)."""
    queue_delivery(ctx, db, order, "exchange")


def queue_transfer(ctx: Context, db: Db, order: Order) -> None:
    """To the giver: the tickets left their order."""
    queue_delivery(ctx, db, order, "transfer")


def queue_postponement(ctx: Context, db: Db, order: Order) -> None:
    """After the session's time changed (the message shows the new time and a new .ics)."""
    queue_delivery(ctx, db, order, "postponement")


def queue_cancellation(ctx: Context, db: Db, order: Order) -> None:
    queue_delivery(ctx, db, order, "cancellation")
