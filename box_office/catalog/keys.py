"""Per-event signing keys (Ed25519, with key ids) and identity digest keys.

Only the box office holds private keys; they are stored Fernet-encrypted and never leave
through the API. Rotation adds a new active key; older keys stay in the public keyring so
tickets already issued keep verifying, until an organiser retires them.
"""

from __future__ import annotations

import os

from sqlalchemy import select, update
from sqlalchemy.orm import Session as Db

from box_office.catalog.ownership import owned_event
from box_office.context import Context
from box_office.errors import Conflict, NotFound
from box_office.store.models import Event, EventKey
from ticket_format import Keyring, SigningKey, TrustedKey


def new_identity_key(ctx: Context) -> bytes:
    """A fresh per-event HMAC key for real-name digests, sealed for storage."""
    return ctx.vault.seal(os.urandom(32))


def add_signing_key(ctx: Context, db: Db, event_id: int) -> str:
    """Generate a key, make it the event's only active one, return its kid (hex)."""
    key = SigningKey.generate()
    now = ctx.now()
    db.execute(update(EventKey).where(EventKey.event_id == event_id, EventKey.active).values(active=False))
    kid = key.kid.hex()
    db.add(
        EventKey(
            kid=kid,
            event_id=event_id,
            public_json=key.trusted().to_json(),
            private_enc=ctx.vault.seal(key.to_pem()),
            active=True,
            created_at=now,
        )
    )
    return kid


def active_signing_key(ctx: Context, db: Db, event_id: int) -> SigningKey:
    """The key new tickets of the event are signed with (decrypted once per process)."""
    row = db.execute(
        select(EventKey.kid, EventKey.private_enc).where(EventKey.event_id == event_id, EventKey.active)
    ).first()
    if row is None:
        raise NotFound(f"event {event_id} has no active signing key")
    kid, sealed = row
    cached = ctx.signing_keys.get(kid)
    if cached is None:
        cached = SigningKey.from_pem(ctx.vault.open(sealed))
        with ctx.lock:
            ctx.signing_keys[kid] = cached
    return cached


def keyring(db: Db, event_id: int) -> Keyring:
    """Public keys of every non-retired key of the event."""
    rows = db.scalars(
        select(EventKey.public_json).where(EventKey.event_id == event_id, EventKey.retired_at.is_(None))
    )
    return Keyring(TrustedKey.from_json(item) for item in rows)


def list_keys(db: Db, event_id: int) -> list[dict[str, object]]:
    rows = db.scalars(select(EventKey).where(EventKey.event_id == event_id).order_by(EventKey.created_at))
    return [
        {
            "kid": row.kid,
            "active": row.active,
            "created_at": row.created_at,
            "retired_at": row.retired_at,
            "public_key": row.public_json,
        }
        for row in rows
    ]


def retire_key(ctx: Context, db: Db, event_id: int, kid: str) -> None:
    row = db.get(EventKey, kid)
    if row is None or row.event_id != event_id:
        raise NotFound(f"no key {kid} for event {event_id}")
    if row.active:
        raise Conflict("the active key cannot be retired: rotate first")
    row.retired_at = ctx.now()


def identity_key(ctx: Context, db: Db, event_id: int) -> bytes:
    cached = ctx.identity_keys.get(event_id)
    if cached is None:
        sealed = db.scalar(select(Event.identity_key_enc).where(Event.id == event_id))
        if sealed is None:
            raise NotFound(f"no event {event_id}")
        cached = ctx.vault.open(sealed)
        ctx.identity_keys[event_id] = cached
    return cached


# ------------------------------------------------------------------ an organiser's use cases


def event_keys(ctx: Context, organiser_id: int, event_id: int) -> list[dict[str, object]]:
    """The organiser's event's keys, public halves only."""
    with ctx.db.read() as db:
        owned_event(db, organiser_id, event_id)
        return list_keys(db, event_id)


def rotate(ctx: Context, organiser_id: int, event_id: int) -> str:
    """Start signing the organiser's event with a new key; returns its kid."""

    def work(db: Db) -> str:
        owned_event(db, organiser_id, event_id)
        return add_signing_key(ctx, db, event_id)

    return ctx.db.write(work)


def retire(ctx: Context, organiser_id: int, event_id: int, kid: str) -> None:
    """Stop trusting an old key of the organiser's event."""

    def work(db: Db) -> None:
        owned_event(db, organiser_id, event_id)
        retire_key(ctx, db, event_id, kid)

    ctx.db.write(work)


def feed_keyring(ctx: Context, event_id: int) -> dict[str, object]:
    """What a sync server needs to verify tickets and holders: public keys and the digest key."""
    with ctx.db.read() as db:
        return {
            "keyring": keyring(db, event_id).to_json(),
            "identity_key": identity_key(ctx, db, event_id).hex(),
        }
