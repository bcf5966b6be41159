"""Binding a ticket to the buyer's phone (its device key): a re-issue with the ``dk`` claim.

The ticket gets a higher version signed with the key, the old version is revoked on the venue
feed (contract 5: gates refuse a lower version), and the binding is audited. No delivery is
queued: a bound ticket is shown by the phone that holds the key, not by an e-mailed QR.
The rule (first binding, same key, another key) is :mod:`box_office.core.device_binding`.
"""

from __future__ import annotations

from sqlalchemy.orm import Session as Db

from box_office.catalog.ownership import load_session
from box_office.context import Context
from box_office.core.device_binding import Binding, decide_binding, fingerprint, parse_device_key
from box_office.core.errors import RuleError
from box_office.errors import Conflict, Forbidden, Invalid
from box_office.feed import service as feed
from box_office.sales.issuing import _live_ticket, sign_ticket
from box_office.store.models import DeviceBinding, Order, Ticket


def bind_device(ctx: Context, account_id: int, ticket_id: str, device_key: str) -> dict[str, object]:
    """Bind the buyer's ticket to the device key (base64url); returns the (re-)issued token."""
    try:
        key = parse_device_key(device_key)
    except RuleError as exc:
        raise Invalid(str(exc), exc.code) from None

    def work(db: Db) -> dict[str, object]:
        ticket = _live_ticket(db, ticket_id)
        order = db.get(Order, ticket.order_id)
        assert order is not None
        if order.account_id != account_id:
            raise Forbidden("this ticket belongs to another buyer")
        try:
            decision = decide_binding(ticket.device_key, key)
        except RuleError as exc:
            raise Conflict(str(exc), exc.code) from None
        if decision is Binding.UNCHANGED:
            return _view(ticket)
        old = ticket.device_key
        session = load_session(db, ticket.session_id)
        ticket.device_key = key
        ticket.version += 1
        sign_ticket(ctx, db, ticket, session)
        db.add(
            DeviceBinding(
                ticket_id=ticket.id,
                account_id=account_id,
                old_fingerprint=None if old is None else fingerprint(old),
                new_fingerprint=fingerprint(key),
                version=ticket.version,
                created_at=ctx.now(),
            )
        )
        feed.append(ctx, db, [("changed", ticket, session.real_name)])
        return _view(ticket)

    return ctx.db.write(work)


def _view(ticket: Ticket) -> dict[str, object]:
    assert ticket.device_key is not None
    return {
        "id": ticket.id,
        "version": ticket.version,
        "zone": ticket.zone,
        "seat": ticket.seat_label,
        "token": ticket.token,
        "device_key_fingerprint": fingerprint(ticket.device_key),
    }
