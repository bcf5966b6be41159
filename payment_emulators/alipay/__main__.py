"""Run the Alipay emulator: ``python -m payment_emulators.alipay --port 8021 --app-id … --seller-id …
--app-public-key-file app_pub.pem --write-public-key alipay_pub.pem`` (needs BOX_OFFICE_SANDBOX=on)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from aiohttp import web

from payment_emulators.alipay.server import AlipayEmulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m payment_emulators.alipay")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8021)
    parser.add_argument("--app-id", required=True)
    parser.add_argument("--seller-id", required=True)
    parser.add_argument("--app-public-key-file", required=True, type=Path)
    parser.add_argument(
        "--write-public-key", required=True, type=Path, help="where to write the emulator's public key"
    )
    args = parser.parse_args(argv)
    if os.environ.get("BOX_OFFICE_SANDBOX") != "on":
        print("the Alipay emulator is a development tool: set BOX_OFFICE_SANDBOX=on", file=sys.stderr)
        return 2
    emulator = AlipayEmulator(f"http://{args.host}:{args.port}")
    emulator.register_app(args.app_id, args.app_public_key_file.read_text(), args.seller_id)
    args.write_public_key.write_text(emulator.public_key_pem)
    web.run_app(emulator.app(), host=args.host, port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
