"""The sync server's tunable limits, with the defaults a venue runs with."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sync_server.scan_time import TimeWindow


@dataclass(frozen=True)
class ServerSettings:
    window: TimeWindow = field(default_factory=TimeWindow)
    """Scan times outside it are kept but flagged (``sync_server.scan_time``)."""
    push_queue: int = 64
    """Messages a gate's push channel may have waiting before the gate is dropped."""
    dashboard_queue: int = 8
    """Stats messages a dashboard may have waiting before it is dropped."""
    dashboard_debounce: float = 0.2
    login_free_per_user: int = 5
    """Wrong passwords a user name may have before each further one locks it (1 s, 2 s, 4 s ...)."""
    login_free_per_address: int = 20
    """Wrong passwords one client address may have (any user names) before it is locked."""
    login_lock_cap: float = 900.0
    enrol_free_per_address: int = 10
    """Wrong enrolment codes one address may send before it is locked out (back-off as logins)."""
    secure_cookies: bool | None = None
    """``Secure`` on the session cookie: ``None`` means whenever the request came over TLS."""
    allowed_origins: frozenset[str] = frozenset()
    """Origins besides the server's own allowed to send organisers' state-changing requests
    (e.g. the public name behind a TLS-terminating proxy)."""
    password_threads: int = 2
    """Threads that check organiser passwords (scrypt), apart from the database thread."""
    clock: Callable[[], float] = time.monotonic
    """The clock of the throttles (tests pass their own)."""
