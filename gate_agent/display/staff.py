"""The staff session of the display: who may scan, check IDs and release a hold from a browser.

Without it, anyone who reached the display's port could admit a typed ticket code or settle a
real-name hold. Staff sign in with:

- the device's **PIN**, set at enrolment or with ``gate-agent staff-pin`` (stored as an scrypt
  hash in the gate's store, 0600), required whenever the display listens beyond loopback; or
- without a PIN, a **pairing code** made at start-up and shown only to a browser on the device
  itself (loopback), so the kiosk screen at the lane can sign in and nothing else can.

A session is a random token in an HttpOnly, SameSite=Strict cookie plus a CSRF token that the
page sends in the ``X-CSRF-Token`` header with every action; a cross-site form or a script on
another origin has neither. Five wrong secrets in a row lock sign-in for five minutes, doubling
with each further lock-out (per device, not per address, so rotating addresses does not help).
Plain logic with an injected clock; the HTTP side is in ``server.py``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

PIN_PATTERN = re.compile(r"\d{6,12}")
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
"""About 16 MiB and 50-100 ms on a Raspberry Pi 4 per attempt: cheap for staff, slow for guessing."""
MAX_FAILURES = 5
LOCKOUT_SECONDS = 300.0
SESSION_SECONDS = 12 * 3600.0
MAX_SESSIONS = 32


class PinError(ValueError):
    """A PIN that cannot be set (too short, not digits)."""


class SignInRefused(Exception):
    """Wrong secret, or sign-in locked; ``retry_after`` is set while locked."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def hash_pin(pin: str, *, salt: bytes | None = None) -> str:
    """``scrypt$N$r$p$salt$hash`` for a PIN of 6-12 digits; raises :class:`PinError`."""
    if not isinstance(pin, str) or not PIN_PATTERN.fullmatch(pin):
        raise PinError("the staff PIN is 6 to 12 digits")
    salt = secrets.token_bytes(16) if salt is None else salt
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def pin_matches(pin: str, stored: str) -> bool:
    """Whether ``pin`` is the one hashed in ``stored`` (constant-time compare)."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        candidate = hashlib.scrypt(
            pin.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(candidate, bytes.fromhex(digest))


@dataclass(frozen=True, slots=True)
class StaffSession:
    token: str
    csrf: str
    expires: float


class StaffAuth:
    """Sign-in, sessions and lock-out for one display."""

    def __init__(
        self,
        pin_hash: str | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_failures: int = MAX_FAILURES,
        lockout: float = LOCKOUT_SECONDS,
        session_seconds: float = SESSION_SECONDS,
    ) -> None:
        self.pin_hash = pin_hash
        self.clock = clock
        self.max_failures = max_failures
        self.lockout = lockout
        self.session_seconds = session_seconds
        self.pairing_code = None if pin_hash else f"{secrets.randbelow(10**6):06d}"
        """Shown on the device's own screen when no PIN is set; None when a PIN is."""
        self._sessions: dict[str, StaffSession] = {}
        self._failures = 0
        self._lockouts = 0
        self._locked_until = 0.0

    @property
    def method(self) -> str:
        return "pin" if self.pin_hash else "pairing_code"

    def locked_for(self) -> float:
        """Seconds until sign-in is possible again (0 when it is)."""
        return max(0.0, self._locked_until - self.clock())

    def sign_in(self, secret: str) -> StaffSession:
        """A new session for the right PIN or pairing code; raises :class:`SignInRefused`."""
        wait = self.locked_for()
        if wait > 0:
            raise SignInRefused("too many wrong attempts: sign-in is locked", retry_after=wait)
        if self.pin_hash is not None:
            right = pin_matches(secret, self.pin_hash)
        else:
            assert self.pairing_code is not None
            right = hmac.compare_digest(secret.encode(), self.pairing_code.encode())
        if not right:
            self._failures += 1
            if self._failures >= self.max_failures:
                self._failures = 0
                self._locked_until = self.clock() + self.lockout * 2**self._lockouts
                self._lockouts += 1
                raise SignInRefused(
                    "too many wrong attempts: sign-in is locked", retry_after=self.locked_for()
                )
            raise SignInRefused(f"wrong {'PIN' if self.pin_hash else 'pairing code'}")
        self._failures = 0
        self._lockouts = 0
        now = self.clock()
        self._sessions = {t: s for t, s in self._sessions.items() if s.expires > now}
        if len(self._sessions) >= MAX_SESSIONS:  # the oldest goes
            oldest = min(self._sessions.values(), key=lambda s: s.expires)
            del self._sessions[oldest.token]
        session = StaffSession(
            secrets.token_urlsafe(32), secrets.token_urlsafe(32), now + self.session_seconds
        )
        self._sessions[session.token] = session
        return session

    def session(self, token: str | None) -> StaffSession | None:
        """The live session of a cookie value, or None."""
        if not token:
            return None
        session = self._sessions.get(token)
        if session is None or session.expires <= self.clock():
            return None
        return session

    def csrf_ok(self, session: StaffSession, presented: str | None) -> bool:
        return presented is not None and hmac.compare_digest(session.csrf.encode(), presented.encode())

    def sign_out(self, token: str | None) -> None:
        if token:
            self._sessions.pop(token, None)
