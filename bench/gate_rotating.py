"""Cost of verifying a rotating (live) code against a static ticket, and the codes' QR sizes.

    python bench/gate_rotating.py [--rounds 3000]

CPU time per verification (``time.process_time``, so other jobs on the shared machine do not
count), static ``verify_signed`` vs ``verify_live_code``, alternated in one sitting, best of
five passes each; plus the QR version at level M of a reserved-seat ticket's static token and
of its live code.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ticket_format import Keyring, SigningKey, TicketClaims, issue
from ticket_format.qr import alphanumeric_version
from ticket_format.rotating import bind_device_key, live_code, verify_live_code
from ticket_format.token import verify_signed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3000)
    args = parser.parse_args()
    signer, device = SigningKey.generate(), Ed25519PrivateKey.generate()
    public = device.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    keyring = Keyring([signer.trusted()])
    now = time.time()
    claims = TicketClaims(
        ticket_id=str(uuid.uuid4()), event_id=123, session_id=456, zone="A", seat="A-12-34",
        ticket_type="standard", valid_from=int(now) - 3600, valid_until=int(now) + 7200,
    )  # fmt: skip
    static = issue(claims, signer)
    bound = issue(bind_device_key(claims, public), signer)
    code = live_code(bound, device, now)

    def cpu_per_op(work: object) -> float:
        best = float("inf")
        for _ in range(5):
            c0 = time.process_time()
            for _ in range(args.rounds):
                work()  # type: ignore[operator]
            best = min(best, (time.process_time() - c0) / args.rounds * 1e6)
        return best

    static_us = cpu_per_op(lambda: verify_signed(static, keyring, now))
    live_us = cpu_per_op(lambda: verify_live_code(code, keyring, now, 30.0))
    print(f"static verify_signed: {static_us:.1f} µs CPU; live verify_live_code: {live_us:.1f} µs CPU;"
          f" ratio {live_us / static_us:.2f}")  # fmt: skip
    sizes = [(name, alphanumeric_version(text), len(text)) for name, text in
             (("static", static), ("bound static", bound), ("live", code))]  # fmt: skip
    print(
        "QR version at M: "
        + ", ".join(f"{name} {version} ({length} chars)" for name, version, length in sizes)
    )


if __name__ == "__main__":
    main()
