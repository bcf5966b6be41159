"""The ``box-office`` command: migrate, clear one-line errors with exit status 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run(*args: str, state: Path) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"BOX_OFFICE_STATE_DIR": str(state)}
    env.pop("BOX_OFFICE_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "box_office.cli", *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_migrate_with_no_configuration_makes_a_local_sqlite_file(tmp_path: Path) -> None:
    done = run("migrate", state=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "box_office.sqlite3").exists()
    assert (tmp_path / "secret.key").stat().st_mode & 0o077 == 0  # the key is private to its owner
    assert run("migrate", state=tmp_path).returncode == 0  # idempotent


def test_bad_input_is_one_line_and_status_2(tmp_path: Path) -> None:
    for args in (("serve", "--port", "nope"), ("serve", "--port", "70000"), ("frobnicate",)):
        done = run(*args, state=tmp_path)
        assert done.returncode == 2, (args, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    bad_db = run("migrate", "--database-url", "postgresql://nobody@127.0.0.1:1/none", state=tmp_path)
    assert bad_db.returncode == 2 and bad_db.stderr.count("\n") == 1 and "cannot migrate" in bad_db.stderr
