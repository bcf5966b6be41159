"""``box-office sessions cancel ID``: the bulk cancellation job from the command line, with a
progress bar on stderr. Run it again after any interruption: it continues the same job."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from box_office.aftersales import bulk
from box_office.config import Settings
from box_office.context import Context
from box_office.errors import ServiceError
from box_office.wiring import default_mailer, default_providers, default_sms


class ProgressBar:
    """``[#####-----]  2500/5000 orders refunded and told  (312/s)`` redrawn in place."""

    def __init__(self, out: TextIO = sys.stderr, width: int = 30) -> None:
        self.out, self.width, self.started = out, width, time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        filled = self.width if total == 0 else self.width * done // total
        rate = done / max(time.monotonic() - self.started, 1e-6)
        bar = "#" * filled + "-" * (self.width - filled)
        self.out.write(f"\r[{bar}] {done}/{total} orders refunded and told ({rate:.0f}/s)")
        self.out.flush()


def cancel(settings: Settings, session_id: int, *, rate: float, batch: int) -> int:
    ctx = Context.from_settings(settings)
    try:
        job_id = bulk.start_cancel(ctx, session_id)
    except ServiceError as exc:
        print(f"box-office: error: {exc.message}", file=sys.stderr)
        return 1
    print(f"cancelling session {session_id} (job {job_id})", file=sys.stderr)
    counts = bulk.run_job(
        ctx,
        default_providers(settings),
        default_mailer(settings),
        default_sms(settings),
        job_id,
        rate=rate,
        batch=batch,
        progress=ProgressBar(),
    )
    print(f"\nsession {session_id} cancelled: {counts['done']} orders refunded and told", file=sys.stderr)
    return 0
