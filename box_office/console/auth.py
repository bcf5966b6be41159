"""Console sign-in: users with a role, scrypt passwords, login sessions with a CSRF token.

The browser keeps only a random session token in an HttpOnly, SameSite=Lax cookie; the
database keeps its SHA-256 digest (``vault.token_hash``), so a database dump signs no one in.
Every state-changing form sends the login's synchronizer token back (``csrf``), compared in
constant time: a page of another site can make the browser send the cookie, never the token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session as Db

from box_office.console.roles import OWNER, ROLES, TEAM, allowed
from box_office.console.tables import ConsoleLogin, ConsoleUser
from box_office.context import Context
from box_office.errors import Conflict, Forbidden, Invalid, Unauthorized
from box_office.store.models import Organiser
from box_office.vault import token_hash

LOGIN_SECONDS = 12 * 3600
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
MIN_PASSWORD = 10


@dataclass(frozen=True)
class ConsoleUserView:
    """The signed-in user as routes see it."""

    id: int
    organiser_id: int
    organiser_name: str
    email: str
    name: str
    role: str
    csrf: str

    def may(self, permission: str) -> bool:
        return allowed(self.role, permission)


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, salt_b64, digest_b64 = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    digest = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt_b64), dklen=32, **_SCRYPT)
    return hmac.compare_digest(digest, base64.b64decode(digest_b64))


# A fixed digest to compare against when the e-mail is unknown: the answer takes as long either way.
_DUMMY = hash_password(secrets.token_hex(8))


def create_user(
    ctx: Context,
    organiser_id: int,
    email: str,
    name: str,
    role: str,
    password: str,
    *,
    by: ConsoleUserView | None,
) -> int:
    """A new console user of ``organiser_id``. ``by`` is the owner adding them (None: the
    organiser's API token, which stands for the organiser itself)."""
    if role not in ROLES:
        raise Invalid(f"role must be one of {', '.join(ROLES)}", "bad_role")
    if len(password) < MIN_PASSWORD:
        raise Invalid(f"the password needs at least {MIN_PASSWORD} characters", "weak_password")
    email = email.strip().lower()
    if "@" not in email or len(email) > 254:
        raise Invalid("not an e-mail address", "bad_email")
    if by is not None and (by.organiser_id != organiser_id or not by.may(TEAM)):
        raise Forbidden("only an owner adds console users")
    digest = hash_password(password)

    def work(db: Db) -> int:
        if db.get(Organiser, organiser_id) is None:
            raise Invalid(f"no organiser {organiser_id}")
        if db.scalar(select(func.count()).where(ConsoleUser.email == email)):
            raise Conflict("a console user with this e-mail exists", "email_taken")
        row = ConsoleUser(
            organiser_id=organiser_id,
            email=email,
            name=name.strip() or email,
            role=role,
            password_hash=digest,
            active=True,
            created_at=ctx.now(),
        )
        db.add(row)
        db.flush()
        return row.id

    return ctx.db.write(work)


def sign_in(ctx: Context, email: str, password: str) -> tuple[str, ConsoleUserView]:
    """A new login for the user with this e-mail and password: (cookie token, user)."""
    email = email.strip().lower()
    with ctx.db.read() as db:
        user = db.scalar(select(ConsoleUser).where(ConsoleUser.email == email))
    if user is None or not user.active:
        check_password(password, _DUMMY)
        raise Unauthorized("wrong e-mail or password", "bad_login")
    if not check_password(password, user.password_hash):
        raise Unauthorized("wrong e-mail or password", "bad_login")
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = ctx.now()

    def work(db: Db) -> None:
        db.execute(delete(ConsoleLogin).where(ConsoleLogin.user_id == user.id, ConsoleLogin.expires_at < now))
        db.add(
            ConsoleLogin(
                token_hash=token_hash(token),
                user_id=user.id,
                csrf=csrf,
                created_at=now,
                expires_at=now + LOGIN_SECONDS,
            )
        )

    ctx.db.write(work)
    found = current_user(ctx, token)
    assert found is not None
    return token, found


def current_user(ctx: Context, token: str | None) -> ConsoleUserView | None:
    """The user a session cookie belongs to, or None (no cookie, unknown, expired, disabled)."""
    if not token:
        return None
    with ctx.db.read() as db:
        row = db.execute(
            select(ConsoleLogin, ConsoleUser, Organiser.name)
            .join(ConsoleUser, ConsoleUser.id == ConsoleLogin.user_id)
            .join(Organiser, Organiser.id == ConsoleUser.organiser_id)
            .where(ConsoleLogin.token_hash == token_hash(token))
        ).first()
    if row is None:
        return None
    login, user, organiser_name = row
    if login.expires_at < ctx.now() or not user.active:
        return None
    return ConsoleUserView(
        user.id, user.organiser_id, organiser_name, user.email, user.name, user.role, login.csrf
    )


def sign_out(ctx: Context, token: str) -> None:
    ctx.db.write(
        lambda db: db.execute(delete(ConsoleLogin).where(ConsoleLogin.token_hash == token_hash(token)))
    )


def check_csrf(user: ConsoleUserView, sent: str | None) -> None:
    """Refuse a state-changing request whose form or header does not carry the login's token."""
    if not sent or not hmac.compare_digest(sent.encode(), user.csrf.encode()):
        raise Forbidden("the form's CSRF token is missing or wrong: reload the page", "csrf")


def team(ctx: Context, organiser_id: int) -> list[dict[str, object]]:
    with ctx.db.read() as db:
        rows = db.scalars(
            select(ConsoleUser).where(ConsoleUser.organiser_id == organiser_id).order_by(ConsoleUser.id)
        ).all()
    return [{"id": u.id, "email": u.email, "name": u.name, "role": u.role, "active": u.active} for u in rows]


__all__ = ["OWNER", "ConsoleUserView"]


class LoginThrottle:
    """Refuse sign-in for an e-mail after ``limit`` failures within
    ``window`` seconds: a password cannot be guessed at the speed of the network. In memory, per
    process; a success clears the e-mail's count."""

    def __init__(self, limit: int = 5, window: float = 900.0) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, list[float]] = {}

    def _recent(self, key: str, now: float) -> list[float]:
        kept = [t for t in self._failures.get(key, []) if t > now - self.window]
        if kept:
            self._failures[key] = kept
        else:
            self._failures.pop(key, None)
        return kept

    def blocked(self, keys: list[str], now: float) -> bool:
        return any(len(self._recent(key, now)) >= self.limit for key in keys)

    def failed(self, keys: list[str], now: float) -> None:
        if len(self._failures) > 100_000:
            self._failures.clear()
        for key in keys:
            self._failures.setdefault(key, []).append(now)

    def succeeded(self, key: str) -> None:
        self._failures.pop(key, None)
