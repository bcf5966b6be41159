"""Fen ↔ yuan at the Alipay boundary: Alipay speaks yuan strings with two decimals, we keep fen."""

from __future__ import annotations

import re

_YUAN = re.compile(r"^(0|[1-9]\d{0,11})(?:\.(\d{1,2}))?$")


def yuan(cents: int) -> str:
    """12345 → "123.45" (exact; no floating point)."""
    if cents < 0:
        raise ValueError("negative amount")
    return f"{cents // 100}.{cents % 100:02d}"


def fen(text: str) -> int:
    """ "123.45" → 12345, exactly; ValueError for anything that is not a plain yuan amount with
    at most two decimals (no sign, exponent, spaces or a third decimal that would be rounded)."""
    match = _YUAN.match(text)
    if match is None:
        raise ValueError(f"not a yuan amount: {text!r}")
    whole, decimals = match.group(1), (match.group(2) or "").ljust(2, "0")
    return int(whole) * 100 + int(decimals)
