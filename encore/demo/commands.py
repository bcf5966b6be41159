"""The ``encore demo`` command group: run the local concert, and act on it from another terminal."""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from encore.demo.runner import INFO_FILE, OUTAGE_FILE, Ports, run_demo
from encore.demo.scanner_relay import send_scan
from ticket_format.qr import save_qr

DEFAULT_DIR = Path("var/demo")


class DemoUsageError(Exception):
    """Reported as one line on stderr, exit status 2."""


def register(groups: argparse._SubParsersAction[Any]) -> None:
    demo = groups.add_parser("demo", help="run a whole concert locally (box office, sync server, two gates)")
    demo.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="state folder (default var/demo)")
    actions = demo.add_subparsers(dest="demo_command", metavar="ACTION")
    run = actions.add_parser("run", help="start everything (the default)")
    run.add_argument(
        "--base-port", type=int, default=8100, help="box office port; others follow (default 8100)"
    )
    scan = actions.add_parser("scan", help="present a ticket at a gate, as a scanner or camera would")
    scan.add_argument("ticket", help="a ticket number from the list the demo printed, or any text (a token)")
    scan.add_argument("--gate", choices=("A", "B"), required=True)
    scan.add_argument(
        "--camera", action="store_true", help="at gate B: drop the QR image into the camera's view"
    )
    show_id = actions.add_parser("show-id", help="the holder shows their ID at a gate (real-name check)")
    show_id.add_argument("ticket", help="a ticket number: its holder's name and ID are presented")
    show_id.add_argument("--gate", choices=("A", "B"), required=True)
    show_id.add_argument("--wrong", action="store_true", help="present someone else's ID instead")
    refund = actions.add_parser("refund", help="refund a demo ticket's order at the box office")
    refund.add_argument("ticket", help="a ticket number from the list the demo printed")
    actions.add_parser("tickets", help="list the demo's tickets")
    outage = actions.add_parser("outage", help="stop ('start') or bring back ('end') the venue's sync server")
    outage.add_argument("phase", choices=("start", "end"))
    demo.set_defaults(demo_command=None, base_port=8100)


def run(args: argparse.Namespace) -> int:
    try:
        if args.demo_command in (None, "run"):
            return run_demo(args.dir.resolve(), Ports.from_base(args.base_port))
        info = _info(args.dir)
        if args.demo_command == "scan":
            return _scan(info, args)
        if args.demo_command == "show-id":
            return _show_id(info, args)
        if args.demo_command == "refund":
            return _refund(info, args.ticket)
        if args.demo_command == "outage":
            flag = args.dir / OUTAGE_FILE
            if args.phase == "start":
                flag.touch()
                print("the sync server stops within a second; gates go offline and keep deciding")
            else:
                flag.unlink(missing_ok=True)
                print("the sync server comes back; gates upload what they scanned offline")
            return 0
        if args.demo_command == "tickets":
            for index, ticket in enumerate(info["concert"]["tickets"], 1):
                print(json.dumps({"number": index, **ticket}, ensure_ascii=False))
            return 0
    except DemoUsageError as exc:
        print(f"encore demo: error: {exc}", file=sys.stderr)
        return 2
    return 2


def _info(root: Path) -> dict[str, Any]:
    path = root / INFO_FILE
    try:
        info: dict[str, Any] = json.loads(path.read_text())
    except OSError:
        raise DemoUsageError(f"no running demo in {root} (start one with: encore demo)") from None
    return info


def _token(info: dict[str, Any], ticket: str) -> str:
    tickets = info["concert"]["tickets"]
    if ticket.isdigit():
        number = int(ticket)
        if not 1 <= number <= len(tickets):
            raise DemoUsageError(f"ticket number must be 1-{len(tickets)}")
        token: str = tickets[number - 1]["token"]
        return token
    return ticket


def _scan(info: dict[str, Any], args: argparse.Namespace) -> int:
    token = _token(info, args.ticket)
    gate = info["gates"][args.gate]
    if args.gate == "B" or args.camera:
        if args.gate != "B":
            raise DemoUsageError("only gate B has a camera")
        folder = Path(gate["camera_folder"])
        name = f"{time.strftime('%H%M%S')}-{uuid.uuid4().hex[:6]}"
        tmp = folder / f".{name}.png"
        save_qr(token, tmp, scale=4)
        tmp.rename(folder / f"{name}.png")  # appears whole: the camera never sees half a file
        print(f"QR placed in front of gate B's camera ({folder / (name + '.png')}); watch {gate['display']}")
    else:
        try:
            send_scan(Path(gate["scanner_socket"]), token)
        except OSError as exc:
            raise DemoUsageError(f"gate A's scanner is not reachable ({exc}); is the demo running?") from None
        print(f"scanned at gate A's serial scanner; watch {gate['display']}")
    return 0


def _ticket(info: dict[str, Any], ticket: str) -> dict[str, Any]:
    tickets: list[dict[str, Any]] = info["concert"]["tickets"]
    if not ticket.isdigit() or not 1 <= int(ticket) <= len(tickets):
        raise DemoUsageError(f"give a ticket number 1-{len(tickets)} from the demo's list")
    return tickets[int(ticket) - 1]


def _show_id(info: dict[str, Any], args: argparse.Namespace) -> int:
    """What staff do on the display's ID form (or an ID reader does): present the holder's ID."""
    from gate_agent.display.client import StaffClient, StaffClientError

    chosen = _ticket(info, args.ticket)
    if args.wrong:
        others = [t for t in info["concert"]["tickets"] if t["id_number"] != chosen["id_number"]]
        chosen = others[0]
    body = {"id_type": chosen["id_type"], "id_number": chosen["id_number"], "name": chosen["holder"]}
    try:  # as staff at the gate: signed in with the pairing code the display shows on the device
        status, answer = StaffClient(info["gates"][args.gate]["display"]).call("POST", "/api/identity", body)
    except StaffClientError as exc:
        raise DemoUsageError(f"gate {args.gate}: {exc}") from None
    print(json.dumps(answer, ensure_ascii=False))
    return 0 if status < 400 else 1


def _refund(info: dict[str, Any], ticket: str) -> int:
    import httpx

    chosen = _ticket(info, ticket)
    headers = {"Authorization": f"Bearer {chosen['buyer_token']}"}
    try:
        answer = httpx.post(
            f"{info['box_office']}/api/orders/{chosen['order_id']}/cancel", headers=headers, timeout=30
        )
    except httpx.HTTPError as exc:
        raise DemoUsageError(f"box office not reachable: {exc}") from None
    if answer.status_code >= 400:
        print(f"refused by the box office ({answer.status_code}): {answer.text[:300]}")
        return 1
    print(f"order {chosen['order_id']} refunded: its tickets are revoked; gates hear of it within a second")
    return 0
