"""The suite's own rules (tests/conftest.py) fail what they should, proved on inner pytest runs."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT_CONFTEST = Path(__file__).with_name("conftest.py")

PLANTED = """
import asyncio
import contextlib
import threading

import pytest

from box_office.api.app import _loop


def one_round():
    # Run the box office's real background loop until its work failed once and was logged:
    # the second call of the work is the sign that the loop handled the first one's exception.
    second_call = threading.Event()
    calls = []

    def boom():
        calls.append(1)
        if len(calls) > 1:
            second_call.set()
            return
        raise RuntimeError("planted in a background loop")

    async def run():
        task = asyncio.create_task(_loop(0.0, boom))
        while not second_call.is_set():
            await asyncio.sleep(0.01)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(asyncio.wait_for(run(), 60))


def test_quiet():
    assert True


def test_planted():
    one_round()


@pytest.mark.background_errors_expected
def test_planted_on_purpose():
    one_round()
"""


def _inner(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        ROOT_CONFTEST.read_text(encoding="utf-8").replace('pytest_plugins = ["pytester"]', "")
    )
    pytester.makepyfile(test_planted=PLANTED)


def test_a_background_loop_exception_fails_the_test(pytester: pytest.Pytester) -> None:
    _inner(pytester)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, errors=1)  # the call passed; its teardown fails it
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_planted*",
            "*a background loop failed during this test:*",
            "*box_office.api.app._loop: background task boom failed*",
            "*RuntimeError: planted in a background loop*",
        ]
    )
    assert result.ret == 1


def test_without_the_plant_the_run_passes(pytester: pytest.Pytester) -> None:
    _inner(pytester)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-k", "quiet or on_purpose")
    result.assert_outcomes(passed=2)
    assert result.ret == 0


SKIPPING = """
import pytest


def test_runs():
    assert True


def test_needs_postgres():
    pytest.skip("PostgreSQL unreachable")
"""


@pytest.mark.parametrize("ci", ["true", "1", "TRUE", "yes"])
def test_a_skip_under_ci_is_a_failure(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, ci: str
) -> None:
    pytester.makeconftest(
        ROOT_CONFTEST.read_text(encoding="utf-8").replace('pytest_plugins = ["pytester"]', "")
    )
    pytester.makepyfile(test_skipping=SKIPPING)
    monkeypatch.setenv("CI", ci)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*skipped under CI, which must run every test:*PostgreSQL unreachable*"])


@pytest.mark.parametrize("ci", [None, "", "false", "0"])
def test_a_skip_outside_ci_stays_a_skip(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, ci: str | None
) -> None:
    pytester.makeconftest(
        ROOT_CONFTEST.read_text(encoding="utf-8").replace('pytest_plugins = ["pytester"]', "")
    )
    pytester.makepyfile(test_skipping=SKIPPING)
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, skipped=1)
