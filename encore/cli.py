"""Entry point of the ``encore`` command.

Sub-command groups register themselves here; each lives with the code it
drives (``ticket_format.cli`` for ``encore ticket``).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from encore.demo import commands as demo_commands
from encore.ticket_tour import run_tour
from ticket_format import cli as ticket_cli


class OneLineErrorParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr, exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(prog="encore", description="Encore: concert ticketing and gate check-in.")
    groups = parser.add_subparsers(
        dest="group", required=True, metavar="COMMAND", parser_class=OneLineErrorParser
    )
    ticket_cli.register(groups)
    demo_commands.register(groups)
    tour = groups.add_parser("tour", help="a walk through the signed ticket: keys, issuing, QR, forgery")
    tour.add_argument("--out", type=Path, default=Path("var/tour"), help="where to write keys and QR codes")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.group == "ticket":
        return ticket_cli.run(args)
    if args.group == "demo":
        return demo_commands.run(args)
    if args.group == "tour":
        return run_tour(args.out / time.strftime("%Y%m%d-%H%M%S"))
    return 2  # pragma: no cover - argparse rejects unknown groups first


if __name__ == "__main__":
    sys.exit(main())
