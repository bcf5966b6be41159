"""The ``box-office`` command: ``serve`` (migrate, then run the API) and ``migrate``.

``box-office serve`` with no options keeps a SQLite file under the state directory and
listens on 127.0.0.1:8000. Bad options print one line on stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Sequence
from typing import NoReturn

from box_office.config import ConfigError, Settings, load_settings


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="box-office", description="Encore box office: sell tickets, feed the venue.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    serve = commands.add_parser("serve", help="migrate the database, then serve the HTTP API")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    serve.add_argument(
        "--database-url", help="SQLAlchemy URL, e.g. postgresql://user@host/db (default: SQLite file)"
    )
    serve.add_argument("--state-dir", help="where the SQLite file, secret key and unsent mail live")
    serve.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])
    serve.add_argument(
        "--no-background",
        action="store_true",
        help="do not start the background process (sweeps, delivery): run `box-office background` yourself",
    )
    background = commands.add_parser(
        "background", help="run sweeps and ticket delivery (started by `serve` unless --no-background)"
    )
    background.add_argument("--database-url")
    background.add_argument("--state-dir")
    background.add_argument(
        "--nice",
        type=int,
        default=19,
        help="lower scheduling priority by this much (default 19, the lowest: sales go first; 0: none)",
    )
    payments = commands.add_parser("payments", help="payment provider tools")
    payment_commands = payments.add_subparsers(dest="payments_command", required=True, parser_class=_Parser)
    reconcile = payment_commands.add_parser(
        "reconcile", help="download each provider's daily bill and report every mismatch with our books"
    )
    reconcile.add_argument("--date", required=True, help="the bill's day, YYYY-MM-DD (China time)")
    reconcile.add_argument("--json", action="store_true", help="print the report as JSON")
    reconcile.add_argument("--database-url")
    reconcile.add_argument("--state-dir")
    migrate = commands.add_parser("migrate", help="bring the database schema up to date and exit")
    migrate.add_argument("--database-url")
    migrate.add_argument("--state-dir")
    sessions = commands.add_parser("sessions", help="cancel a session: refund and tell every buyer")
    sessions.add_argument("action", choices=["cancel", "postpone"])
    sessions.add_argument("session_id", type=int)
    sessions.add_argument("--rate", type=float, default=100.0, help="refunds/s per provider")
    sessions.add_argument("--batch", type=int, default=100, help="orders per transaction (default 100)")
    sessions.add_argument("--to", help="postpone: new start, ISO 8601 (2026-12-31T20:00+08:00)")
    sessions.add_argument("--hours", type=float, default=3.0, help="postpone: the show's length (default 3)")
    sessions.add_argument("--refund-days", type=float, default=7.0, help="postpone: refund window, days")
    sessions.add_argument("--database-url")
    sessions.add_argument("--state-dir")
    return parser


def _apply_env(args: argparse.Namespace) -> None:
    if args.database_url:
        os.environ["BOX_OFFICE_DATABASE_URL"] = args.database_url
    if args.state_dir:
        os.environ["BOX_OFFICE_STATE_DIR"] = args.state_dir


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _apply_env(args)
    try:
        settings = load_settings()
        if args.command in ("serve", "background"):
            from box_office.wiring import default_providers

            default_providers(settings)  # the payment providers' settings, checked before serving
    except (ConfigError, OSError) as exc:
        print(f"box-office: error: {exc}", file=sys.stderr)
        return 2
    from box_office.store.migrate import upgrade

    try:
        upgrade(settings.database_url)
    except Exception as exc:  # a bad URL or unreachable database: one clear line
        print(
            f"box-office: error: cannot migrate {settings.database_url}: {str(exc).splitlines()[0]}",
            file=sys.stderr,
        )
        return 2
    if args.command == "migrate":
        print(f"database at {settings.database_url} is up to date")
        return 0
    if args.command == "payments":
        return _payments(settings, args)
    if args.command == "sessions":
        from box_office.aftersales import bulk_cli

        return bulk_cli.run(settings, args)
    if args.command == "background":
        from box_office import background

        if not 0 <= args.nice <= 19:
            print("box-office: error: --nice must be 0-19", file=sys.stderr)
            return 2
        return background.main(settings, args.nice)
    if not 1 <= args.port <= 65535 or not 1 <= args.workers <= 64:
        print("box-office: error: --port must be 1-65535 and --workers 1-64", file=sys.stderr)
        return 2
    import uvicorn

    os.environ.setdefault("BOX_OFFICE_PUBLIC_URL", f"http://{args.host}:{args.port}")
    os.environ["BOX_OFFICE_STATE_DIR"] = str(settings.state_dir)
    print(f"box office on http://{args.host}:{args.port} (database {settings.database_url})", file=sys.stderr)
    helper = None
    if not args.no_background:
        os.environ["BOX_OFFICE_BACKGROUND"] = "off"  # the HTTP workers leave it to the helper
        helper = subprocess.Popen(
            [sys.executable, "-m", "box_office.cli", "background"],
            env=os.environ | {"BOX_OFFICE_PARENT_PID": str(os.getpid())},
        )
    try:
        uvicorn.run(
            "box_office.asgi:app",
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level=args.log_level,
            access_log=False,
            # Longer than clients' idle pools, so they never reuse a closing connection.
            timeout_keep_alive=75,
            # Live seat-map streams never end on their own: give them 5 s, then stop anyway.
            timeout_graceful_shutdown=5,
        )
    finally:
        if helper is not None:
            helper.terminate()
            try:
                helper.wait(timeout=15)
            except subprocess.TimeoutExpired:
                helper.kill()
    return 0


def _payments(settings: Settings, args: argparse.Namespace) -> int:
    """``payments reconcile``: 0 when the books agree, 1 on any mismatch, 2 on a bad request."""
    import datetime
    import json

    from box_office.context import Context
    from box_office.payments.reconcile import format_report, reconcile
    from box_office.wiring import default_providers

    try:
        day = datetime.date.fromisoformat(args.date)
    except ValueError:
        print("box-office: error: --date must be YYYY-MM-DD", file=sys.stderr)
        return 2
    ctx = Context.from_settings(settings)
    try:
        providers = default_providers(settings)
    except ConfigError as exc:
        print(f"box-office: error: {exc}", file=sys.stderr)
        return 2
    report = reconcile(ctx, providers, day)
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    found = report["providers"].values()
    return 1 if any(p["mismatches"] or "error" in p for p in found) else 0


if __name__ == "__main__":
    sys.exit(main())
