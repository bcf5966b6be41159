"""``encore demo``: a whole concert on this machine.

Starts, each as its own process on loopback with SQLite: the box office, a sync
server and two gate agents (gate A with a serial scanner on a pty, gate B with
a camera watching a folder), plus a local SMTP server that keeps the e-mails.
It creates the concert and sells a few real-name tickets through the box
office's public API and sandbox payment, provisions both gates exactly as venue
IT would (enrolment codes), and prints what to open.

Each run starts clean: the previous run's folder is moved aside to
``<dir>.previous``, so a demo never inherits half a state.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from encore.demo.concert import (
    CONSOLE_EMAIL,
    CONSOLE_PASSWORD,
    DemoConcert,
    create_concert,
    sell_demo_tickets,
)
from encore.demo.mailbox import Mailbox
from encore.demo.scanner_relay import ScannerRelay
from encore.demo.supervisor import Service, ServiceFailed, Supervisor
from ticket_format.qr import save_qr

INFO_FILE = "demo.json"
OUTAGE_FILE = "sync-server.outage"
"""While this file exists in the demo folder, the demo keeps its sync server stopped."""
ORGANISER = "organiser"


@dataclass(frozen=True)
class Ports:
    box_office: int = 8100
    sync_server: int = 8200
    gate_a: int = 8301
    gate_b: int = 8302
    smtp: int = 8025
    wechat: int = 8150  # the WeChat Pay emulator (a development tool, like the sandbox bank)

    def check_free(self) -> None:
        for name, port in self.__dict__.items():
            with socket.socket() as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    probe.bind(("127.0.0.1", port))
                except OSError:
                    raise SystemExit(
                        f"encore demo: error: port {port} ({name.replace('_', ' ')}) is in use; "
                        "stop whatever uses it or pass --base-port"
                    ) from None

    @classmethod
    def from_base(cls, base: int) -> Ports:
        return cls(base, base + 100, base + 201, base + 202, base - 75, base + 50)


def _step(message: str) -> None:
    print(f"==> {message}", flush=True)


def _bin(name: str) -> str:
    """A console script of this installation (the venv's, not whatever is first on PATH)."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else name


def _run(argv: list[str], what: str, env: dict[str, str] | None = None) -> str:
    import subprocess

    result = subprocess.run(
        argv, capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=120
    )
    if result.returncode != 0:
        raise ServiceFailed(f"{what} failed: {result.stderr.strip() or result.stdout.strip()}")
    return result.stdout


def _fresh(service: Service) -> Service:
    """A not-yet-started copy of a service description (to start it again after an outage)."""
    return Service(service.name, service.argv, service.log_path, service.health_url, dict(service.env))


def prepare_dir(root: Path) -> None:
    if root.exists():
        previous = root.with_name(root.name + ".previous")
        shutil.rmtree(previous, ignore_errors=True)
        root.rename(previous)
    root.mkdir(parents=True)


def enrolment_code(sync_url: str, sync_db: str, event_id: int, gate: str, ttl_minutes: int) -> str:
    """A one-time enrolment code for ``gate``, as venue IT makes it with ``sync-server enrol-code``."""
    code_out = _run(
        [_bin("sync-server"), "--db", sync_db, "enrol-code", "--event", str(event_id), "--gate", gate,
         "--url", sync_url, "--ttl", str(ttl_minutes)],
        f"enrolment code for gate {gate}",
    )  # fmt: skip
    return code_out.strip().splitlines()[0].strip() if code_out.strip() else ""


def provision_gate(
    root: Path, name: str, sync_url: str, sync_db: str, event_id: int, extra_config: str
) -> Path:
    """Enrol a gate device the way venue IT does: a one-time code, then ``gate-agent enrol``."""
    code = enrolment_code(sync_url, sync_db, event_id, name, ttl_minutes=10)
    gate_dir = root / f"gate-{name}"
    config = gate_dir / "gate.toml"
    _run(
        [
            _bin("gate-agent"),
            "enrol",
            sync_url,
            code,
            "--config",
            str(config),
            "--state-dir",
            str(gate_dir / "state"),
            "--name",
            f"demo-{name}",
        ],
        f"enrolment of gate {name}",
    )
    with config.open("a", encoding="utf-8") as handle:
        handle.write("\n" + extra_config.strip() + "\n")
    return config


def start_wechat_emulator(
    supervisor: Supervisor, root: Path, port: int, ready_timeout: float
) -> dict[str, str]:
    """Start the WeChat Pay emulator (only ever in the demo, which enables the sandbox) and
    answer the variables that point the box office's real WeChat Pay client at it."""
    kit = root / "wechat-kit"
    _step(f"WeChat Pay emulator on http://127.0.0.1:{port} (merchant keys in {kit})")
    supervisor.start(
        Service(
            "wechat emulator",
            [sys.executable, "-m", "payment_emulators.wechat", "--port", str(port), "--kit", str(kit)],
            root / "logs" / "wechat-emulator.log",
            health_url=f"http://127.0.0.1:{port}/healthz",
            env={"BOX_OFFICE_SANDBOX": "on"},
        ),
        ready_timeout,
    )
    env: dict[str, str] = json.loads((kit / "box-office.env.json").read_text())
    return env


def run_demo(root: Path, ports: Ports, *, ready_timeout: float = 90.0) -> int:
    ports.check_free()
    prepare_dir(root)
    supervisor = Supervisor()
    relay: ScannerRelay | None = None
    mailbox = Mailbox(root / "mail", ports.smtp)
    stopping = False

    def _interrupt(signum: int, _frame: Any) -> None:
        nonlocal stopping
        if not stopping:
            stopping = True
            raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _interrupt)
    try:
        mailbox.start()
        wechat_env = start_wechat_emulator(supervisor, root, ports.wechat, ready_timeout)
        _step(f"box office on http://127.0.0.1:{ports.box_office} (SQLite in {root / 'box-office'})")
        bo_url = f"http://127.0.0.1:{ports.box_office}"
        supervisor.start(
            Service(
                "box office",
                [
                    _bin("box-office"),
                    "serve",
                    "--port",
                    str(ports.box_office),
                    "--state-dir",
                    str(root / "box-office"),
                ],
                root / "logs" / "box-office.log",
                health_url=f"{bo_url}/healthz",
                env={
                    "BOX_OFFICE_SMTP_HOST": "127.0.0.1",
                    "BOX_OFFICE_SMTP_PORT": str(ports.smtp),
                    "BOX_OFFICE_SANDBOX": "on",  # the demo pays through the sandbox bank
                }
                | wechat_env,  # and through the WeChat Pay emulator
            ),
            ready_timeout,
        )
        _step(
            "creating the demo concert: ~2,000 seats in 3 price zones + a standing floor, real-name session"
        )
        concert = create_concert(bo_url)
        _step("selling 6 real-name tickets through the API and the sandbox bank")
        tickets = sell_demo_tickets(concert)

        sync_url = f"http://127.0.0.1:{ports.sync_server}"
        sync_db = f"sqlite:///{root / 'sync-server' / 'sync.sqlite'}"
        (root / "sync-server").mkdir()
        token_file = root / "sync-server" / "feed-token"
        token_file.write_text(concert.feed_token + "\n")
        token_file.chmod(0o600)
        password = secrets.token_urlsafe(9)
        _run(
            [_bin("sync-server"), "--db", sync_db, "organiser", ORGANISER],
            "organiser account",
            env={"SYNC_SERVER_PASSWORD": password},
        )
        _step(f"sync server on {sync_url}, pulling the box office feed")
        sync_service = Service(
            "sync server",
            [
                _bin("sync-server"),
                "--db",
                sync_db,
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(ports.sync_server),
                "--feed-url",
                bo_url,
                "--feed-token-file",
                str(token_file),
            ],
            root / "logs" / "sync-server.log",
            health_url=f"{sync_url}/healthz",
        )
        supervisor.start(_fresh(sync_service), ready_timeout)
        _wait_for_tickets(sync_url, password, len(tickets), ready_timeout)

        _step("provisioning gate A (serial scanner on a pty) and gate B (camera watching a folder)")
        relay = ScannerRelay(root / "gate-A-scanner.sock")
        camera_dir = root / "gate-B-camera"
        camera_dir.mkdir()
        gate_a = provision_gate(
            root,
            "A",
            sync_url,
            sync_db,
            concert.event_id,
            f"""
[display]
host = "127.0.0.1"
port = {ports.gate_a}

[[inputs]]
name = "lane-A-fixed-scanner"
profile = "datalogic-magellan-serial"
device = "{relay.slave_path}"
""",
        )
        gate_b = provision_gate(
            root,
            "B",
            sync_url,
            sync_db,
            concert.event_id,
            f"""
[display]
host = "127.0.0.1"
port = {ports.gate_b}

[[inputs]]
name = "lane-B-camera"
profile = "video-file"
device = "{camera_dir}"
camera = {{ watch = true }}
""",
        )
        for name, config, port in (("A", gate_a, ports.gate_a), ("B", gate_b, ports.gate_b)):
            supervisor.start(
                Service(
                    f"gate {name}",
                    [_bin("gate-agent"), "run", "--config", str(config)],
                    root / "logs" / f"gate-{name}.log",
                    health_url=f"http://127.0.0.1:{port}/api/status",
                ),
                ready_timeout,
            )

        ticket_dir = root / "tickets"
        ticket_dir.mkdir()
        for index, ticket in enumerate(tickets, 1):
            save_qr(ticket.token, ticket_dir / f"ticket-{index}.png")
        info = {
            "box_office": bo_url,
            "sync_server": sync_url,
            "dashboard_login": {"user": ORGANISER, "password": password},
            "gates": {
                "A": {
                    "display": f"http://127.0.0.1:{ports.gate_a}",
                    "scanner_socket": str(relay.socket_path),
                    "config": str(gate_a),
                },
                "B": {
                    "display": f"http://127.0.0.1:{ports.gate_b}",
                    "camera_folder": str(camera_dir),
                    "config": str(gate_b),
                },
            },
            "staff_phone": {
                "url": f"{sync_url}/staff/",
                "code": enrolment_code(sync_url, sync_db, concert.event_id, "phone", ttl_minutes=60),
            },
            "mail": str(root / "mail"),
            "concert": concert.to_json(),
        }
        (root / INFO_FILE).write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n")
        _print_welcome(root, info, concert)
        outage_flag = root / OUTAGE_FILE
        while True:
            running = any(service.name == "sync server" for service in supervisor.services)
            if outage_flag.exists() and running:
                supervisor.stop("sync server")
                _step("sync server stopped (outage): the gates decide offline and keep their scans")
            elif not outage_flag.exists() and not running:
                supervisor.start(_fresh(sync_service), ready_timeout)
                _step("sync server back: the gates upload their backlog; conflicts show on the dashboard")
            supervisor.check_alive()
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\n==> stopping every process", flush=True)
        return 0
    except ServiceFailed as exc:
        print(f"encore demo: error: {exc}", file=sys.stderr)
        return 1
    finally:
        supervisor.stop_all()
        if relay is not None:
            relay.close()
        mailbox.stop()
        print(f"==> stopped. Logs and data stay in {root} (moved aside on the next run).", flush=True)


def _wait_for_tickets(sync_url: str, password: str, expected: int, timeout: float) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            stats = httpx.get(f"{sync_url}/api/stats", auth=(ORGANISER, password), timeout=5).json()
            if stats.get("sold", 0) >= expected:
                return
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.3)
    raise ServiceFailed(f"the sync server did not receive the {expected} tickets from the box office feed")


def _print_welcome(root: Path, info: dict[str, Any], concert: DemoConcert) -> None:
    login = info["dashboard_login"]
    first_buyer = concert.tickets[0].buyer_token if concert.tickets else ""
    print(
        f"""
Encore is running. Open:
  box office API docs      {info["box_office"]}/docs
  seat map (buyers)        {info["box_office"]}/seatmap/{concert.session_id}   (pay by WeChat Pay: a QR page)
  organisers' dashboard    {info["sync_server"]}/   (user {login["user"]}, password {login["password"]})
  promoter's console       {info["box_office"]}/console/  ({CONSOLE_EMAIL} / {CONSOLE_PASSWORD})
  gate A staff display     {info["gates"]["A"]["display"]}   (serial scanner)
  gate B staff display     {info["gates"]["B"]["display"]}   (camera)
  staff phone check-in     {info["staff_phone"]["url"]}   (enrol with code {info["staff_phone"]["code"]})
  e-mails sent to buyers   {info["mail"]}/
  help & Q&A bot (buyers)  {info["box_office"]}/support/?event={concert.event_id}#buyer={first_buyer}
  support desk (staff)     {info["box_office"]}/console/support/#organiser={concert.organiser_token}
  ticket QR codes          {root / "tickets"}/

Tickets sold (real-name session: the gate asks for the holder's ID; type it on the staff display):"""
    )
    for index, ticket in enumerate(concert.tickets, 1):
        where = ticket.seat or "standing floor"
        print(f"  {index}. {ticket.zone:8} {where:10} {ticket.holder:14} {ticket.id_type} {ticket.id_number}")
    print(
        """
Try, in another terminal:
  encore demo scan 1 --gate A            # ticket 1 through gate A's serial scanner: identity_required
  encore demo show-id 1 --gate A         # the holder shows their ID: ok, the turnstile turns
  encore demo scan 1 --gate B            # the same ticket at gate B's camera: already_used
  encore demo tickets                    # every ticket as JSON (token, holder, order)
  encore demo refund 3                   # refund ticket 3's order (tickets 3 and 4) ...
  encore demo scan 3 --gate B            # ... and watch both gates refuse it: revoked
  encore demo scan 'hello' --gate A      # garbage: malformed
  encore demo outage start               # stop the sync server: both gates keep deciding offline
  encore demo outage end                 # bring it back: backlogs upload, conflicts are flagged
Press Ctrl-C to stop everything."""
    )
