"""Accounts from verified numbers and addresses; bearer tokens, page sessions and step-ups.

One verified mobile number (or e-mail address, for buyers from abroad) is one account: the
``buyer_identities`` row is unique per (kind, value), so signing in again with the same number
finds the same account, and purchase limits per account are limits per verified number.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as Db

from box_office.config import Settings, new_token
from box_office.context import Context
from box_office.errors import Forbidden
from box_office.store.models import Account, BuyerIdentity, BuyerStepUp, BuyerToken, Passkey
from box_office.vault import token_hash

API_TOKEN_SECONDS = 90 * 86400
PAGE_SESSION_SECONDS = 30 * 86400
STEP_UP_SECONDS = 300
"""A step-up is fresh for 5 minutes (the life of a code)."""

KIND_OF_CHANNEL = {"sms": "phone", "email": "email"}


def account_for_identity(ctx: Context, channel: str, value: str) -> tuple[int, bool]:
    """The account of a verified number or address, made on first sign-in: (id, created)."""
    kind = KIND_OF_CHANNEL[channel]
    now = ctx.now()

    def find(db: Db) -> int | None:
        return db.scalar(
            select(BuyerIdentity.account_id).where(BuyerIdentity.kind == kind, BuyerIdentity.value == value)
        )

    def make(db: Db) -> tuple[int, bool]:
        found = find(db)
        if found is not None:
            return int(found), False
        account = Account(
            email=value if kind == "email" else "",
            name=None,
            phone=value if kind == "phone" else None,
            token_hash=token_hash(new_token()),  # an unused random token: sign-ins have their own
            created_at=now,
        )
        db.add(account)
        db.flush()
        db.add(BuyerIdentity(account_id=account.id, kind=kind, value=value, verified_at=now))
        db.flush()
        return account.id, True

    try:
        return ctx.db.write(make)
    except IntegrityError:  # the same number verified twice at once: the first one made it
        with ctx.db.read() as db:
            found = find(db)
        assert found is not None
        return int(found), False


def issue_token(ctx: Context, account_id: int, kind: str, device: str | None) -> str:
    """A new bearer token (``api``) or page session (``page``); only its hash is stored. A page
    session is always new at sign-in, never one the browser brought (no session fixation)."""
    token = secrets.token_urlsafe(32)
    now = ctx.now()
    life = API_TOKEN_SECONDS if kind == "api" else PAGE_SESSION_SECONDS

    def work(db: Db) -> None:
        db.add(
            BuyerToken(
                token_hash=token_hash(token),
                account_id=account_id,
                kind=kind,
                device=device,
                created_at=now,
                expires_at=now + life,
                stepped_up_at=now if kind == "page" else None,
            )
        )

    ctx.db.write(work)
    return token


@dataclass(frozen=True)
class SignedIn:
    account_id: int
    stepped_up_at: float | None
    device: str | None


def token_owner(ctx: Context, token: str | None, kind: str) -> SignedIn | None:
    """Who a bearer token or page session belongs to, if it is one and has not expired."""
    if not token or len(token) > 200:
        return None
    with ctx.db.read() as db:
        row = db.execute(
            select(
                BuyerToken.account_id, BuyerToken.expires_at, BuyerToken.stepped_up_at, BuyerToken.device
            ).where(BuyerToken.token_hash == token_hash(token), BuyerToken.kind == kind)
        ).one_or_none()
    if row is None or row.expires_at < ctx.now():
        return None
    return SignedIn(int(row.account_id), row.stepped_up_at, row.device)


def revoke(ctx: Context, token: str) -> None:
    digest = token_hash(token)
    ctx.db.write(
        lambda db: db.execute(
            update(BuyerToken).where(BuyerToken.token_hash == digest).values(expires_at=0.0)
        )
    )
    ctx.known_tokens.pop(("buyer", digest), None)


def identities(ctx: Context, account_id: int) -> dict[str, str]:
    """The account's verified number and address: {"phone": "+86...", "email": "..."}."""
    with ctx.db.read() as db:
        rows = db.execute(
            select(BuyerIdentity.kind, BuyerIdentity.value).where(BuyerIdentity.account_id == account_id)
        ).all()
    return {row.kind: row.value for row in rows}


def has_passkey(ctx: Context, account_id: int) -> bool:
    with ctx.db.read() as db:
        return (
            db.scalar(select(Passkey.credential_id).where(Passkey.account_id == account_id).limit(1))
            is not None
        )


def passkey_count(ctx: Context, account_id: int) -> int:
    with ctx.db.read() as db:
        return len(db.scalars(select(Passkey.credential_id).where(Passkey.account_id == account_id)).all())


def step_up_applies(ctx: Context, account_id: int) -> bool:
    """Whether sensitive actions of this account need a step-up: always, except for an
    unverified account made by the development shortcut (it has no second factor to show)."""
    return not ctx.settings.accounts_open or bool(identities(ctx, account_id))


def stamp_page_step_up(ctx: Context, session_token: str) -> None:
    digest = token_hash(session_token)
    now = ctx.now()
    ctx.db.write(
        lambda db: db.execute(
            update(BuyerToken).where(BuyerToken.token_hash == digest).values(stepped_up_at=now)
        )
    )


def page_stepped_up(ctx: Context, signed_in: SignedIn) -> bool:
    return signed_in.stepped_up_at is not None and ctx.now() - signed_in.stepped_up_at <= STEP_UP_SECONDS


def issue_step_up(ctx: Context, account_id: int, method: str) -> str:
    """A proof of a fresh second factor, for one sensitive API call within 5 minutes."""
    proof = secrets.token_urlsafe(24)
    now = ctx.now()
    ctx.db.write(
        lambda db: db.add(
            BuyerStepUp(
                token_hash=token_hash(proof),
                account_id=account_id,
                method=method,
                created_at=now,
                expires_at=now + STEP_UP_SECONDS,
                used_at=None,
            )
        )
    )
    return proof


def spend_step_up(ctx: Context, account_id: int, proof: str | None, action: str) -> None:
    """Let one sensitive action through with a fresh, unused proof of this account, else 403
    ``step_up_required`` (the caller asks for an SMS code or a passkey, then tries again)."""
    if not step_up_applies(ctx, account_id):
        return
    if not spend_proof(ctx, account_id, proof):
        raise Forbidden(
            f"{action} needs a fresh confirmation: ask for an SMS code (POST /api/me/step-up) or use a "
            "passkey, then send the proof in the X-Step-Up header",
            "step_up_required",
        )


def spend_proof(ctx: Context, account_id: int, proof: str | None) -> bool:
    """Use up a step-up proof of this account if it is fresh and unused (no exception for any
    kind of account: what a proof is asked for as such, e.g. moving a bound ticket)."""
    now = ctx.now()
    if proof:
        digest = token_hash(proof)

        def work(db: Db) -> int:
            done = db.connection().execute(
                update(BuyerStepUp)
                .where(
                    BuyerStepUp.token_hash == digest,
                    BuyerStepUp.account_id == account_id,
                    BuyerStepUp.used_at.is_(None),
                    BuyerStepUp.expires_at >= now,
                )
                .values(used_at=now)
            )
            return int(done.rowcount)

        return bool(ctx.db.write(work) == 1)
    return False


def require_account_creation_open(settings: Settings) -> None:
    """``POST /api/accounts`` (an account from an unverified e-mail) is a development shortcut:
    refused unless enabled, so that a scalper cannot make accounts without a verified number."""
    if not settings.accounts_open:
        raise Forbidden(
            "accounts are made by signing in with a code: POST /api/auth/sms (or /api/auth/email)",
            "verification_required",
        )
