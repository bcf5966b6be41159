"""Buyer identities as the console shows them: enough to recognise, not enough to copy. No I/O."""

from __future__ import annotations


def mask_email(email: str) -> str:
    """``alice@example.com`` -> ``a***e@example.com``; the domain stays (it says which provider)."""
    local, at, domain = email.partition("@")
    if not at:
        return "***"
    if len(local) <= 2:
        return local[:1] + "***@" + domain
    return local[0] + "***" + local[-1] + "@" + domain


def mask_phone(phone: str | None) -> str:
    """``13812345678`` -> ``138****5678``."""
    if not phone:
        return ""
    digits = phone.strip()
    if len(digits) <= 4:
        return "****"
    return digits[:3] + "****" + digits[-4:]
