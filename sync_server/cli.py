"""The ``sync-server`` command: serve, enrolment codes, devices, ticket import, organisers.

Bad input prints one line ``sync-server: ...`` on stderr and exits 2.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import ssl
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NoReturn

from sync_server.store import ServerStore
from ticket_format import KeyFileError, Keyring, TicketError, verify
from ticket_format.rotating import bound_payload, device_key_of
from wire.snapshot import SnapshotError, SnapshotReader, TicketRecord

DEFAULT_DB = "sqlite:///sync-server.sqlite"


class UsageError(Exception):
    """Bad input from the operator: one line on stderr, exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: {message}", file=sys.stderr)
        raise SystemExit(2)


def _store(args: argparse.Namespace) -> ServerStore:
    url = str(args.db)
    if "://" not in url:  # a plain path means a SQLite file
        url = f"sqlite:///{Path(url).resolve()}"
    try:
        return ServerStore.open(url)
    except Exception as exc:
        raise UsageError(f"cannot open database {url}: {exc}") from None


def cmd_serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from sync_server import logs
    from sync_server.app import create_app

    logs.setup(args.log_level)
    context = None
    if args.tls_cert or args.tls_key:
        if not (args.tls_cert and args.tls_key):
            raise UsageError("--tls-cert and --tls-key go together")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            context.load_cert_chain(args.tls_cert, args.tls_key)
        except (OSError, ssl.SSLError) as exc:
            raise UsageError(f"cannot load TLS certificate: {exc}") from None
    feed = None
    if args.feed_url:
        token = os.environ.get("SYNC_SERVER_FEED_TOKEN")
        if args.feed_token_file:
            try:
                token = Path(args.feed_token_file).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise UsageError(f"cannot read {args.feed_token_file}: {exc.strerror}") from None
        if not token:
            raise UsageError("--feed-url needs --feed-token-file or env SYNC_SERVER_FEED_TOKEN")
        from sync_server.feed import FeedSettings

        feed = FeedSettings(args.feed_url, token, args.feed_interval)
    from sync_server.scan_time import TimeWindow
    from sync_server.settings import ServerSettings

    if args.scan_window_past <= 0 or args.scan_window_future < 0:
        raise UsageError("--scan-window-past must be positive and --scan-window-future not negative")
    settings = ServerSettings(
        window=TimeWindow(past=args.scan_window_past * 60, future=args.scan_window_future * 60),
        secure_cookies=True if args.secure_cookies else None,
        allowed_origins=frozenset(o.rstrip("/") for o in args.allowed_origin or ()),
    )
    store = _store(args)
    web.run_app(
        create_app(store, feed, settings), host=args.host, port=args.port, ssl_context=context, print=None
    )
    store.close()
    return 0


def cmd_enrol_code(args: argparse.Namespace) -> int:
    store = _store(args)
    zones = [z for part in args.zones or [] for z in part.split(",") if z]
    try:
        code = store.create_enrol_code(args.event, args.gate, args.direction, zones, ttl=args.ttl * 60)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    text = f"{args.url.rstrip('/')} {code}" if args.url else code
    print(code)
    expires = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(time.time() + args.ttl * 60))
    print(
        f"gate {args.gate} ({args.direction}) of event {args.event}; works once; expires {expires}",
        file=sys.stderr,
    )
    if args.qr:
        import segno

        qr = segno.make(text, error="m")
        if args.qr == "-":
            qr.terminal(compact=True)
        else:
            qr.save(args.qr, scale=8)
            print(f"QR saved to {args.qr}", file=sys.stderr)
    if args.url:
        print(f"on the device: gate-agent enrol {args.url} {code}", file=sys.stderr)
    return 0


def cmd_devices(args: argparse.Namespace) -> int:
    store = _store(args)
    if args.action == "revoke":
        if not args.device_id:
            raise UsageError("devices revoke needs a device id")
        if not store.revoke_device(args.device_id):
            raise UsageError(f"no active device {args.device_id!r}")
        print(f"revoked {args.device_id}: it is refused from its next request")
        return 0
    devices = store.devices()
    if args.json:
        for device in devices:
            print(json.dumps(device, default=str))
        return 0
    print(
        f"{'DEVICE':16} {'GATE':14} {'DIR':3} {'STATE':8} {'LAST SEEN':20} {'CURSOR':>8} {'BACKLOG':>7} "
        "VERSION"
    )
    for d in devices:
        state = "revoked" if d["revoked"] else ("online" if d["online"] else "offline")
        seen = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(d["last_seen"])) if d["last_seen"] else "never"
        print(
            f"{d['device_id']:16} {d['gate_id']:14} {d['direction']:3} {state:8} {seen:20} "
            f"{d['cursor'] or '-':>8} {d['backlog'] if d['backlog'] is not None else '-':>7} "
            f"{d['software_version'] or '-'}"
        )
    return 0


def _token_records(path: Path, keyring: Keyring) -> Iterator[TicketRecord]:
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            token = line.strip()
            if not token or token.startswith("#"):
                continue
            try:
                claims = verify(token, keyring)
            except TicketError as exc:
                raise UsageError(f"{path}:{number}: not a valid ticket: {exc}") from None
            yield TicketRecord(
                ticket_id=claims.ticket_id,
                version=claims.version,
                event_id=claims.event_id,
                session_id=claims.session_id,
                zone=claims.zone,
                seat=claims.seat,
                ticket_type=claims.ticket_type,
                bound_payload=None if device_key_of(claims) is None else bound_payload(token),
            )


def cmd_import(args: argparse.Namespace) -> int:
    """Load a snapshot file (JSON Lines) or a file of issued tokens (one per line, with --keyring)."""
    store = _store(args)
    path = Path(args.file)
    try:
        with path.open(encoding="utf-8") as stream:
            first = stream.readline()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    try:
        if first.lstrip().startswith("{"):
            with path.open(encoding="utf-8") as stream:
                reader = SnapshotReader(stream)
                header = reader.header
                # The whole file is checked (footer, count) before any ticket is stored.
                for _ in SnapshotReader(path.open(encoding="utf-8")):
                    pass
                store.set_event(
                    str(header.event_id),
                    header.keyring,
                    session_id=None if header.session_id is None else str(header.session_id),
                    identity_key=header.identity_key,
                    rules=header.rules,
                )
                changed = store.upsert_tickets(reader)
            event_id = str(header.event_id)
        else:
            if not args.keyring:
                raise UsageError("a file of tokens needs --keyring (the public keys that signed them)")
            keyring = Keyring.read(Path(args.keyring))
            records = list(_token_records(path, keyring))
            events = {str(r.event_id) for r in records}
            if len(events) != 1:
                raise UsageError(f"the tokens must all be for one event, found {sorted(events) or 'none'}")
            event_id = events.pop()
            existing = store.event(event_id) or {}
            rules = json.loads(args.rules) if args.rules else existing.get("rules")
            store.set_event(event_id, keyring.to_json(), rules=rules)
            changed = store.upsert_tickets(records)
    except (SnapshotError, KeyFileError, ValueError) as exc:
        raise UsageError(f"{path}: {exc}") from None
    print(f"event {event_id}: {changed} ticket states changed; cursor {store.cursor()}")
    return 0


def cmd_organiser(args: argparse.Namespace) -> int:
    store = _store(args)
    password = os.environ.get("SYNC_SERVER_PASSWORD") or getpass.getpass(f"password for {args.username}: ")
    if len(password) < 8:
        raise UsageError("the password must have at least 8 characters")
    store.add_organiser(args.username, password)
    print(f"organiser {args.username} can log in")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="sync-server", description="Encore venue sync server")
    parser.add_argument(
        "--db",
        default=os.environ.get("SYNC_SERVER_DB", DEFAULT_DB),
        help="database URL or SQLite path (env SYNC_SERVER_DB; default %(default)s)",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    serve = sub.add_parser("serve", help="run the server")
    serve.add_argument("--host", default="0.0.0.0")
    serve.add_argument("--port", type=int, default=8443)
    serve.add_argument("--tls-cert", help="PEM certificate chain (issued by the venue CA)")
    serve.add_argument("--tls-key", help="PEM private key of the certificate")
    serve.add_argument("--log-level", default="INFO")
    serve.add_argument("--feed-url", help="the box office to pull ticket changes from (contract 5)")
    serve.add_argument("--feed-token-file", help="file holding the box office feed-client token")
    serve.add_argument("--feed-interval", type=float, default=2.0, help="seconds between feed rounds")
    serve.add_argument(
        "--scan-window-past",
        type=float,
        default=24 * 60,
        help="minutes a scan's own time may lie behind the server's clock before it is flagged "
        "(default %(default)s)",
    )
    serve.add_argument(
        "--scan-window-future",
        type=float,
        default=5,
        help="minutes a scan's own time may lie ahead of the server's clock (default %(default)s)",
    )
    serve.add_argument(
        "--secure-cookies",
        action="store_true",
        help="mark the session cookie Secure even over plain HTTP (behind a TLS-terminating proxy)",
    )
    serve.add_argument(
        "--allowed-origin",
        action="append",
        help="another origin allowed to send organisers' requests (e.g. the proxy's public https URL)",
    )
    serve.set_defaults(func=cmd_serve)

    code = sub.add_parser("enrol-code", help="create a one-time enrolment code for a gate device")
    code.add_argument("--event", required=True)
    code.add_argument("--gate", required=True)
    code.add_argument("--direction", choices=("in", "out"), default="in")
    code.add_argument("--zones", nargs="*", help="allowed zones (default: every zone)")
    code.add_argument("--ttl", type=float, default=60.0, help="minutes until the code expires (default 60)")
    code.add_argument("--url", help="the server URL devices use; put into the QR with the code")
    code.add_argument("--qr", help="write the QR as an image (PNG/SVG by extension), or '-' for the terminal")
    code.set_defaults(func=cmd_enrol_code)

    devices = sub.add_parser("devices", help="list devices, or 'devices revoke ID'")
    devices.add_argument("action", nargs="?", choices=("list", "revoke"), default="list")
    devices.add_argument("device_id", nargs="?")
    devices.add_argument("--json", action="store_true")
    devices.set_defaults(func=cmd_devices)

    imp = sub.add_parser("import", help="load ticket states (a snapshot file, or tokens)")
    imp.add_argument("file")
    imp.add_argument("--keyring", help="Keyring JSON that verifies the tokens")
    imp.add_argument("--rules", help='event-wide gate rules as JSON, e.g. {"reentry": "after_exit"}')
    imp.set_defaults(func=cmd_import)

    org = sub.add_parser("organiser", help="add an organiser or set a password")
    org.add_argument("username")
    org.set_defaults(func=cmd_organiser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except UsageError as exc:
        print(f"sync-server: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
