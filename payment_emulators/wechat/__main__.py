"""Run the WeChat Pay emulator: ``python -m payment_emulators.wechat --port 8150 --kit DIR``.

A development tool: it refuses to start unless ``BOX_OFFICE_SANDBOX=on``. At start it makes its
keys, registers the merchant and writes the merchant's files into ``--kit`` together with
``box-office.env.json``: the ``BOX_OFFICE_WECHAT_*`` variables that point a box office at it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from aiohttp import web

from payment_emulators.wechat.keys import write_kit
from payment_emulators.wechat.server import WeChatEmulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m payment_emulators.wechat", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8150)
    parser.add_argument("--kit", type=Path, required=True, help="where to write the merchant's files")
    parser.add_argument("--time-scale", type=float, default=1.0, help="shrink every delay (tests)")
    args = parser.parse_args(argv)
    if os.environ.get("BOX_OFFICE_SANDBOX", "off").strip().lower() != "on":
        print(
            "wechat emulator: refused: a development tool, run only with BOX_OFFICE_SANDBOX=on",
            file=sys.stderr,
        )
        return 2
    emulator = WeChatEmulator(base_url=f"http://{args.host}:{args.port}", time_scale=args.time_scale)
    env = write_kit(args.kit, emulator.platform, emulator.merchant, emulator.base_url)
    target = args.kit / "box-office.env.json"
    target.write_text(json.dumps(env, indent=2))
    target.chmod(0o600)
    app = emulator.app()

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app.router.add_get("/healthz", healthz)
    web.run_app(app, host=args.host, port=args.port, access_log=None, print=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
