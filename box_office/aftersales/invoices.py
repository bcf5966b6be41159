"""Invoices (发票): the buyer asks from the order; credits (红字) follow refunds by themselves.

- Numbers are gap-free per promoter: the promoter's counter row is read and advanced in the
  issuing transaction (PostgreSQL: an advisory lock per promoter serialises the first insert of
  the row too; SQLite serialises writers), so a rolled-back invoice rolls back its number.
- An invoice is never changed once issued (nothing here updates the table); a refund issues a
  credit invoice (negative, pointing at the original, with its 红字 reason code) in the
  refund's own transaction (:func:`credit_in`).
- Where an e-invoicing service plugs in: :class:`InvoiceIssuer`. :class:`LocalIssuer` numbers
  and renders the PDF here. A WeChat Pay fapiao adapter would implement the same two calls:
  ``issue`` -> ``POST /v3/new-tax-control-fapiao/fapiao-applications`` (scene WITH_WECHATPAY,
  ``fapiao_apply_id`` = our number, ``buyer_information`` from the title, items with tax codes,
  total in fen; the result arrives by callback and is stored against the invoice), and
  ``reverse`` -> ``POST .../fapiao-applications/{fapiao_apply_id}/reverse`` with the reason
  mapped from ``core.invoice_rules.CREDIT_REASONS`` (SALES_RETURN, SERVICE_SUSPENSION, ...).
"""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any, Protocol

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session as Db

from box_office.aftersales import invoice_pdf
from box_office.catalog.ownership import owned_event
from box_office.context import Context
from box_office.core.errors import RuleError
from box_office.core.invoice_rules import Title, check_title, credit_lines, printed_number
from box_office.core.orders import SOLD
from box_office.errors import Conflict, Forbidden, Invalid, NotFound
from box_office.notify.mail import Mailer
from box_office.store.models import (
    Event,
    Invoice,
    InvoiceCounter,
    Order,
    Organiser,
    Session,
    Ticket,
)


class InvoiceIssuer(Protocol):
    """The e-invoicing service (see the module docstring for the WeChat Pay fapiao shape)."""

    def issue(self, invoice: dict[str, Any]) -> None: ...

    def reverse(self, credit: dict[str, Any]) -> None: ...


class LocalIssuer:
    """No external service: the box office's own numbers and PDF are the invoice."""

    def issue(self, invoice: dict[str, Any]) -> None:
        return None

    def reverse(self, credit: dict[str, Any]) -> None:
        return None


def next_number(ctx: Context, db: Db, organiser_id: int) -> int:
    """Take the promoter's next invoice number in the caller's transaction (gap-free)."""
    ctx.db.lock_subjects(db, [f"invoice:{organiser_id}"])
    advanced = db.execute(
        update(InvoiceCounter)
        .where(InvoiceCounter.organiser_id == organiser_id)
        .values(next_number=InvoiceCounter.next_number + 1)
        .returning(InvoiceCounter.next_number)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if advanced is None:
        db.add(InvoiceCounter(organiser_id=organiser_id, next_number=2))
        db.flush()
        return 1
    return int(advanced) - 1


def _event_of(db: Db, order: Order) -> tuple[Session, Event]:
    session = db.get(Session, order.session_id)
    assert session is not None
    event = db.get(Event, session.event_id)
    assert event is not None
    return session, event


def _lines(db: Db, order: Order, session: Session, event: Event) -> list[dict[str, Any]]:
    tickets = db.scalars(
        select(Ticket).where(Ticket.order_id == order.id).order_by(Ticket.seat_label, Ticket.id)
    )
    lines = []
    for ticket in tickets:
        place = ticket.seat_label or "GA"
        lines.append(
            {
                "ticket_id": ticket.id,
                "name": f"门票 Ticket {event.name} {session.name} {ticket.zone} {place}",
                "amount_cents": ticket.price_cents,
            }
        )
    return lines


def request_invoice(
    ctx: Context, mailer: Mailer, account_id: int, order_id: int, body: dict[str, Any]
) -> dict[str, Any]:
    """The buyer asks for the order's invoice: issued at once, numbered, e-mailed as a PDF."""
    try:
        title = check_title(body["title_type"], body["title"], body.get("tax_number"), body["email"])
    except RuleError as exc:
        raise Invalid(str(exc), exc.code) from None

    def work(db: Db) -> int:
        order = db.scalar(select(Order).where(Order.id == order_id).with_for_update())
        if order is None:
            raise NotFound(f"no order {order_id}")
        if order.account_id != account_id:
            raise Forbidden(f"order {order_id} belongs to another buyer")
        if order.status not in SOLD:
            raise Conflict(f"order {order_id} is {order.status}: nothing to invoice", "bad_state")
        if db.scalar(select(Invoice.id).where(Invoice.order_id == order_id, Invoice.kind == "blue")):
            raise Conflict(f"order {order_id} already has its invoice", "already_invoiced")
        return _issue_blue(ctx, db, order, title)

    invoice_id = ctx.db.write(work)
    view = get_invoice_view(ctx, invoice_id)
    LocalIssuer().issue(view)
    mailer.send(invoice_email(ctx.settings.mail_from, view))
    return view


def _issue_blue(ctx: Context, db: Db, order: Order, title: Title) -> int:
    session, event = _event_of(db, order)
    lines = _lines(db, order, session, event)
    invoice = Invoice(
        organiser_id=event.organiser_id,
        number=next_number(ctx, db, event.organiser_id),
        order_id=order.id,
        kind="blue",
        original_id=None,
        reason=None,
        title_type=title.kind,
        title=title.name,
        tax_number=title.tax_number,
        email=title.email,
        amount_cents=sum(line["amount_cents"] for line in lines),
        currency=order.currency,
        lines=lines,
        issued_at=ctx.now(),
    )
    db.add(invoice)
    db.flush()
    return invoice.id


def credit_in(
    ctx: Context, db: Db, order_id: int, ticket_ids: list[str], amount_cents: int, reason: str
) -> int | None:
    """In a refund's transaction: the credit invoice for what was refunded, if the order has an
    invoice (none otherwise: nothing to correct). Returns its id."""
    blue = db.scalar(select(Invoice).where(Invoice.order_id == order_id, Invoice.kind == "blue"))
    if blue is None or amount_cents <= 0:
        return None
    credited = -int(
        db.scalar(
            select(func.coalesce(func.sum(Invoice.amount_cents), 0)).where(
                Invoice.original_id == blue.id, Invoice.kind == "red"
            )
        )
        or 0
    )
    lines = credit_lines(blue.lines, ticket_ids, amount_cents, credited)
    if not lines:
        return None
    credit = Invoice(
        organiser_id=blue.organiser_id,
        number=next_number(ctx, db, blue.organiser_id),
        order_id=order_id,
        kind="red",
        original_id=blue.id,
        reason=reason,
        title_type=blue.title_type,
        title=blue.title,
        tax_number=blue.tax_number,
        email=blue.email,
        amount_cents=sum(line["amount_cents"] for line in lines),
        currency=blue.currency,
        lines=lines,
        issued_at=ctx.now(),
    )
    db.add(credit)
    db.flush()
    return credit.id


def invoice_view(db: Db, invoice: Invoice) -> dict[str, Any]:
    organiser = db.get(Organiser, invoice.organiser_id)
    original = db.get(Invoice, invoice.original_id) if invoice.original_id is not None else None
    return {
        "id": invoice.id,
        "number": printed_number(invoice.organiser_id, invoice.number),
        "sequence": invoice.number,
        "kind": invoice.kind,
        "order_id": invoice.order_id,
        "seller": organiser.name if organiser is not None else "",
        "title_type": invoice.title_type,
        "title": invoice.title,
        "tax_number": invoice.tax_number,
        "email": invoice.email,
        "amount_cents": invoice.amount_cents,
        "currency": invoice.currency,
        "lines": invoice.lines,
        "reason": invoice.reason,
        "original_number": printed_number(original.organiser_id, original.number) if original else None,
        "issued_at": invoice.issued_at,
        "pdf_url": f"/api/invoices/{invoice.id}.pdf",
    }


def get_invoice_view(ctx: Context, invoice_id: int) -> dict[str, Any]:
    with ctx.db.read() as db:
        invoice = db.get(Invoice, invoice_id)
        if invoice is None:
            raise NotFound(f"no invoice {invoice_id}")
        return invoice_view(db, invoice)


def order_invoices(ctx: Context, account_id: int, order_id: int) -> list[dict[str, Any]]:
    with ctx.db.read() as db:
        order = db.get(Order, order_id)
        if order is None:
            raise NotFound(f"no order {order_id}")
        if order.account_id != account_id:
            raise Forbidden(f"order {order_id} belongs to another buyer")
        rows = db.scalars(select(Invoice).where(Invoice.order_id == order_id).order_by(Invoice.id)).all()
        return [invoice_view(db, r) for r in rows]


def invoice_pdf_for(
    ctx: Context, invoice_id: int, *, account_id: int | None, organiser_id: int | None
) -> bytes:
    """The PDF, for the order's buyer or the event's promoter only."""
    with ctx.db.read() as db:
        invoice = db.get(Invoice, invoice_id)
        if invoice is None:
            raise NotFound(f"no invoice {invoice_id}")
        order = db.get(Order, invoice.order_id)
        assert order is not None
        if account_id is not None and order.account_id != account_id:
            raise Forbidden(f"invoice {invoice_id} is another buyer's")
        if organiser_id is not None:
            _, event = _event_of(db, order)
            owned_event(db, organiser_id, event.id)
        view = invoice_view(db, invoice)
    return invoice_pdf.render(view)


def invoice_email(sender: str, view: dict[str, Any]) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = view["email"]
    kind = "红字发票 Credit invoice" if view["kind"] == "red" else "发票 Invoice"
    message["Subject"] = f"{kind} {view['number']} - 订单 order {view['order_id']}"
    message.set_content(
        f"您好，附件是订单 {view['order_id']} 的{kind.split()[0]}（号码 {view['number']}）。\n"
        f"Attached: the {kind.split()[1].lower()} {view['number']} for order {view['order_id']}.\n"
    )
    message.add_attachment(
        invoice_pdf.render(view),
        maintype="application",
        subtype="pdf",
        filename=f"invoice-{view['number']}.pdf",
    )
    return message


def mail_credits(ctx: Context, mailer: Mailer, order_id: int, since: float) -> int:
    """E-mail the credit (红字) invoices of the order issued since ``since`` (by a refund or an
    exchange that just happened) to the address on the invoice; returns how many."""
    with ctx.db.read() as db:
        rows = db.scalars(
            select(Invoice).where(
                Invoice.order_id == order_id, Invoice.kind == "red", Invoice.issued_at >= since
            )
        ).all()
        views = [invoice_view(db, r) for r in rows]
    for view in views:
        LocalIssuer().reverse(view)
        mailer.send(invoice_email(ctx.settings.mail_from, view))
    return len(views)
