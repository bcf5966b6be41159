"""``gate-agent``: run the gate, decide one token, decode images, list devices, show status.

Bad input (a missing or invalid config, a corrupt profile or snapshot, an unreadable file)
prints one line on stderr and exits 2. ``verify`` exits 0 when the verdict admits, exits or
holds, and 1 when it refuses, so scripts can branch on it.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import importlib.util
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gate_agent._toml import ConfigError
from gate_agent.inputs.decoder_names import DECODER_NAMES, DEFAULT_ORDER

DEFAULT_CONFIG = Path("/etc/gate-agent/gate.toml")


class UsageError(Exception):
    """Bad input from the command line: one line on stderr, exit 2."""


def _print(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def _config(args: argparse.Namespace) -> Any:
    from gate_agent.config import load_config

    return load_config(Path(args.config))


def _store(config: Any) -> Any:
    from gate_agent.store import GateStore

    return GateStore.open(config.database)


def cmd_run(args: argparse.Namespace) -> int:
    from gate_agent import logs
    from gate_agent.agent import Agent

    logs.setup(args.log_level)
    config = _config(args)
    with _store(config) as store:
        agent = Agent(config, store)
        try:
            asyncio.run(agent.run())
        except OSError as exc:  # e.g. the display port is taken: say so in one line
            raise UsageError(f"cannot start: {exc}") from None
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from gate_agent.pipeline import ScanPipeline

    config = _config(args)
    with _store(config) as store:
        if config.gate.keyring_path is not None:
            from ticket_format import Keyring

            store.set_extra_keys(Keyring.read(config.gate.keyring_path))
        clock = (lambda: args.now) if args.now is not None else time.time
        outcome = ScanPipeline(store, config.gate, clock=clock).scan(args.token, source="cli")
    data = outcome.to_json()
    _print({"verdict": data["verdict"], "reason": data["reason"], "admit": data["admit"],
            "ticket": data["ticket"], "details": data["details"], "scan_id": data["scan_id"]})  # fmt: skip
    return 1 if outcome.decision.admit is False else 0


def cmd_decode(args: argparse.Namespace) -> int:
    source = args.file
    path = Path(source)
    if not source.isdigit() and not path.exists():
        raise UsageError(f"{source}: no such file")
    from gate_agent.inputs.camera import DEFAULT_ORDER, decode_source

    order: tuple[str, ...] = DEFAULT_ORDER
    if args.decoders:
        order = tuple(name.strip() for name in args.decoders.split(",") if name.strip())
    elif args.config:
        order = _config(args).decoders

    try:
        for found in decode_source(source, order):
            _print(found)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return 0


def cmd_devices(args: argparse.Namespace) -> int:
    from gate_agent.devices import list_devices

    dirs = _config(args).profile_dirs if args.config else ()
    if args.profiles:
        from gate_agent.profiles import all_profiles

        for profile in all_profiles(dirs):
            _print({"profile": profile.name, "transport": profile.transport, "path": str(profile.path)})
        return 0
    for device in list_devices(dirs):
        _print(device)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    config = _config(args)
    with _store(config) as store:
        info = store.snapshot_info()
        _print(
            {
                "gate_id": config.gate.gate_id,
                "event_id": config.gate.event_id,
                "direction": config.gate.direction,
                "database": str(config.database),
                "snapshot": {"event_id": info.event_id, "session_id": info.session_id, "cursor": info.cursor,
                             "tickets": info.tickets, "loaded_at": info.loaded_at},
                "keys": len(store.keyring()),
                "backlog": store.backlog(),
                "quarantined": [q.to_json() for q in store.quarantined(limit=args.recent)],
                "quarantined_count": store.quarantined_count(),
                "counts": store.counts(),
                "recent": [entry.to_json() for entry in store.scans(limit=args.recent)],
                "integrity": store.integrity_check(),
            }
        )  # fmt: skip
    return 0


def cmd_release_quarantined(args: argparse.Namespace) -> int:
    """Put scans the server refused back in the upload queue, once the cause is fixed there."""
    config = _config(args)
    with _store(config) as store:
        released = store.release_quarantined(args.scan_ids or None)
        _print({"released": released, "quarantined": store.quarantined_count(), "backlog": store.backlog()})
    return 0


def cmd_import_snapshot(args: argparse.Namespace) -> int:
    from wire.snapshot import SnapshotError, SnapshotReader

    config = _config(args)
    path = Path(args.file)
    try:
        stream = path.open(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: {exc.strerror}") from None
    with stream, _store(config) as store:
        try:
            reader = SnapshotReader(stream)
            if str(reader.header.event_id) != str(config.gate.event_id):
                theirs, ours = reader.header.event_id, config.gate.event_id
                raise UsageError(f"{path}: snapshot is for event {theirs}, this gate is {ours}")
            count = store.apply_snapshot(reader.header, reader)
        except (SnapshotError, UnicodeDecodeError, ValueError) as exc:
            raise UsageError(f"{path}: {exc}") from None
        _print({"imported": count, "cursor": store.cursor(), "event_id": reader.header.event_id})
    return 0


def cmd_staff_pin(args: argparse.Namespace) -> int:
    """Set (or with --clear remove) the staff PIN of the display; read twice without echo."""
    from gate_agent.display.staff import PinError, hash_pin

    config = _config(args)
    if args.clear:
        pin_hash = None
    else:
        if args.stdin:
            pin = sys.stdin.readline().strip()
        else:
            pin = getpass.getpass("staff PIN (6-12 digits): ")
            if getpass.getpass("again: ") != pin:
                raise UsageError("the two PINs differ")
        try:
            pin_hash = hash_pin(pin)
        except PinError as exc:
            raise UsageError(str(exc)) from None
    with _store(config) as store:
        store.set_staff_pin_hash(pin_hash)
    print("staff PIN removed: the display signs in with a pairing code" if args.clear else "staff PIN set")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gate-agent", description="Encore gate agent: offline ticket check-in."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def with_config(p: argparse.ArgumentParser, required: bool = True) -> None:
        p.add_argument("--config", "-c", default=None if not required else str(DEFAULT_CONFIG),
                       help=f"gate config TOML (default {DEFAULT_CONFIG})")  # fmt: skip

    run = sub.add_parser("run", help="run the gate: inputs, decisions, lights, display, sync")
    with_config(run)
    run.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    run.set_defaults(func=cmd_run)

    verify = sub.add_parser(
        "verify", help="decide one token through the full pipeline (journalled); JSON out"
    )
    verify.add_argument("token")
    with_config(verify)
    verify.add_argument("--now", type=float, default=None, help="decide as of this Unix time")
    verify.set_defaults(func=cmd_verify)

    decode = sub.add_parser("decode", help="every QR code in an image, image folder or video: JSON lines")
    decode.add_argument("file")
    decode.add_argument(
        "--decoders",
        help=f"comma-separated chain of {', '.join(DECODER_NAMES)}; default {','.join(DEFAULT_ORDER)}",
    )
    with_config(decode, required=False)
    decode.set_defaults(func=cmd_decode)

    devices = sub.add_parser("devices", help="input devices present and the profile that matches each")
    with_config(devices, required=False)
    devices.add_argument("--profiles", action="store_true", help="list the device profiles found instead")
    devices.set_defaults(func=cmd_devices)

    status = sub.add_parser("status", help="snapshot, backlog, counts and recent scans: JSON")
    with_config(status)
    status.add_argument("--recent", type=int, default=10)
    status.set_defaults(func=cmd_status)

    release = sub.add_parser(
        "release-quarantined", help="put quarantined scans (all, or the given ids) back in the upload queue"
    )
    release.add_argument("scan_ids", nargs="*", metavar="SCAN_ID")
    with_config(release)
    release.set_defaults(func=cmd_release_quarantined)

    pin = sub.add_parser("staff-pin", help="set the staff display's PIN (asked twice, not echoed)")
    with_config(pin)
    pin.add_argument("--stdin", action="store_true", help="read the PIN from one line of stdin")
    pin.add_argument("--clear", action="store_true", help="remove the PIN (pairing code on the device)")
    pin.set_defaults(func=cmd_staff_pin)

    imp = sub.add_parser("import-snapshot", help="load a snapshot file (JSON Lines) into the store")
    imp.add_argument("file")
    with_config(imp)
    imp.set_defaults(func=cmd_import_snapshot)

    if importlib.util.find_spec("gate_agent.sync") is not None and importlib.util.find_spec(
        "gate_agent.sync.cli"
    ):
        from gate_agent.sync import cli as sync_cli  # type: ignore[attr-defined,unused-ignore]

        sync_cli.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from gate_agent.store import StoreError
    from ticket_format import KeyFileError

    try:
        result: int = args.func(args)
    except (UsageError, ConfigError, StoreError, KeyFileError) as exc:
        print(f"gate-agent: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return result


if __name__ == "__main__":
    sys.exit(main())
