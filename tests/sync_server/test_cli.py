"""The commands end to end: sync-server and gate-agent as real processes, over TLS with a venue CA."""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import ssl
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.sync_server.conftest import EVENT, free_port
from ticket_format import Keyring, SigningKey, TicketClaims, issue

BIN = Path(sys.executable).parent


def run(
    *args: str, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        args, capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})}
    )
    if check and result.returncode != 0:
        raise AssertionError(f"{args} failed ({result.returncode}): {result.stderr}")
    return result


def make_ca(tmp: Path) -> tuple[Path, Path, Path]:
    """A venue CA and a server certificate for 127.0.0.1 signed by it (PEM files)."""
    now = datetime.datetime.now(datetime.UTC)
    later = now + datetime.timedelta(days=1)
    loopback = x509.IPAddress(ipaddress.ip_address("127.0.0.1"))
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Venue CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(later)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sync")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(later)
        .add_extension(x509.SubjectAlternativeName([loopback]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, cert_path, key_path = tmp / "venue-ca.pem", tmp / "server.pem", tmp / "server.key"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return ca_path, cert_path, key_path


@pytest.mark.slow
def test_provisioning_and_sync_with_the_real_commands_over_tls(tmp_path: Path) -> None:
    key = SigningKey.generate()
    keyring = tmp_path / "keyring.json"
    keyring.write_text(json.dumps(Keyring([key.trusted()]).to_json()))
    now = int(time.time())
    tokens = [
        issue(
            TicketClaims(str(uuid.uuid4()), EVENT, zone="A", valid_from=now - 60, valid_until=now + 3600), key
        )
        for _ in range(20)
    ]
    (tmp_path / "tokens.txt").write_text("\n".join(tokens) + "\n")
    db = str(tmp_path / "sync.sqlite")
    server_cmd = [str(BIN / "sync-server"), "--db", db]

    bad = run(*server_cmd, "import", str(tmp_path / "missing.txt"), check=False)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "cannot read" in bad.stderr
    out = run(*server_cmd, "import", str(tmp_path / "tokens.txt"), "--keyring", str(keyring)).stdout
    assert "20 ticket states changed" in out
    run(*server_cmd, "organiser", "ops", env={"SYNC_SERVER_PASSWORD": "correct horse"})

    ca, cert, cert_key = make_ca(tmp_path)
    port = free_port()
    url = f"https://127.0.0.1:{port}"
    code_run = run(
        *server_cmd,
        "enrol-code",
        "--event",
        EVENT,
        "--gate",
        "north",
        "--url",
        url,
        "--qr",
        str(tmp_path / "code.png"),
    )
    code = code_run.stdout.strip()
    assert len(code) == 14 and (tmp_path / "code.png").stat().st_size > 0

    server = subprocess.Popen(
        [
            *server_cmd,
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--tls-cert",
            str(cert),
            "--tls-key",
            str(cert_key),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        context = ssl.create_default_context(cafile=str(ca))
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"{url}/healthz", context=context, timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        config = tmp_path / "gate" / "gate.toml"
        gate = [str(BIN / "gate-agent")]
        untrusted = run(*gate, "enrol", url, code, "--config", str(config), check=False)
        assert untrusted.returncode == 2 and "certificate" in untrusted.stderr.lower()
        enrolled = run(
            *gate,
            "enrol",
            url,
            code,
            "--config",
            str(config),
            "--state-dir",
            str(tmp_path / "state"),
            "--ca",
            str(ca),
        )
        assert "gate north" in enrolled.stdout
        assert (config.parent / "sync-credential").stat().st_mode & 0o077 == 0
        replay = run(
            *gate, "enrol", url, code, "--config", str(tmp_path / "other.toml"), "--ca", str(ca), check=False
        )
        assert replay.returncode == 2 and "already used" in replay.stderr

        synced = run(*gate, "sync-now", "--config", str(config))
        assert "snapshot 20 tickets" in synced.stdout
        assert "of 20 (100%)" in synced.stderr  # progress on the CLI
        verdict = json.loads(run(*gate, "verify", tokens[0], "--config", str(config)).stdout)
        assert verdict["verdict"] == "ok"
        assert "1 scans uploaded" in run(*gate, "sync-now", "--config", str(config)).stdout

        listed = [json.loads(line) for line in run(*server_cmd, "devices", "--json").stdout.splitlines()]
        assert [(d["gate_id"], d["backlog"]) for d in listed] == [("north", 0)]
        table = run(*server_cmd, "devices").stdout
        assert "north" in table and "encore-gate-agent" in table
        run(*server_cmd, "devices", "revoke", listed[0]["device_id"])
        cut = run(*gate, "sync-now", "--config", str(config), check=False)
        assert cut.returncode == 1 and "revoked" in cut.stderr
    finally:
        server.terminate()
        server.wait(timeout=10)
