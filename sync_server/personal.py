"""What of a scan's ``details`` the server may keep: never raw scanned text (pure, no I/O).

A scan that is not a ticket may be anything a camera or scanner read: a phone number, an ID
card, a payment code. The server has no use for that text, so it never stores it: the ``text``
sample goes, and a scan without a ticket keeps no text value at all, only numbers and flags.
What was removed is named under ``scrubbed`` so organisers know something was there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

RAW_TEXT_KEYS = frozenset({"text", "raw", "sample"})


def scrub_details(details: Mapping[str, Any], *, is_ticket: bool) -> dict[str, Any]:
    """``details`` without raw text: the keys removed are listed under ``scrubbed``."""
    kept: dict[str, Any] = {}
    removed: list[str] = []
    for key, value in details.items():
        if key == "scrubbed":
            continue
        if key in RAW_TEXT_KEYS or (not is_ticket and not _plain_scalar(value)):
            removed.append(str(key))
        else:
            kept[key] = value
    if removed or "scrubbed" in details:
        previous = details.get("scrubbed")
        names = set(previous) if isinstance(previous, list) else set()
        kept["scrubbed"] = sorted(names | set(removed))
    return kept


def _plain_scalar(value: object) -> bool:
    return value is None or isinstance(value, bool | int | float)
