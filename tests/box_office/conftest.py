"""Fixtures: a real box office over real HTTP on loopback, on SQLite and on PostgreSQL.

Every test that takes ``server`` runs twice: once against a SQLite file, once against the
PostgreSQL server on 127.0.0.1:5432 (database ``box_office_test``, recreated per run). Under
``CI=true`` an unreachable PostgreSQL fails those tests instead of skipping them.
E-mail goes through a real SMTP server (aiosmtpd) on loopback; SMS are captured in memory.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import secrets
import threading
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import uvicorn
from aiosmtpd.controller import Controller
from cryptography.fernet import Fernet

from box_office.api.app import create_app
from box_office.config import Settings
from box_office.notify.mail import SmtpMailer
from box_office.notify.sms import CapturingSms
from box_office.store.migrate import upgrade
from tests.local_services import PG_ADMIN, free_port, fresh_postgres

_DATABASES = itertools.count()


def database_url(backend: str, tmp: Path, name: str) -> str:
    """A fresh database. PostgreSQL names carry the process id, so two test runs at once on
    this machine (other engineers, CI) never drop each other's database."""
    if backend == "sqlite":
        return f"sqlite:///{tmp / (name + '.sqlite3')}"
    # and a counter: a session fixture imported into another module is a second instance,
    # which must not drop the database the first one's background loops still use
    return fresh_postgres(f"{name}_{os.getpid()}_{next(_DATABASES)}")


def drop_postgres(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with contextlib.suppress(psycopg.OperationalError), psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class MailSink:
    """aiosmtpd handler keeping every received message."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
        return "250 OK"


@pytest.fixture(scope="session", autouse=True)
def sandbox_for_served_box_offices() -> Iterator[None]:
    """Box offices these tests start as processes (``box-office serve`` in test_race) pay
    through the sandbox, a development tool that is off unless enabled: enable it for them,
    with a secret of their own (the built-in one is refused on PostgreSQL)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BOX_OFFICE_SANDBOX", "on")
        patch.setenv("BOX_OFFICE_SANDBOX_SECRET", secrets.token_hex(16))
        yield


@pytest.fixture(scope="session")
def smtp() -> Iterator[MailSink]:
    sink = MailSink(free_port())
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    yield sink
    controller.stop()


class Server:
    """A running box office and what tests need to look inside it."""

    def __init__(self, url: str, backend: str, sms: CapturingSms, smtp: MailSink, settings: Settings) -> None:
        self.url = url
        self.backend = backend
        self.sms = sms
        self.smtp = smtp
        self.settings = settings

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30.0)


def settings_for(url: str, state_dir: Path, port: int, **overrides: Any) -> Settings:
    """Settings of a test box office on ``127.0.0.1:port``: a fresh secret key, no sweeper
    (tests prove expiry works without one and call sweeps directly), quick delivery and live
    loops; ``overrides`` replace any of them."""
    values: dict[str, Any] = {
        "database_url": url,
        "secret_key": Fernet.generate_key(),
        "state_dir": state_dir,
        "public_url": f"http://127.0.0.1:{port}",
        "sweep_interval": 3600.0,
        "delivery_interval": 0.2,
        "live_interval": 0.1,
        "sandbox": True,
        "sandbox_secret": secrets.token_hex(16),
    }
    return Settings(**(values | overrides))


def start_uvicorn(app: Any, port: int) -> tuple[uvicorn.Server, threading.Thread]:
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the box office did not start")
        time.sleep(0.05)
    return server, thread


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, smtp: MailSink
) -> Iterator[Server]:
    backend: str = request.param
    tmp = tmp_path_factory.mktemp(f"box_office_{backend}")
    url = database_url(backend, tmp, "box_office_test")
    upgrade(url)
    port = free_port()
    settings = settings_for(url, tmp, port, smtp_host="127.0.0.1", smtp_port=smtp.port)
    sms = CapturingSms()
    app = create_app(settings, sms=sms, mailer=SmtpMailer("127.0.0.1", smtp.port))
    uv, thread = start_uvicorn(app, port)
    yield Server(f"http://127.0.0.1:{port}", backend, sms, smtp, settings)
    uv.should_exit = True
    thread.join(timeout=10)
    if backend == "postgres":
        drop_postgres(url)
