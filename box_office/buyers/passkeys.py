"""Passkeys (WebAuthn: a phone's fingerprint or face unlock) for signing in and stepping up,
through the ``webauthn`` library. User verification is required; each challenge is consumed
once (a conditional UPDATE) within 5 minutes; the sign count must grow (a cloned key shows).

The relying party is the box office's public origin (``BOX_OFFICE_PUBLIC_URL``); on a
development machine served at 127.0.0.1 it is ``localhost`` on the same port, because browsers
refuse an IP address as a WebAuthn relying party id.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import webauthn
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as Db
from webauthn.helpers import bytes_to_base64url
from webauthn.helpers.exceptions import InvalidAuthenticationResponse, InvalidRegistrationResponse
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from box_office.config import Settings
from box_office.context import Context
from box_office.errors import Conflict, Forbidden
from box_office.store.models import Passkey, WebauthnChallenge

CHALLENGE_SECONDS = 300
RP_NAME = "Encore"


@dataclass(frozen=True)
class RelyingParty:
    id: str
    origin: str


def relying_party(settings: Settings) -> RelyingParty:
    parts = urlsplit(settings.extra.get("webauthn_origin") or settings.public_url)
    host = parts.hostname or "localhost"
    if host in ("127.0.0.1", "::1"):
        host = "localhost"
    port = f":{parts.port}" if parts.port else ""
    return RelyingParty(host, f"{parts.scheme}://{host}{port}")


def _new_challenge(ctx: Context, purpose: str, account_id: int | None) -> tuple[str, bytes]:
    ident = secrets.token_urlsafe(18)
    challenge = secrets.token_bytes(32)
    now = ctx.now()
    ctx.db.write(
        lambda db: db.add(
            WebauthnChallenge(
                id=ident,
                account_id=account_id,
                purpose=purpose,
                challenge=challenge,
                expires_at=now + CHALLENGE_SECONDS,
                used_at=None,
            )
        )
    )
    return ident, challenge


def _spend_challenge(ctx: Context, ident: str, purpose: str, account_id: int | None) -> bytes:
    now = ctx.now()

    def work(db: Db) -> bytes | None:
        row = db.get(WebauthnChallenge, ident)
        if row is None or row.purpose != purpose or (account_id is not None and row.account_id != account_id):
            return None
        done = db.connection().execute(
            update(WebauthnChallenge)
            .where(
                WebauthnChallenge.id == ident,
                WebauthnChallenge.used_at.is_(None),
                WebauthnChallenge.expires_at >= now,
            )
            .values(used_at=now)
        )
        return bytes(row.challenge) if done.rowcount == 1 else None

    challenge = ctx.db.write(work)
    if challenge is None:
        raise Forbidden("this passkey request has expired or was used: try again", "passkey_challenge")
    return challenge


def _credential_ids(ctx: Context, account_id: int) -> list[str]:
    with ctx.db.read() as db:
        return list(db.scalars(select(Passkey.credential_id).where(Passkey.account_id == account_id)))


def registration_options(ctx: Context, account_id: int, label: str) -> dict[str, Any]:
    rp = relying_party(ctx.settings)
    ident, challenge = _new_challenge(ctx, "register", account_id)
    options = webauthn.generate_registration_options(
        rp_id=rp.id,
        rp_name=RP_NAME,
        user_id=f"encore-account-{account_id}".encode(),
        user_name=label,
        user_display_name=label,
        challenge=challenge,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=_b64decode(c)) for c in _credential_ids(ctx, account_id)
        ],
    )
    return {"challenge_id": ident, "options": json.loads(webauthn.options_to_json(options))}


def register(ctx: Context, account_id: int, challenge_id: str, credential: dict[str, Any]) -> str:
    rp = relying_party(ctx.settings)
    challenge = _spend_challenge(ctx, challenge_id, "register", account_id)
    try:
        verified = webauthn.verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            require_user_verification=True,
        )
    except (InvalidRegistrationResponse, ValueError, KeyError, TypeError) as exc:
        raise Forbidden(f"the passkey could not be verified: {exc}", "passkey_invalid") from None
    credential_id = bytes_to_base64url(verified.credential_id)
    now = ctx.now()

    def work(db: Db) -> None:
        db.add(
            Passkey(
                credential_id=credential_id,
                account_id=account_id,
                public_key=verified.credential_public_key,
                sign_count=verified.sign_count,
                created_at=now,
                last_used_at=None,
            )
        )

    try:
        ctx.db.write(work)
    except IntegrityError:
        raise Conflict("this passkey is registered already", "passkey_exists") from None
    return credential_id


def authentication_options(ctx: Context, purpose: str, account_id: int | None) -> dict[str, Any]:
    """Options to sign in (any passkey of this site: the phone offers its own) or to step up
    (only the account's own passkeys)."""
    rp = relying_party(ctx.settings)
    ident, challenge = _new_challenge(ctx, purpose, account_id)
    allowed = [] if account_id is None else _credential_ids(ctx, account_id)
    options = webauthn.generate_authentication_options(
        rp_id=rp.id,
        challenge=challenge,
        allow_credentials=[PublicKeyCredentialDescriptor(id=_b64decode(c)) for c in allowed] or None,
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    return {"challenge_id": ident, "options": json.loads(webauthn.options_to_json(options))}


def authenticate(
    ctx: Context, purpose: str, challenge_id: str, credential: dict[str, Any], account_id: int | None
) -> int:
    """The account whose passkey signed this challenge (for a step-up: must be ``account_id``)."""
    rp = relying_party(ctx.settings)
    challenge = _spend_challenge(ctx, challenge_id, purpose, account_id)
    credential_id = str(credential.get("id", ""))[:512]
    with ctx.db.read() as db:
        key = db.get(Passkey, credential_id)
        found = None if key is None else (key.account_id, bytes(key.public_key), int(key.sign_count))
    if found is None or (account_id is not None and found[0] != account_id):
        raise Forbidden("this passkey is not known here", "passkey_unknown")
    owner, public_key, count = found
    try:
        verified = webauthn.verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            credential_public_key=public_key,
            credential_current_sign_count=count,
            require_user_verification=True,
        )
    except (InvalidAuthenticationResponse, ValueError, KeyError, TypeError) as exc:
        raise Forbidden(f"the passkey could not be verified: {exc}", "passkey_invalid") from None
    now = ctx.now()

    def work(db: Db) -> int:
        done = db.connection().execute(
            update(Passkey)
            .where(Passkey.credential_id == credential_id, Passkey.sign_count == count)
            .values(sign_count=verified.new_sign_count, last_used_at=now)
        )
        return int(done.rowcount)

    if ctx.db.write(work) != 1:
        raise Forbidden("this passkey was used at the same moment elsewhere: try again", "passkey_replay")
    return int(owner)


def _b64decode(text: str) -> bytes:
    from webauthn.helpers import base64url_to_bytes

    return base64url_to_bytes(text)
