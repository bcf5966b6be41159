"""Secrets: enrolment codes, device credentials, organiser passwords and sessions.

Only hashes are stored: a copied database lets nobody act as a gate or an organiser. Device
credentials and session tokens are 256-bit random values, so a plain SHA-256 is enough for
them; organiser passwords are chosen by people, so they get scrypt (stdlib, memory-hard).

Enrolment codes: 12 characters from a 32-symbol alphabet, so 60 bits of entropy. A code works
once and expires (60 minutes by default), and the server throttles wrong codes per address, so
guessing one is out of reach (at 10 tries a minute, 2**60 codes take ~10**11 years).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: typed by people at a gate
CODE_LENGTH = 12


def new_code() -> str:
    """A one-time enrolment code, grouped for reading aloud: ``XXXX-XXXX-XXXX``."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, CODE_LENGTH, 4))


def normalise_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def new_token(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt$16384$8$1${salt.hex()}${digest.hex()}"


_DUMMY_HASH: str | None = None


def verify_password(password: str, stored: str | None) -> bool:
    """Check ``password``; for an unknown user (``stored`` None) the same scrypt work is done
    against a dummy hash, so the answer takes as long and tells nothing about who exists."""
    global _DUMMY_HASH
    if stored is None:
        if _DUMMY_HASH is None:
            _DUMMY_HASH = hash_password(secrets.token_urlsafe(16))
        check_password(password, _DUMMY_HASH)
        return False
    return check_password(password, stored)


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    actual = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p))
    return hmac.compare_digest(actual.hex(), digest)
