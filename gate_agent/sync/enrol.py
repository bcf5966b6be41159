"""Enrolment: spend a one-time code, keep the device's own credential, write its config.

The credential goes into its own owner-only file next to the config, so the config can be
shown or copied without leaking it.
"""

from __future__ import annotations

import json
import os
import ssl
import urllib.error
import urllib.request
from pathlib import Path

from wire.sync_api import Enrolment, EnrolRequest, WireError

CREDENTIAL_FILE = "sync-credential"


class EnrolFailed(Exception):
    """Enrolment did not happen; the message says why (for one line on stderr)."""


def request_enrolment(
    url: str, code: str, *, ca: str | None = None, name: str | None = None, version: str | None = None
) -> Enrolment:
    body = {"code": code, "device_name": name, "software_version": version}
    EnrolRequest.parse(body)
    request = urllib.request.Request(
        f"{url.rstrip('/')}/api/enrol",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    context = ssl.create_default_context(cafile=ca) if ca else None
    try:
        with urllib.request.urlopen(request, timeout=15, context=context) as response:
            data = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read()).get("error", exc.reason)
        except ValueError:
            message = exc.reason
        raise EnrolFailed(f"server refused enrolment ({exc.code}): {message}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise EnrolFailed(f"cannot reach {url}: {reason}") from None
    try:
        return Enrolment.parse(data)
    except WireError as exc:
        raise EnrolFailed(f"unexpected answer from the server: {exc}") from None


def _toml_text(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def write_config(
    config_path: Path, enrolment: Enrolment, url: str, *, state_dir: Path, ca: str | None = None
) -> Path:
    """Write the gate's TOML config and the credential file; returns the credential path."""
    config_path.parent.mkdir(parents=True, exist_ok=True)
    credential_path = config_path.parent / CREDENTIAL_FILE
    fd = os.open(credential_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # O_CREAT's mode only applies to a new file; an old one may be wider
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(enrolment.credential + "\n")
    zones = ", ".join(_toml_text(z) for z in enrolment.allowed_zones)
    lines = [
        "# Written by gate-agent enrol. The credential is in the file named below (owner-only).",
        "[gate]",
        f"id = {_toml_text(enrolment.gate_id)}",
        f"event_id = {_toml_text(enrolment.event_id)}",
        f"device_id = {_toml_text(enrolment.device_id)}",
        f"direction = {_toml_text(enrolment.direction)}",
    ]
    if enrolment.session_id is not None:
        lines.append(f"session_id = {_toml_text(enrolment.session_id)}")
    if zones:
        lines.append(f"allowed_zones = [{zones}]")
    lines += ["", "[state]", f"dir = {_toml_text(str(state_dir))}", "", "[sync]", f"url = {_toml_text(url)}"]
    lines.append(f"credential_file = {_toml_text(CREDENTIAL_FILE)}")
    if ca:
        lines.append(f"ca = {_toml_text(str(Path(ca).resolve()))}")
    config_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return credential_path
