"""``box-office background``: the box office's housekeeping, in a process of its own.

Sweeps (expired holds and orders, refunds owed, orders left paid but not ticketed) and ticket
delivery (e-mail with QR images, SMS) used to run inside every HTTP worker. During an on-sale
spike that work competed with buyers' requests for the same CPU. ``box-office serve`` now
starts this loop as one separate process at a lower scheduling priority (``nice``): requests
go first, delivery drains its queue as soon as there is room, and nothing is lost meanwhile
(the outbox and the sweeps work from the database, claim-then-send, at least once).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable

from box_office.config import Settings
from box_office.context import Context
from box_office.notify.delivery import deliver_pending
from box_office.payments.provider import ProviderRegistry
from box_office.promotions import group_notices
from box_office.sales.sweeper import run_sweeps
from box_office.wiring import default_mailer, default_providers, default_sms

log = logging.getLogger(__name__)
DEFAULT_NICE = 19


def run(settings: Settings, stop: threading.Event, parent: int | None = None) -> None:
    """Deliver and sweep until ``stop`` is set (or, if given, the ``parent`` process is gone)."""
    ctx = Context.from_settings(settings)
    providers = default_providers(settings, ctx)
    mailer, sms = default_mailer(settings), default_sms(settings)
    next_sweep = time.monotonic() + settings.sweep_interval
    try:
        while not stop.is_set():
            if parent is not None and os.getppid() != parent:
                log.warning("box-office serve is gone: background work stops")
                return
            busy = _guarded(lambda: deliver_pending(ctx, mailer, sms)) > 0
            _guarded(lambda: group_notices.deliver(ctx, mailer, sms))  # group-buy steps (promotions)
            if time.monotonic() >= next_sweep:
                _guarded(lambda: _sweep(ctx, providers))
                next_sweep = time.monotonic() + settings.sweep_interval
            if not busy:  # a full batch means more is waiting: go again at once
                stop.wait(settings.delivery_interval)
    finally:
        ctx.db.dispose()


def _sweep(ctx: Context, providers: ProviderRegistry) -> int:
    run_sweeps(ctx, providers)
    return 0


def _guarded(work: Callable[[], int]) -> int:
    try:
        return work()
    except Exception:  # keep the loop alive; the next round retries
        log.exception("background round failed")
        return 0


def main(settings: Settings, nice: int = DEFAULT_NICE) -> int:
    """Entry point of ``box-office background``: runs until SIGTERM/SIGINT."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if nice:
        os.nice(nice)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    parent = int(os.environ["BOX_OFFICE_PARENT_PID"]) if "BOX_OFFICE_PARENT_PID" in os.environ else None
    run(settings, stop, parent)
    return 0
