"""``encore ticket ...``: the ticket tool for scripts and support staff. JSON in, JSON out.

Exit status: 0 success, 1 a token that is not valid (``verify``), 2 bad input
(missing file, bad JSON, wrong key type), always with one line on stderr and
never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ticket_format.claims import TicketClaims
from ticket_format.errors import TicketError
from ticket_format.keys import KeyFileError, Keyring, SigningKey
from ticket_format.qr import qr_version, save_qr
from ticket_format.token import issue, verify

KEYRING_FILE = "keyring.json"


class UsageError(Exception):
    """Bad input from the user: reported as one line on stderr with exit status 2."""


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the ``ticket`` command group to an umbrella CLI."""
    ticket = subparsers.add_parser("ticket", help="issue, verify and render signed tickets")
    commands = ticket.add_subparsers(dest="ticket_command", required=True, metavar="COMMAND")

    keygen = commands.add_parser("keygen", help="make an Ed25519 signing key and add it to a keyring")
    keygen.add_argument("--out", required=True, type=Path, help="directory for the PEM and keyring.json")
    keygen.add_argument("--valid-from", type=int, help="trust the key from this Unix time")
    keygen.add_argument("--valid-until", type=int, help="trust the key until this Unix time")
    keygen.set_defaults(handler=_keygen)

    issue_cmd = commands.add_parser("issue", help="sign claims and print the token")
    issue_cmd.add_argument("--key", required=True, type=Path, help="private key PEM file")
    issue_cmd.add_argument(
        "--claims", required=True, help="claims: a JSON file, '-' for stdin, or inline JSON"
    )
    issue_cmd.set_defaults(handler=_issue)

    verify_cmd = commands.add_parser("verify", help="verify a token against a keyring")
    verify_cmd.add_argument("token", help="the token text, or '-' to read it from stdin")
    verify_cmd.add_argument("--keyring", required=True, type=Path, help="keyring JSON file")
    verify_cmd.add_argument("--now", type=float, help="Unix time to check key validity at (default: now)")
    verify_cmd.set_defaults(handler=_verify)

    qr = commands.add_parser("qr", help="render a token as a QR code (PNG or SVG)")
    qr.add_argument("token", help="the token text, or '-' to read it from stdin")
    qr.add_argument("-o", "--output", required=True, type=Path, help="FILE.png or FILE.svg")
    qr.add_argument("--scale", type=int, default=8, help="pixels per module (default 8)")
    qr.set_defaults(handler=_qr)


def run(args: argparse.Namespace) -> int:
    """Run a parsed ``ticket`` command; returns the exit status."""
    try:
        status: int = args.handler(args)
    except (UsageError, KeyFileError) as exc:
        print(f"encore ticket {args.ticket_command}: error: {exc}", file=sys.stderr)
        return 2
    return status


def _print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, sort_keys=False))


def _keygen(args: argparse.Namespace) -> int:
    out: Path = args.out
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {out}: {exc.strerror}") from None
    keyring_path = out / KEYRING_FILE
    keyring = Keyring.read(keyring_path) if keyring_path.exists() else Keyring()
    key = SigningKey.generate()
    pem_path = out / f"signing-key-{key.kid.hex()}.pem"
    try:
        key.write_pem(pem_path)
    except OSError as exc:
        raise UsageError(f"cannot write {pem_path}: {exc.strerror}") from None
    keyring.add(key.trusted(args.valid_from, args.valid_until))
    tmp = keyring_path.with_suffix(".json.tmp")
    tmp.write_text(keyring.dumps() + "\n", encoding="utf-8")
    tmp.replace(keyring_path)
    _print_json(
        {
            "kid": key.kid.hex(),
            "private_key": str(pem_path),
            "keyring": str(keyring_path),
            "trusted_keys": len(keyring),
        }
    )
    return 0


def _read_claims(value: str) -> TicketClaims:
    if value == "-":
        text = sys.stdin.read()
    elif value.lstrip().startswith("{"):
        text = value
    else:
        try:
            text = Path(value).read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot read claims file {value}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise UsageError(f"claims file {value} is not UTF-8 text") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"claims are not valid JSON ({exc})") from None
    try:
        return TicketClaims.from_json(data)
    except ValueError as exc:
        raise UsageError(f"bad claims: {exc}") from None


def _read_token(value: str) -> str:
    return sys.stdin.read().strip() if value == "-" else value


def _issue(args: argparse.Namespace) -> int:
    key = SigningKey.read_pem(args.key)
    claims = _read_claims(args.claims)
    print(issue(claims, key))
    return 0


def _verify(args: argparse.Namespace) -> int:
    keyring = Keyring.read(args.keyring)
    try:
        claims = verify(_read_token(args.token), keyring, now=args.now)
    except TicketError as exc:
        _print_json({"valid": False, "reason": exc.kind.value, "detail": exc.detail})
        return 1
    _print_json({"valid": True, "claims": claims.to_json()})
    return 0


def _qr(args: argparse.Namespace) -> int:
    token = _read_token(args.token)
    if not token:
        raise UsageError("empty token")
    if args.scale < 1 or args.scale > 100:
        raise UsageError("--scale must be between 1 and 100")
    try:
        save_qr(token, args.output, scale=args.scale)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"cannot write {args.output}: {exc.strerror}") from None
    _print_json({"file": str(args.output), "qr_version": qr_version(token), "error_correction": "M"})
    return 0
