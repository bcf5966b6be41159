"""``box-office sessions cancel ID``: the bulk cancellation job from the command line, with a
progress bar on stderr. Run it again after any interruption: it continues the same job."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime
from typing import TextIO

from box_office.aftersales import bulk
from box_office.config import Settings
from box_office.context import Context
from box_office.errors import ServiceError
from box_office.wiring import default_mailer, default_providers, default_sms


class ProgressBar:
    """``[#####-----]  2500/5000 orders refunded and told  (312/s)`` redrawn in place."""

    def __init__(self, label: str, out: TextIO = sys.stderr, width: int = 30) -> None:
        self.label, self.out, self.width, self.started = label, out, width, time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        filled = self.width if total == 0 else self.width * done // total
        rate = done / max(time.monotonic() - self.started, 1e-6)
        bar = "#" * filled + "-" * (self.width - filled)
        self.out.write(f"\r[{bar}] {done}/{total} {self.label} ({rate:.0f}/s)")
        self.out.flush()


def cancel(
    settings: Settings,
    session_id: int,
    *,
    rate: float,
    batch: int,
    postpone_to: float | None = None,
    hours: float = 3.0,
    refund_days: float = 7.0,
) -> int:
    """Cancel (or, with ``postpone_to``, postpone) the session, showing progress."""
    ctx = Context.from_settings(settings)
    try:
        if postpone_to is None:
            job_id = bulk.start_cancel(ctx, session_id)
        else:
            job_id = bulk.start_postpone(
                ctx, session_id, postpone_to, postpone_to + hours * 3600, refund_days
            )
    except ServiceError as exc:
        print(f"box-office: error: {exc.message}", file=sys.stderr)
        return 1
    verb = "cancelling" if postpone_to is None else "postponing"
    print(f"{verb} session {session_id} (job {job_id})", file=sys.stderr)
    counts = bulk.run_job(
        ctx,
        default_providers(settings),
        default_mailer(settings),
        default_sms(settings),
        job_id,
        rate=rate,
        batch=batch,
        progress=ProgressBar(
            "orders refunded and told" if postpone_to is None else "orders re-issued and told"
        ),
    )
    done = "cancelled" if postpone_to is None else "postponed"
    print(f"\nsession {session_id} {done}: {counts['done']} orders done and told", file=sys.stderr)
    return 0


def run(settings: Settings, args: argparse.Namespace) -> int:
    """``box-office sessions cancel|postpone ID``."""
    postpone_to = None
    if args.action == "postpone":
        if not args.to:
            print("box-office: error: postpone needs --to (the new start)", file=sys.stderr)
            return 2
        try:
            postpone_to = datetime.fromisoformat(args.to).timestamp()
        except ValueError:
            print(f"box-office: error: --to {args.to!r} is not an ISO 8601 time", file=sys.stderr)
            return 2
    return cancel(
        settings,
        args.session_id,
        rate=args.rate,
        batch=args.batch,
        postpone_to=postpone_to,
        hours=args.hours,
        refund_days=args.refund_days,
    )
