"""The running agent's small mutable status: what the staff display shows besides verdicts.

The sync client (``gate_agent.sync``) updates ``online``, ``last_sync``, ``sync_error`` and, when
it parks a scan the server refused, ``quarantined``; the agent updates the rest. Plain
attributes, read and written on the agent's event loop (the sync client runs there too); call
:meth:`changed` after an update to push it to the display at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class AgentStatus:
    gate_id: str
    direction: str
    event_id: str
    online: bool = False
    sync_enabled: bool = False
    last_sync: float | None = None
    sync_error: str | None = None
    backlog: int = 0
    quarantined: int = 0
    """Scans the sync server refused for good, parked in the journal for a person to look at."""
    counts: dict[str, int] = field(default_factory=dict)
    inputs: dict[str, bool] = field(default_factory=dict)
    last: dict[str, Any] | None = None
    holding: bool = False
    started_at: float = field(default_factory=time.time)
    listeners: list[Callable[[], None]] = field(default_factory=list, repr=False)

    def changed(self) -> None:
        for listener in list(self.listeners):
            listener()

    def to_json(self) -> dict[str, Any]:
        return {
            "gate_id": self.gate_id,
            "direction": self.direction,
            "event_id": self.event_id,
            "online": self.online,
            "sync_enabled": self.sync_enabled,
            "last_sync": self.last_sync,
            "sync_error": self.sync_error,
            "backlog": self.backlog,
            "quarantined": self.quarantined,
            "counts": self.counts,
            "inputs": self.inputs,
            "holding": self.holding,
            "now": time.time(),
        }
