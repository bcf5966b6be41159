"""The pure decision path on aarch64 (a Raspberry Pi's architecture), under qemu-user.

Needs ``qemu-aarch64-static`` (Debian: qemu-user-static) and an arm64 Debian root with Python
and python3-cryptography, cbor2 and stdnum, named by ``$ENCORE_ARM64_ROOT``
(``scripts/pi/arm64-sysroot.sh`` makes one without touching the host's apt configuration).
Skipped when either is missing. The host signs and seals, the arm64 Python verifies, opens the
seal and decides; then it signs a ticket that the host verifies.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import base45
import pytest

from tests.gate_agent.conftest import EVENT, HOLDER_ID, HOLDER_NAME, IDENTITY_KEY
from ticket_format import Keyring, SigningKey, TicketClaims, issue, verify
from ticket_format.identity import HolderDigests, id_digest, name_digest, parse_id, seal_identity
from ticket_format.token import signature_of
from wire.snapshot import TicketRecord

ROOT = Path(__file__).resolve().parents[2]
QEMU = shutil.which("qemu-aarch64-static")
ARM_ROOT = Path(os.environ.get("ENCORE_ARM64_ROOT", "/nonexistent"))
ARM_PYTHON = ARM_ROOT / "usr/bin/python3.11"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(QEMU is None, reason="qemu-aarch64-static is not installed"),
    pytest.mark.skipif(not ARM_PYTHON.exists(), reason="no arm64 root with Python ($ENCORE_ARM64_ROOT)"),
]


def test_the_decision_path_on_aarch64(tmp_path: Path) -> None:
    assert QEMU is not None
    signer = SigningKey.generate()
    claims = TicketClaims(ticket_id=str(uuid.uuid4()), event_id=EVENT, zone="A")
    token = issue(claims, signer)
    holder = HolderDigests(
        id_digest(IDENTITY_KEY, parse_id("cn_ric", HOLDER_ID)), name_digest(IDENTITY_KEY, HOLDER_NAME)
    )
    record = TicketRecord(
        ticket_id=claims.ticket_id, version=1, event_id=EVENT, zone="A", real_name=True,
        identity_sealed=seal_identity(signature_of(token), claims.ticket_id, holder),
    )  # fmt: skip
    case = {
        "keyring": Keyring([signer.trusted()]).to_json(), "identity_key": IDENTITY_KEY.hex(),
        "token": token, "record": record.to_json(), "id": HOLDER_ID, "name": HOLDER_NAME, "now": time.time(),
    }  # fmt: skip
    pure = tmp_path / "pure"  # base45 is pure Python: the host's copy serves the arm64 interpreter
    shutil.copytree(Path(base45.__file__).parent, pure / "base45")
    run = subprocess.run(
        [QEMU, "-L", str(ARM_ROOT), str(ARM_PYTHON), "-P", str(ROOT / "tests/gate_agent/aarch64_decide.py")],
        input=json.dumps(case), capture_output=True, text=True, timeout=600, cwd=tmp_path,
        env={"PYTHONPATH": f"{ROOT}:{pure}", "PATH": os.environ.get("PATH", "")},
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    answer = json.loads(run.stdout)
    assert answer["machine"] == "aarch64"
    expected = {"held": "identity_required", "right_id": "ok", "wrong_id": "identity_mismatch"}
    assert answer["verdicts"] == expected | {"used": "already_used"}
    signed_there = verify(answer["token"], Keyring.from_json(answer["keyring"]))
    assert (signed_there.ticket_id, signed_there.zone) == ("ARM-1", "B")
