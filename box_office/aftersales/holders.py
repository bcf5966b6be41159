"""Holder changes: a new holder named on a real-name ticket (new digests, a new version)."""

from __future__ import annotations

from sqlalchemy.orm import Session as Db

from box_office.catalog.keys import identity_key
from box_office.catalog.ownership import load_session
from box_office.context import Context
from box_office.core.errors import RuleError
from box_office.core.holders import identify
from box_office.core.limits import Limits, check_limits
from box_office.errors import Conflict, Forbidden, Invalid
from box_office.feed import service as feed
from box_office.sales.issuing import _live_ticket, sign_ticket
from box_office.sales.limits import live_counts
from box_office.sales.outbox import queue_delivery
from box_office.store.models import Order


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
            who = identify(identity_key(ctx, db, ticket.event_id), name, id_type, id_number)
        except RuleError as exc:
            raise Invalid(str(exc), exc.code) from None
        if who.id_digest != ticket.id_digest and session.limit_per_id is not None:
            ctx.db.lock_subjects(db, [f"id:{session.id}:{who.id_digest}"])
            _, _, per_id = live_counts(db, session.id, None, None, [who.id_digest], ctx.now())
            holding = per_id[who.id_digest]
            try:
                check_limits(
                    Limits(None, None, session.limit_per_id),
                    quantity=1,
                    account_count=0,
                    device_count=None,
                    id_counts={who.masked_id: (holding, 1)},
                )
            except RuleError as exc:
                raise Conflict(str(exc), exc.code) from None
        ticket.holder_enc = ctx.vault.seal_json(who.sealed)
        ticket.holder_masked = who.masked
        ticket.id_digest = who.id_digest
        ticket.name_digest = who.name_digest
        ticket.version += 1
        sign_ticket(ctx, db, ticket, session)
        queue_delivery(ctx, db, order)
        feed.append(ctx, db, [("identity_changed", ticket, True)])
        return {"id": ticket.id, "version": ticket.version, "holder": ticket.holder_masked}

    return ctx.db.write(work)
