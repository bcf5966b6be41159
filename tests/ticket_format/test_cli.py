"""``encore ticket ...`` end to end, as real subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

CLAIMS = {
    "ticket_id": "3f1c8a52-9d4e-4b6a-8f0e-2b7c5d9e1a34",
    "event_id": 412,
    "session_id": 1003,
    "zone": "VIP-A",
    "seat": "B-12-07",
    "ticket_type": "adult",
    "valid_from": 1795000000,
    "valid_until": 1795030000,
    "version": 1,
}


def encore(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "encore", *args], input=stdin, capture_output=True, text=True, timeout=60
    )


@pytest.fixture()
def keys(tmp_path: Path) -> tuple[Path, Path]:
    result = encore("ticket", "keygen", "--out", str(tmp_path / "keys"))
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    return Path(info["private_key"]), Path(info["keyring"])


def test_keygen_issue_verify_qr(keys: tuple[Path, Path], tmp_path: Path):
    pem, keyring = keys
    claims_file = tmp_path / "claims.json"
    claims_file.write_text(json.dumps(CLAIMS))
    issued = encore("ticket", "issue", "--key", str(pem), "--claims", str(claims_file))
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.strip()
    assert token.startswith("EN1:")

    verified = encore("ticket", "verify", token, "--keyring", str(keyring))
    assert verified.returncode == 0
    assert json.loads(verified.stdout) == {"valid": True, "claims": CLAIMS}

    from_stdin = encore("ticket", "verify", "-", "--keyring", str(keyring), stdin=token + "\n")
    assert from_stdin.returncode == 0

    for suffix in ("png", "svg"):
        out = tmp_path / f"t.{suffix}"
        rendered = encore("ticket", "qr", token, "-o", str(out))
        assert rendered.returncode == 0, rendered.stderr
        assert json.loads(rendered.stdout)["qr_version"] <= 8
        assert out.stat().st_size > 100


def test_verify_reports_the_reason_and_exits_1(keys: tuple[Path, Path]):
    pem, keyring = keys
    token = encore("ticket", "issue", "--key", str(pem), "--claims", json.dumps(CLAIMS)).stdout.strip()
    forged = token[:-3] + ("000" if token[-3:] != "000" else "111")
    result = encore("ticket", "verify", forged, "--keyring", str(keyring))
    assert result.returncode == 1
    answer = json.loads(result.stdout)
    assert answer["valid"] is False
    assert answer["reason"] in {"invalid_signature", "malformed"}
    assert answer["detail"]
    garbage = json.loads(encore("ticket", "verify", "hello", "--keyring", str(keyring)).stdout)
    assert garbage["reason"] == "malformed"


def test_keygen_into_an_existing_directory_rotates(keys: tuple[Path, Path]):
    _, keyring = keys
    result = encore("ticket", "keygen", "--out", str(keyring.parent))
    assert json.loads(result.stdout)["trusted_keys"] == 2


@pytest.mark.parametrize(
    "args",
    [
        ("ticket", "issue", "--key", "/nonexistent.pem", "--claims", "{}"),
        ("ticket", "issue", "--key", "KEYRING", "--claims", json.dumps(CLAIMS)),
        ("ticket", "issue", "--key", "PEM", "--claims", "{not json"),
        ("ticket", "issue", "--key", "PEM", "--claims", '{"ticket_id": 1}'),
        ("ticket", "issue", "--key", "PEM", "--claims", "/nonexistent.json"),
        ("ticket", "verify", "x", "--keyring", "/nonexistent.json"),
        ("ticket", "verify", "x", "--keyring", "PEM"),
        ("ticket", "qr", "EN1:X", "-o", "/tmp/x.gif"),
        ("ticket", "qr", "EN1:X", "-o", "/nonexistent/dir/x.png"),
        ("ticket", "bogus"),
        ("ticket", "issue"),
    ],
)
def test_bad_input_is_one_line_on_stderr_with_exit_2(args: tuple[str, ...], keys: tuple[Path, Path]):
    pem, keyring = keys
    real = [str(pem) if a == "PEM" else str(keyring) if a == "KEYRING" else a for a in args]
    result = encore(*real)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "error" in lines[0] and "Traceback" not in result.stderr
