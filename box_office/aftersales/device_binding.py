"""Binding a ticket to the buyer's phone (its device key): a re-issue with the ``dk`` claim.

The ticket gets a higher version signed with the key, the old version is revoked on the venue
feed (contract 5: gates refuse a lower version), and the binding is audited. No delivery is
queued: a bound ticket is shown by the phone that holds the key, not by an e-mailed QR.
Moving a bound ticket to another phone needs a code e-mailed to the buyer (:func:`request_step_up`).
The rules (first binding, same key, another key; the code's checks) are
:mod:`box_office.core.device_binding`.
"""

from __future__ import annotations

import secrets

from sqlalchemy import select, update
from sqlalchemy.orm import Session as Db

from box_office.catalog.ownership import load_session
from box_office.context import Context
from box_office.core.device_binding import (
    STEP_UP_ACCOUNT_WINDOW,
    STEP_UP_DIGITS,
    STEP_UP_SECONDS,
    STEP_UP_TICKET_WINDOW,
    Binding,
    StepUp,
    check_step_up,
    decide_binding,
    fingerprint,
    parse_device_key,
    step_up_digest,
    step_up_wait,
)
from box_office.core.errors import RuleError
from box_office.errors import Conflict, Forbidden, Invalid, RateLimited
from box_office.feed import service as feed
from box_office.sales.issuing import _live_ticket, sign_ticket
from box_office.store.models import DeviceBinding, DeviceStepUp, Order, Ticket


def bind_device(
    ctx: Context,
    account_id: int,
    ticket_id: str,
    device_key: str,
    step_up_code: str | None = None,
    stepped_up: bool = False,
) -> dict[str, object]:
    """Bind the buyer's ticket to the device key (base64url); returns the (re-)issued token.

    ``step_up_code`` (the code e-mailed by :func:`request_step_up`) is needed only to move a
    bound ticket to another key. A wrong code counts against the code's tries even though the
    request is refused, so the count is committed before the refusal is raised. ``stepped_up``:
    the buyer showed a fresh SMS code or passkey instead (a spent ``X-Step-Up`` proof, issue #13).
    """
    try:
        key = parse_device_key(device_key)
    except RuleError as exc:
        raise Invalid(str(exc), exc.code) from None

    def work(db: Db) -> dict[str, object] | RuleError:
        ticket = _owned_ticket(db, account_id, ticket_id)
        try:
            decision = decide_binding(
                ticket.device_key, key, confirmed=step_up_code is not None or stepped_up
            )
        except RuleError as exc:
            raise Conflict(str(exc), exc.code) from None
        if decision is Binding.UNCHANGED:
            return _view(ticket)
        if decision is Binding.MOVE and not stepped_up:
            assert step_up_code is not None
            refused = _use_step_up(ctx, db, ticket.id, account_id, step_up_code)
            if refused is not None:
                return refused
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

    result = ctx.db.write(work)
    if isinstance(result, RuleError):
        raise Forbidden(str(result), result.code)
    return result


def request_step_up(ctx: Context, account_id: int, ticket_id: str) -> tuple[str, str]:
    """A new confirmation code for moving the buyer's bound ticket: ``(e-mail address, code)``.

    Only its digest is stored; any earlier code of the ticket stops working. The caller mails it.
    """
    code = f"{secrets.randbelow(10**STEP_UP_DIGITS):0{STEP_UP_DIGITS}d}"

    def work(db: Db) -> str:
        ticket = _owned_ticket(db, account_id, ticket_id)
        if ticket.device_key is None:
            raise Conflict("this ticket is not bound to a phone yet: open it on your phone", "not_bound")
        now = ctx.now()
        _check_step_up_rate(db, ticket.id, account_id, now)
        db.execute(
            update(DeviceStepUp)
            .where(DeviceStepUp.ticket_id == ticket.id, DeviceStepUp.used_at.is_(None))
            .values(used_at=now)
        )
        db.add(
            DeviceStepUp(
                ticket_id=ticket.id,
                account_id=account_id,
                code_digest=step_up_digest(ctx.settings.secret_key, ticket.id, code),
                expires_at=now + STEP_UP_SECONDS,
                attempts=0,
                created_at=now,
            )
        )
        order = db.get(Order, ticket.order_id)
        assert order is not None
        return order.email

    return ctx.db.write(work), code


def _check_step_up_rate(db: Db, ticket_id: str, account_id: int, now: float) -> None:
    """Refuse (429) a code request beyond the per-ticket or per-account limit
    (:func:`box_office.core.device_binding.step_up_wait`), saying how long to wait."""
    # the ticket's row lock (PostgreSQL) makes two requests for one ticket count one after the other
    db.execute(select(Ticket.id).where(Ticket.id == ticket_id).with_for_update())
    since = now - max(STEP_UP_TICKET_WINDOW, STEP_UP_ACCOUNT_WINDOW)
    account_times = db.scalars(
        select(DeviceStepUp.created_at).where(
            DeviceStepUp.account_id == account_id, DeviceStepUp.created_at > since
        )
    ).all()
    # codes asked by whoever held the ticket before count for it too
    ticket_times = db.scalars(
        select(DeviceStepUp.created_at).where(
            DeviceStepUp.ticket_id == ticket_id, DeviceStepUp.created_at > now - STEP_UP_TICKET_WINDOW
        )
    ).all()
    wait = step_up_wait(list(ticket_times), list(account_times), now)
    if wait is None:
        return
    minutes = max(1, -(-wait.retry_after // 60))
    which = ("this ticket", "此门票") if wait.scope == "ticket" else ("your account", "您的账户")
    raise RateLimited(
        f"too many confirmation codes asked for {which[0]}: try again in {minutes} min"
        f" / {which[1]}的确认码请求过多，请 {minutes} 分钟后再试",
        f"step_up_too_many_{wait.scope}",
        wait.retry_after,
    )


def _use_step_up(ctx: Context, db: Db, ticket_id: str, account_id: int, code: str) -> RuleError | None:
    """Spend the ticket's open code if ``code`` is it; else count the try and say why not."""
    row = db.scalars(
        select(DeviceStepUp)
        .where(DeviceStepUp.ticket_id == ticket_id, DeviceStepUp.account_id == account_id)
        .order_by(DeviceStepUp.id.desc())
        .limit(1)
    ).first()
    state = None
    if row is not None:
        state = StepUp(row.code_digest, row.expires_at, row.attempts, row.used_at is not None)
    now = ctx.now()
    try:
        check_step_up(state, step_up_digest(ctx.settings.secret_key, ticket_id, code), now)
    except RuleError as exc:
        if exc.code == "step_up_wrong" and row is not None:
            row.attempts += 1
        return exc
    assert row is not None
    row.used_at = now
    return None


def _owned_ticket(db: Db, account_id: int, ticket_id: str) -> Ticket:
    ticket = _live_ticket(db, ticket_id)
    order = db.get(Order, ticket.order_id)
    assert order is not None
    if order.account_id != account_id:
        raise Forbidden("this ticket belongs to another buyer")
    return ticket


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
