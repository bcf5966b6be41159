"""What the journal keeps of a scan that is not a ticket: never its text.

Staff type ID numbers into the scan field, scanners read phone numbers and payment codes; a
journal that kept "the first 40 characters" kept those, uploaded them, and the sync server
copied them into its scan log. So a non-ticket scan is described, not sampled:

- ``length``: how many characters were read;
- ``shape``: the character classes, run-length coded (``9`` digit, ``A`` Latin letter,
  ``汉`` CJK, ``?`` anything else, ASCII punctuation as itself): ``11010519491231002X`` is
  ``9{17}A``, enough to see "someone typed an ID number" and nothing of the number;
- ``hash``: a keyed hash (HMAC-SHA256, 8 bytes) under a key that lives only in the running
  process's memory, so repeats of the same code can be told apart from different codes in one
  run's journal, while a stolen, powered-off device (or the sync server) cannot test guesses;
- ``prefix``: only for known formats that carry nothing personal (``EN1:`` tickets,
  ``http(s)://`` links): the format marker itself, never what follows it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import unicodedata
from typing import Any

KNOWN_PREFIXES = ("EN1:", "https://", "http://")
"""Markers of formats with no personal data; only the marker is kept, not the text after it."""
SAMPLE_KEYS = frozenset({"length", "shape", "hash", "prefix"})
MAX_SHAPE = 40
_PROCESS_KEY = os.urandom(32)


def _char_class(ch: str) -> str:
    if ch.isascii():
        if ch.isdigit():
            return "9"
        if ch.isalpha():
            return "A"
        if ch in "-_:/.=+*#@&%$!?<>()[]{},;~^|\\'\" ":
            return ch
        return "?"
    if unicodedata.category(ch) == "Lo" and "CJK" in unicodedata.name(ch, ""):
        return "汉"
    if unicodedata.category(ch).startswith("N"):
        return "9"  # full-width and other digits are digits too
    if ch.isalpha():
        return "A"
    return "?"


def shape(text: str) -> str:
    """Run-length coded character classes of ``text``, cut at :data:`MAX_SHAPE` characters."""
    parts: list[str] = []
    previous, run = "", 0
    for ch in text:
        cls = _char_class(ch)
        if cls == previous:
            run += 1
            continue
        if previous:
            parts.append(previous if run == 1 else f"{previous}{{{run}}}")
        previous, run = cls, 1
    if previous:
        parts.append(previous if run == 1 else f"{previous}{{{run}}}")
    coded = "".join(parts)
    return coded if len(coded) <= MAX_SHAPE else coded[: MAX_SHAPE - 1] + "…"


def describe(text: str, key: bytes | None = None) -> dict[str, Any]:
    """The journal's description of a non-ticket scan (see the module docstring)."""
    key = _PROCESS_KEY if key is None else key
    described: dict[str, Any] = {
        "length": len(text),
        "shape": shape(text),
        "hash": hmac.new(key, text.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:16],
    }
    for prefix in KNOWN_PREFIXES:
        if text.startswith(prefix):
            described["prefix"] = prefix
            break
    return {"sample": described}


def scrub_details(details: dict[str, Any]) -> dict[str, Any] | None:
    """Details of a journalled scan with any raw ``text`` replaced by its description.

    For journals written before this module: the description's hash is under a throw-away
    key, so old and new hashes never compare equal (nothing is lost: the old text had no
    comparable hash either).
    """
    if "text" not in details:
        return details
    cleaned = {k: v for k, v in details.items() if k != "text"}
    text = details.get("text")
    if isinstance(text, str):
        cleaned.update(describe(text, os.urandom(32)))
    return cleaned or None
