"""Rules for the whole suite: a background loop's error fails the test it happened in, and under
CI a skipped test is a failure.

Background loops (the box office's sweeps and delivery, its live hub, ``box-office background``,
the sync server's change watcher and dashboard pusher) catch their exceptions so that production
keeps going, and log them. In a test that would hide a bug behind a green run, so every such
ERROR record logged while a test runs fails that test; one logged between tests or while session
fixtures shut down fails the run. A test that provokes one on purpose says so with
``@pytest.mark.background_errors_expected``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import pytest

from tests.local_services import running_under_ci

pytest_plugins = ["pytester"]

BACKGROUND_LOOPS: dict[str, frozenset[str]] = {
    "box_office.api.app": frozenset({"_loop"}),
    "box_office.background": frozenset({"_guarded"}),
    "box_office.api.live_hub": frozenset({"_run"}),
    "sync_server": frozenset({"change_watcher", "dashboard_pusher"}),
}
"""Logger name -> the functions in it that run a background loop and log what they catch."""

EXPECTED_MARK = "background_errors_expected"


class BackgroundErrors(logging.Handler):
    """Keeps the ERROR records that background loops log; thread-safe (loops run in threads)."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self._lock = threading.Lock()
        self._records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.funcName in BACKGROUND_LOOPS.get(record.name, frozenset()):
            with self._lock:
                self._records.append(record)

    def take(self) -> list[logging.LogRecord]:
        with self._lock:
            taken, self._records = self._records, []
        return taken


def describe(records: list[logging.LogRecord]) -> str:
    lines = []
    for record in records:
        lines.append(f"{record.name}.{record.funcName}: {record.getMessage()}")
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            lines.append(f"    {type(error).__name__}: {error}")
    return "\n".join(lines)


_collector = BackgroundErrors()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{EXPECTED_MARK}: the test provokes errors in a background loop on purpose"
    )
    for name in BACKGROUND_LOOPS:
        logger = logging.getLogger(name)
        if _collector not in logger.handlers:
            logger.addHandler(_collector)  # levels untouched: ERROR passes the default WARNING


@pytest.fixture(autouse=True)
def _fail_on_background_errors(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail the test if a background loop logged an error while it ran."""
    before = _collector.take()  # logged between tests: not this test's doing
    if before:
        request.config.stash.setdefault(_between_tests_key, []).extend(before)
    yield
    errors = _collector.take()
    if errors and request.node.get_closest_marker(EXPECTED_MARK) is None:
        pytest.fail(f"a background loop failed during this test:\n{describe(errors)}", pytrace=False)


_between_tests_key = pytest.StashKey[list[logging.LogRecord]]()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    leftover = session.config.stash.get(_between_tests_key, []) + _collector.take()
    if leftover:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        text = f"background loops failed outside any test:\n{describe(leftover)}"
        if reporter is not None:
            reporter.write_sep("=", "background errors", red=True)
            reporter.write_line(text)
        if session.exitstatus == 0:
            session.exitstatus = 1


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Under CI a skip is a failure: PostgreSQL, systemd-analyze and Chromium are installed by
    the CI script, so a test that skips there is a test that silently did not run."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if report.skipped and running_under_ci() and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under CI, which must run every test: {reason}"
