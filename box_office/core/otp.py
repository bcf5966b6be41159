"""One-time codes for signing in and stepping up: the pure rules, no I/O.

A code is 6 digits, lives 5 minutes and may be tried 5 times; it is stored only as a keyed
digest (HMAC-SHA256 under a key derived from the server's secret), bound to its challenge, so a
database dump reveals no code and a digest of one challenge does not match another's.
Sending is throttled per number (or address), per IP and per device; the answer to "send me a
code" is the same whether an account exists for the number or not.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from box_office.core.errors import RuleError

CODE_DIGITS = 6
CODE_SECONDS = 300
MAX_TRIES = 5


@dataclass(frozen=True, slots=True)
class Throttle:
    """At most ``count`` codes per ``seconds`` for one subject (a number, an IP, a device)."""

    count: int
    seconds: float


# The first rule of each list is the gap between two codes; the second bounds an hour.
THROTTLES: Mapping[str, tuple[Throttle, ...]] = {
    "target": (Throttle(1, 60), Throttle(5, 3600)),
    "ip": (Throttle(20, 3600),),
    "device": (Throttle(1, 30), Throttle(10, 3600)),
}

_MAINLAND = re.compile(r"^1[3-9]\d{9}$")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
PHONE_PATTERN = r"^((\+86|0086)?[ -]?1[3-9]([ -]?[0-9]){9}|(\+|00)(8[0-57-9][0-9]{5,13}|[1-79][0-9]{6,14}))$"
"""What the API accepts as a number: a mainland number (11 digits, spaces or hyphens allowed,
+86 optional) or + and a country code with the number; exactly what ``normalise_phone`` takes."""
EMAIL_PATTERN = r"^[A-Za-z0-9._%+'-]{1,64}@([A-Za-z0-9-]{1,63}\.){1,8}[A-Za-z]{2,63}$"
"""A plain ASCII address with a dot in its domain (no control or line-break character can reach
a mail header); the same in the API's schema and ``normalise_email``."""
_EMAIL = re.compile(EMAIL_PATTERN)


def normalise_phone(text: str) -> str:
    """A mobile number in E.164 form: ``13800138000`` and ``+86 138-0013-8000`` are one number.

    An 11-digit number starting 13-19 with no country code is read as mainland China (+86);
    anything else needs its ``+country`` prefix.
    """
    raw = unicodedata.normalize("NFKC", text).strip()
    digits = re.sub(r"[\s\-().]", "", raw)
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    if _MAINLAND.match(digits):
        return "+86" + digits
    if digits.startswith("+86") and not _MAINLAND.match(digits[3:]):
        raise RuleError("phone_invalid", "a mainland China mobile number has 11 digits and starts with 13-19")
    if not _E164.match(digits):
        raise RuleError("phone_invalid", "not a mobile number: give 11 digits, or + and the country code")
    return digits


def normalise_email(text: str) -> str:
    """An e-mail address as one account knows it: lower case (``A@x.cn`` is ``a@x.cn``)."""
    if len(text) > 254 or not _EMAIL.fullmatch(text):
        raise RuleError("email_invalid", "not an e-mail address")
    return text.lower()


def mask_target(channel: str, target: str) -> str:
    """What a page may show of where the code went: ``+86 138****8000``, ``a***@example.com``."""
    if channel == "email":
        name, _, domain = target.partition("@")
        return f"{name[:1]}***@{domain}"
    if target.startswith("+86"):
        return f"+86 {target[3:6]}****{target[-4:]}"
    return f"{target[:3]}****{target[-4:]}"


def new_code(random_bytes: bytes) -> str:
    """Six digits from at least 8 random bytes (the modulo bias over 2**64 is negligible)."""
    if len(random_bytes) < 8:
        raise ValueError("a code needs at least 8 random bytes")
    return f"{int.from_bytes(random_bytes[:8], 'big') % 10**CODE_DIGITS:0{CODE_DIGITS}d}"


def code_digest(key: bytes, challenge: str, code: str) -> str:
    """The stored form of a code: bound to its challenge, keyed by the server's secret."""
    return hmac.new(key, f"otp|{challenge}|{code}".encode(), hashlib.sha256).hexdigest()


def throttles(per_ip_hour: int | None = None) -> Mapping[str, tuple[Throttle, ...]]:
    """The throttles, with the per-IP hourly count replaced (a venue's Wi-Fi or a carrier's NAT
    puts many buyers behind one address: a deployment may raise it)."""
    if per_ip_hour is None:
        return THROTTLES
    return {**THROTTLES, "ip": (Throttle(per_ip_hour, 3600),)}


def retry_after(
    sent_at: Mapping[str, list[float]], now: float, rules: Mapping[str, tuple[Throttle, ...]] = THROTTLES
) -> int:
    """Seconds until one more code may be sent, given the send times of each subject kind
    (``target``, ``ip``, ``device``) in the last hour; 0 when it may be sent now."""
    wait = 0.0
    for kind, times in sent_at.items():
        for rule in rules[kind]:
            recent = sorted(t for t in times if t > now - rule.seconds)
            if len(recent) >= rule.count:
                # the oldest send inside the window has to age out of it
                wait = max(wait, recent[-rule.count] + rule.seconds - now)
    return 0 if wait <= 0 else int(wait) + 1


@dataclass(frozen=True, slots=True)
class Challenge:
    """What the store knows of one code when it is tried."""

    digest: str
    expires_at: float
    tries: int
    used: bool


def check_code(key: bytes, challenge_id: str, challenge: Challenge, code: str, now: float) -> None:
    """Accept the right code once, within its time, within its tries (``tries`` counts this one).

    The order matters: a spent, used or expired challenge is refused before the code is
    compared, so the 6th try is refused even with the right code.
    """
    if challenge.used:
        raise RuleError("otp_used", "this code was used already: ask for a new one")
    if challenge.tries > MAX_TRIES:
        raise RuleError("otp_locked", "too many wrong codes: ask for a new one")
    if now > challenge.expires_at:
        raise RuleError("otp_expired", "the code has expired: ask for a new one")
    given = re.sub(r"\s", "", unicodedata.normalize("NFKC", code))
    if not hmac.compare_digest(challenge.digest, code_digest(key, challenge_id, given)):
        left = MAX_TRIES - challenge.tries
        raise RuleError("otp_wrong", f"wrong code ({left} tries left)")
