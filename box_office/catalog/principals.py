"""Who is calling: organisers, buyers and feed clients, and their bearer tokens."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session as Db

from box_office.buyers.accounts import token_owner
from box_office.catalog.ownership import owned_event
from box_office.config import new_token
from box_office.context import Context
from box_office.errors import Unauthorized
from box_office.store.models import (
    Account,
    FeedClient,
    Organiser,
)
from box_office.vault import token_hash


def create_organiser(ctx: Context, name: str) -> tuple[int, str]:
    token = new_token()

    def work(db: Db) -> int:
        row = Organiser(name=name, token_hash=token_hash(token), created_at=ctx.now())
        db.add(row)
        db.flush()
        return row.id

    return ctx.db.write(work), token


def create_account(ctx: Context, email: str, name: str | None, phone: str | None) -> tuple[int, str]:
    token = new_token()

    def work(db: Db) -> int:
        row = Account(email=email, name=name, phone=phone, token_hash=token_hash(token), created_at=ctx.now())
        db.add(row)
        db.flush()
        return row.id

    return ctx.db.write(work), token


def organiser_for(ctx: Context, token: str | None) -> int:
    return _principal(ctx, Organiser.id, Organiser.token_hash, token, "organiser")


def account_for(ctx: Context, token: str | None) -> int:
    """A buyer: a token of a signed-in buyer (``buyer_tokens``, issue #13) or an account's own."""
    try:
        return _principal(ctx, Account.id, Account.token_hash, token, "buyer")
    except Unauthorized:
        signed_in = _signed_in_buyer(ctx, token)
        if signed_in is None:
            raise
        return signed_in


def _signed_in_buyer(ctx: Context, token: str | None) -> int | None:
    owner = token_owner(ctx, token, "api")
    if owner is None or token is None:
        return None
    if len(ctx.known_tokens) < _MAX_KNOWN_TOKENS:
        ctx.known_tokens[("buyer", token_hash(token))] = owner.account_id
    return owner.account_id


def feed_client_for(ctx: Context, token: str | None) -> int:
    """The event id a feed client's token may read."""
    return _principal(ctx, FeedClient.event_id, FeedClient.token_hash, token, "feed client")


_MAX_KNOWN_TOKENS = 200_000


_KINDS: dict[Any, str] = {organiser_for: "organiser", account_for: "buyer", feed_client_for: "feed client"}


def remembered_principal(ctx: Context, lookup: Any, token: str | None) -> int | None:
    """The owner of ``token`` if this process has already looked it up with ``lookup``
    (one of :func:`organiser_for`, :func:`account_for`, :func:`feed_client_for`), else None."""
    if not token:
        return None
    return ctx.known_tokens.get((_KINDS[lookup], token_hash(token)))


def _principal(ctx: Context, column: Any, hash_column: Any, token: str | None, what: str) -> int:
    """Who a bearer token belongs to. Tokens never change owner, so a found one is remembered
    in this process: one database round trip less on every request of an on-sale spike."""
    if not token:
        raise Unauthorized(f"a {what} bearer token is required (Authorization: Bearer ...)")
    digest = token_hash(token)
    known = ctx.known_tokens.get((what, digest))
    if known is not None:
        return known
    with ctx.db.read() as db:
        found = db.scalar(select(column).where(hash_column == digest))
    if found is None:
        raise Unauthorized(f"unknown {what} token")
    if len(ctx.known_tokens) >= _MAX_KNOWN_TOKENS:
        ctx.known_tokens.clear()
    ctx.known_tokens[(what, digest)] = int(found)
    return int(found)


def create_feed_client(ctx: Context, organiser_id: int, event_id: int, name: str) -> tuple[int, str]:
    token = new_token()

    def work(db: Db) -> int:
        owned_event(db, organiser_id, event_id)
        row = FeedClient(event_id=event_id, name=name, token_hash=token_hash(token), created_at=ctx.now())
        db.add(row)
        db.flush()
        return row.id

    return ctx.db.write(work), token
