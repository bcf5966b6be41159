"""``gate-agent enrol URL CODE`` and ``gate-agent sync-now``: added to the gate-agent command."""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
import time
from pathlib import Path
from typing import Any

from gate_agent.sync.enrol import EnrolFailed, request_enrolment, write_config


def register(subparsers: Any) -> None:
    enrol = subparsers.add_parser("enrol", help="enrol this device with a sync server (one-time code)")
    enrol.add_argument("url", help="the sync server, e.g. https://sync.venue.example:8443")
    enrol.add_argument("code", help="the one-time code from 'sync-server enrol-code'")
    enrol.add_argument("--config", default="/etc/gate-agent/gate.toml", help="config file to write")
    enrol.add_argument("--state-dir", default="/var/lib/gate-agent")
    enrol.add_argument("--ca", help="the venue CA certificate (PEM) that signed the server's certificate")
    enrol.add_argument("--name", default=socket.gethostname(), help="device name shown to venue IT")
    enrol.add_argument("--force", action="store_true", help="overwrite an existing config")
    enrol.add_argument(
        "--staff-pin", action="store_true", help="also set the staff display's PIN (asked twice, not echoed)"
    )
    enrol.set_defaults(func=cmd_enrol)

    sync = subparsers.add_parser("sync-now", help="download the snapshot and upload the journal once")
    sync.add_argument("--config", default="/etc/gate-agent/gate.toml")
    sync.set_defaults(func=cmd_sync_now)


def cmd_enrol(args: argparse.Namespace) -> int:
    config = Path(args.config)
    if config.exists() and not args.force:
        print(f"gate-agent: {config} exists; use --force to replace it", file=sys.stderr)
        return 2
    try:
        from gate_agent.sync.client import SOFTWARE_VERSION

        enrolment = request_enrolment(
            args.url, args.code, ca=args.ca, name=args.name, version=SOFTWARE_VERSION
        )
    except EnrolFailed as exc:
        print(f"gate-agent: {exc}", file=sys.stderr)
        return 2
    credential = write_config(
        config, enrolment, args.url, state_dir=Path(args.state_dir).resolve(), ca=args.ca
    )
    if args.staff_pin:
        from gate_agent.cli import cmd_staff_pin

        cmd_staff_pin(argparse.Namespace(config=str(config), stdin=False, clear=False))
    print(
        f"enrolled as device {enrolment.device_id}: gate {enrolment.gate_id} ({enrolment.direction}) "
        f"of event {enrolment.event_id}; config {config}, credential {credential}"
    )
    return 0


def cmd_sync_now(args: argparse.Namespace) -> int:
    from gate_agent.config import load_config
    from gate_agent.store import GateStore
    from gate_agent.sync.client import SyncClient

    config = load_config(Path(args.config))
    if config.sync is None:
        print("gate-agent: the config has no [sync] section (run gate-agent enrol)", file=sys.stderr)
        return 2
    started = time.monotonic()

    def progress(count: int, total: int | None) -> None:
        rate = count / max(time.monotonic() - started, 1e-6)
        share = f" of {total:,} ({100 * count / total:.0f}%)" if total else ""
        print(f"\rsnapshot: {count:,}{share} tickets, {rate:,.0f}/s", end="", file=sys.stderr, flush=True)

    async def once() -> tuple[int, int, int]:
        with GateStore.open(config.database) as store:
            client = SyncClient(store=store, config=config)
            client.progress = progress
            try:
                loaded = await client.download_snapshot()
                print(file=sys.stderr)
                deltas = await client.catch_up()
                uploaded = 0
                while True:
                    sent = await client.upload_once()
                    if not sent:
                        break
                    uploaded += sent
                return loaded, deltas, uploaded
            finally:
                await client.close()

    try:
        loaded, deltas, uploaded = asyncio.run(once())
    except Exception as exc:
        print(f"\ngate-agent: sync failed: {exc}", file=sys.stderr)
        return 1
    print(f"snapshot {loaded} tickets, {deltas} delta tickets, {uploaded} scans uploaded")
    return 0
