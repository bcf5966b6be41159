"""Run under qemu-aarch64 by ``test_aarch64.py``: the pure decision path on an arm64 Python.

Reads a case (JSON on stdin) made on the host, decides it here, and prints JSON: the verdicts,
the machine, and a token signed here for the host to verify.
"""

from __future__ import annotations

import json
import platform
import sys

from gate_agent.config import GateConfig
from gate_agent.rules import PresentedIdentity, Usage, decide
from ticket_format import Keyring, SigningKey, TicketClaims, issue
from ticket_format.identity import id_digest, name_digest, open_identity, parse_id
from ticket_format.token import verify_signed
from wire.snapshot import parse_ticket


def main() -> None:
    case = json.load(sys.stdin)
    keyring = Keyring.from_json(case["keyring"])
    key = bytes.fromhex(case["identity_key"])
    claims, signature = verify_signed(case["token"], keyring, case["now"])
    record = parse_ticket(case["record"])
    gate = GateConfig(gate_id="north-1", event_id=claims.event_id, device_id="pi-arm")
    holder = open_identity(str(record.identity_sealed), signature, claims.ticket_id)
    right = PresentedIdentity(id_digest(key, parse_id("cn_ric", case["id"])), name_digest(key, case["name"]))
    wrong = PresentedIdentity(id_digest(key, parse_id("passport", "E12345678")))
    verdicts = {
        "held": decide(claims, record, Usage(), gate, case["now"]).verdict.value,
        "right_id": decide(claims, record, Usage(), gate, case["now"], right, holder).verdict.value,
        "wrong_id": decide(claims, record, Usage(), gate, case["now"], wrong, holder).verdict.value,
        "used": decide(
            claims, record, Usage(entries=1, inside=True), gate, case["now"], right, holder
        ).verdict.value,
    }
    signer = SigningKey.generate()
    mine = issue(TicketClaims(ticket_id="ARM-1", event_id=claims.event_id, zone="B"), signer)
    print(json.dumps({
        "machine": platform.machine(), "verdicts": verdicts, "token": mine,
        "keyring": Keyring([signer.trusted()]).to_json(),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
