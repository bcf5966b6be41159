"""What of a scan's ``details`` the server may keep: never raw scanned text (pure, no I/O).

A scan that is not a ticket may be anything a camera or scanner read: a phone number, an ID
card, a payment code. The server has no use for that text, so it never stores it: the ``text``
sample of older gates goes, and a scan without a ticket keeps no text value at all, only numbers
and flags, and the gate's *description* of what was read (``sample``: length, character-class
shape, a keyed hash, a known format marker; see ``gate_agent.samples``) when it has exactly that
form, so no text can ride in it. What was removed is named under ``scrubbed``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

RAW_TEXT_KEYS = frozenset({"text", "raw"})
SAMPLE = "sample"
KNOWN_PREFIXES = frozenset({"EN1:", "https://", "http://"})
MAX_SHAPE = 40
_CLASS = r"[9A汉?\-_:/.=+*#@&%$!<>()\[\]{},;~^|\\'\" ]"
_SHAPE = re.compile(rf"(?:{_CLASS}(?:\{{\d{{1,5}}\}})?)*…?")
"""Character classes, each with an optional run count: the only digits are run counts."""
_RUN = re.compile(r"\{(\d+)\}")
_HASH = re.compile(r"[0-9a-f]{16}")


def scrub_details(details: Mapping[str, Any], *, is_ticket: bool) -> dict[str, Any]:
    """``details`` without raw text: the keys removed are listed under ``scrubbed``."""
    kept: dict[str, Any] = {}
    removed: list[str] = []
    for key, value in details.items():
        if key == "scrubbed":
            continue
        if key == SAMPLE:
            keep = is_description(value)
        else:
            keep = key not in RAW_TEXT_KEYS and (is_ticket or _plain_scalar(value))
        if keep:
            kept[key] = value
        else:
            removed.append(str(key))
    if removed or "scrubbed" in details:
        previous = details.get("scrubbed")
        names = {n for n in previous if isinstance(n, str)} if isinstance(previous, list) else set()
        kept["scrubbed"] = sorted(names | set(removed))
    return kept


def is_description(value: object) -> bool:
    """Whether ``value`` is a gate's description of a non-ticket scan and nothing more."""
    if not isinstance(value, Mapping) or not set(value) <= {"length", "shape", "hash", "prefix"}:
        return False
    length = value.get("length", 0)
    if isinstance(length, bool) or not isinstance(length, int) or length < 0:
        return False
    shape = value.get("shape", "")
    if not isinstance(shape, str) or len(shape) > MAX_SHAPE or not _SHAPE.fullmatch(shape):
        return False
    if any(int(run) > length for run in _RUN.findall(shape)):
        return False  # a run longer than what was read: not a shape, maybe a number in disguise
    digest = value.get("hash", "0" * 16)
    if not isinstance(digest, str) or not _HASH.fullmatch(digest):
        return False
    return value.get("prefix", "EN1:") in KNOWN_PREFIXES


def _plain_scalar(value: object) -> bool:
    return value is None or isinstance(value, bool | int | float)
