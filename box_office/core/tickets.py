"""Tickets: when a ticket admits. No I/O."""

from __future__ import annotations


def ticket_window(starts_at: float, ends_at: float) -> tuple[int, int]:
    """When a ticket admits: doors open up to 4 hours before the start, until 2 hours after the end."""
    return int(starts_at) - 4 * 3600, int(ends_at) + 2 * 3600
