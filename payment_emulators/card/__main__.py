"""Run the card emulator: ``python -m payment_emulators.card --port 8022 --secret-key-file sk.txt
--webhook-secret-file whsec.txt --webhook-url http://127.0.0.1:8000/api/payments/card/notify``
(needs BOX_OFFICE_SANDBOX=on)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from aiohttp import web

from payment_emulators.card.server import CardEmulator

BOX_OFFICE_EVENTS = "payment_intent.succeeded,payment_intent.canceled,payment_intent.payment_failed"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m payment_emulators.card")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8022)
    parser.add_argument("--secret-key-file", required=True, type=Path)
    parser.add_argument("--webhook-secret-file", required=True, type=Path)
    parser.add_argument("--webhook-url", default="")
    parser.add_argument("--events", default=BOX_OFFICE_EVENTS, help="the event types the endpoint enabled")
    args = parser.parse_args(argv)
    if os.environ.get("BOX_OFFICE_SANDBOX") != "on":
        print("the card emulator is a development tool: set BOX_OFFICE_SANDBOX=on", file=sys.stderr)
        return 2
    emulator = CardEmulator(
        args.secret_key_file.read_text().strip(),
        args.webhook_secret_file.read_text().strip(),
        f"http://{args.host}:{args.port}",
    )
    emulator.webhook_url = args.webhook_url
    emulator.enabled_events = set(args.events.split(","))
    web.run_app(emulator.app(), host=args.host, port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
