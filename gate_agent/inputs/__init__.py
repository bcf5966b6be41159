"""Input adapters. Each turns a device into :class:`ScanEvent` objects with text, source and time.

The decoding in each (keys -> text, bytes -> frames, frames -> codes) is a pure class that the
tests drive directly; the device loops around them only read and reconnect.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class ScanEvent:
    """One decoded read: a ticket's text, or an ID document's fields (``kind="identity"``)."""

    text: str
    source: str
    at: float = field(default_factory=time.time)
    kind: str = "ticket"
    identity: dict[str, str] | None = None
    """For ID readers: ``id_type``, ``id_number`` and ``name`` (any may be missing)."""
    repeat_window: float | None = None


Emit = Callable[[ScanEvent], None]
"""How an input hands a scan to the agent (thread-safe; the agent queues it on its loop)."""


def strip_affixes(text: str, prefixes: tuple[str, ...], suffixes: tuple[str, ...]) -> str:
    """Remove the first matching prefix and suffix that a scanner or wallet app adds."""
    for prefix in prefixes:
        if prefix and text.startswith(prefix):
            text = text[len(prefix) :]
            break
    for suffix in suffixes:
        if suffix and text.endswith(suffix):
            text = text[: -len(suffix)]
            break
    return text
