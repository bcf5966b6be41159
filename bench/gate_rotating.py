"""Cost of verifying a rotating (live) code against a static ticket, and the codes' QR sizes.

    python bench/gate_rotating.py [--rounds 3000]

CPU time per verification (``time.process_time``, so other jobs on the shared machine do not
count), static ``verify_signed`` vs the full live code ``verify_live_code`` (``EN2:``) vs the
compact one (``EN3:``: ``parse_compact_code`` + ``verify_compact_code`` with the ticket list's
``bound_payload`` text, as the gate does), interleaved pass by pass in one sitting, best of
five passes each, so the ratios come from one run on one loaded machine; plus the QR version
at level M of a reserved-seat ticket's static token and of its live codes.
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
from ticket_format.rotating import (
    bind_device_key,
    bound_payload,
    compact_live_code,
    live_code,
    parse_compact_code,
    verify_compact_code,
    verify_live_code,
)
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
    compact = compact_live_code(bound, device, now)
    payload = bound_payload(bound)
    works = {
        "static EN1": lambda: verify_signed(static, keyring, now),
        "full live EN2": lambda: verify_live_code(code, keyring, now, 30.0),
        "compact live EN3": lambda: verify_compact_code(
            parse_compact_code(compact), payload, keyring, now, 30.0
        ),
    }
    best = dict.fromkeys(works, float("inf"))
    for _ in range(5):  # interleaved: a burst of load hits every kind alike
        for name, work in works.items():
            c0 = time.process_time()
            for _ in range(args.rounds):
                work()
            best[name] = min(best[name], (time.process_time() - c0) / args.rounds * 1e6)
    base = best["static EN1"]
    print("CPU per verification: " + "; ".join(
        f"{name} {us:.1f} µs (x{us / base:.2f})" for name, us in best.items()))  # fmt: skip
    sizes = [(name, alphanumeric_version(text), len(text)) for name, text in
             (("static", static), ("bound static", bound), ("live EN2", code), ("live EN3", compact))]  # fmt: skip
    print(
        "QR version at M: "
        + ", ".join(f"{name} {version} ({length} chars)" for name, version, length in sizes)
    )


if __name__ == "__main__":
    main()
