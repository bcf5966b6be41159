"""A box office of a test module's own (SQLite, on loopback), for tests that leave odd data behind
(the fuzzer) or only need the app's pages; the shared ``server`` fixture runs on both backends."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from box_office.api.app import create_app
from box_office.notify.mail import FileMailer
from box_office.notify.sms import CapturingSms
from box_office.store.migrate import upgrade
from tests.box_office.conftest import Server, settings_for, start_uvicorn
from tests.local_services import free_port


def run_box_office(tmp: Path) -> Iterator[Server]:
    url = f"sqlite:///{tmp / 'box_office.sqlite3'}"
    upgrade(url)
    port = free_port()
    settings = settings_for(url, tmp, port)
    sms = CapturingSms()
    app = create_app(settings, sms=sms, mailer=FileMailer(tmp / "mail"))
    uv, thread = start_uvicorn(app, port)
    yield Server(f"http://127.0.0.1:{port}", "sqlite", sms, None, settings)  # type: ignore[arg-type]
    uv.should_exit = True
    thread.join(timeout=10)
