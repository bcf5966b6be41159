"""Holder changes: a new holder named on a real-name ticket (new digests, a new version)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session as Db

from box_office.catalog.events import load_session
from box_office.catalog.keys import identity_key
from box_office.context import Context
from box_office.core.orders import mask_name
from box_office.errors import Conflict, Forbidden, Invalid
from box_office.feed import service as feed
from box_office.sales.issuing import _live_ticket, queue_delivery, sign_ticket
from box_office.store.models import Order, Ticket
from ticket_format.identity import IdentityError, id_digest, name_digest, normalize_name, parse_id


def change_holder(
    ctx: Context, account_id: int, ticket_id: str, name: str, id_type: str, id_number: str
) -> dict[str, object]:
    """Name a new holder on a real-name ticket: new digests, a new version, the old one revoked."""

    def work(db: Db) -> dict[str, object]:
        ticket = _live_ticket(db, ticket_id)
        order = db.get(Order, ticket.order_id)
        assert order is not None
        if order.account_id != account_id:
            raise Forbidden("this ticket belongs to another buyer")
        session = load_session(db, ticket.session_id)
        if not session.real_name:
            raise Invalid("this session is not real-name: tickets carry no holder", "not_real_name")
        try:
            document = parse_id(id_type, id_number)
            normalize_name(name)
        except IdentityError as exc:
            raise Invalid(str(exc), "bad_identity") from None
        key = identity_key(ctx, db, ticket.event_id)
        new_digest = id_digest(key, document)
        if new_digest != ticket.id_digest and session.limit_per_id is not None:
            ctx.db.lock_subjects(db, [f"id:{session.id}:{new_digest}"])
            holding = len(
                db.scalars(
                    select(Ticket.id).where(
                        Ticket.session_id == session.id,
                        Ticket.id_digest == new_digest,
                        Ticket.status.in_(("valid", "pending")),
                    )
                ).all()
            )
            if holding + 1 > session.limit_per_id:
                raise Conflict(
                    f"ID {document.masked} already holds {holding} ticket(s) for this session", "limit_id"
                )
        ticket.holder_enc = ctx.vault.seal_json(
            {"name": name.strip(), "id_type": document.id_type.value, "id_number": document.number}
        )
        ticket.holder_masked = f"{mask_name(name.strip())} {document.masked}"
        ticket.id_digest = new_digest
        ticket.name_digest = name_digest(key, name)
        ticket.version += 1
        sign_ticket(ctx, db, ticket, session)
        queue_delivery(ctx, db, order)
        feed.append(ctx, db, [("identity_changed", ticket, True)])
        return {"id": ticket.id, "version": ticket.version, "holder": ticket.holder_masked}

    return ctx.db.write(work)
