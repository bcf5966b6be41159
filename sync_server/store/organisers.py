"""Organiser accounts and their login sessions (only hashes stored).

Checking a password (scrypt, ~30 ms of CPU) is not done here: the web app reads the stored
hash on the database thread, checks it on a thread of its own (``auth.verify_password``) and
only then asks for a session, so a stream of login attempts never holds up the gates' requests.
"""

from __future__ import annotations

import time

from sqlalchemy import select

from sync_server import auth, db
from sync_server.store.base import Database

SESSION_TTL = 12 * 3600.0


class OrganiserStore:
    def __init__(self, database: Database) -> None:
        self.db = database
        self.engine = database.engine

    def add_organiser(self, username: str, password: str) -> None:
        stmt = self.db.insert(db.organisers).values(
            username=username, password_hash=auth.hash_password(password), created_at=time.time()
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["username"], set_={"password_hash": stmt.excluded.password_hash}
        )
        with self.engine.begin() as conn:
            conn.execute(stmt)

    def password_hash(self, username: str) -> str | None:
        """The stored hash of ``username``'s password, or ``None`` for an unknown user."""
        with self.engine.connect() as conn:
            value = conn.execute(
                select(db.organisers.c.password_hash).where(db.organisers.c.username == username)
            ).scalar_one_or_none()
        return None if value is None else str(value)

    def create_session(self, username: str, ttl: float = SESSION_TTL) -> str:
        token = auth.new_token("session")
        with self.engine.begin() as conn:
            conn.execute(
                db.sessions.insert().values(
                    token_hash=auth.token_hash(token), username=username, expires_at=time.time() + ttl
                )
            )
        return token

    def login(self, username: str, password: str, ttl: float = SESSION_TTL) -> str | None:
        """Check the password and open a session, in the calling thread (the CLI, tests)."""
        if not auth.verify_password(password, self.password_hash(username)):
            return None
        return self.create_session(username, ttl)

    def session_user(self, token: str) -> str | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(db.sessions).where(db.sessions.c.token_hash == auth.token_hash(token))
            ).first()
        if row is None or row.expires_at < time.time():
            return None
        return str(row.username)

    def logout(self, token: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(db.sessions.delete().where(db.sessions.c.token_hash == auth.token_hash(token)))
