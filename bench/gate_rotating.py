"""Cost of verifying a rotating (live) code against a static ticket, and the codes' QR sizes.

    python bench/gate_rotating.py [--rounds 3000]

CPU time per verification (``time.process_time``, so other jobs on the shared machine do not
count), static ``verify_signed`` vs the full live code ``verify_live_code`` (``EN2:``) vs the
compact one (``EN3:``: ``parse_compact_code`` + ``verify_compact_code`` with the ticket list's
``bound_payload`` text, as the gate does), interleaved pass by pass in one sitting, best of
five passes each, so the ratios come from one run on one loaded machine; plus the QR version
at level M of a reserved-seat ticket's static token and of its live codes.

``--gate N`` adds the whole gate decision (``ScanPipeline.scan``: verify, look up, decide,
journal in a real store file, ``synchronous=NORMAL`` so the disk does not set the pace) for N
distinct reserved-seat tickets scanned once each, static vs compact live, interleaved, CPU
per scan; every ticket's device key is new to the gate (no cached key object).
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
    parser.add_argument(
        "--gate", type=int, default=0, metavar="N", help="also time N whole gate scans of each kind"
    )
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
    kinds = (("static", static), ("bound static", bound), ("live EN2", code), ("live EN3", compact))
    sizes = [(name, alphanumeric_version(text), len(text)) for name, text in kinds]
    print(
        "QR version at M: "
        + ", ".join(f"{name} {version} ({length} chars)" for name, version, length in sizes)
    )

    if args.gate:
        gate_scans(args.gate)


def gate_scans(count: int) -> None:
    """CPU per whole gate scan, static EN1 vs compact live EN3, distinct tickets each."""
    import dataclasses
    import io
    import tempfile

    from gate_agent.config import GateConfig
    from gate_agent.pipeline import ScanPipeline
    from gate_agent.store import GateStore
    from ticket_format import rotating
    from wire.snapshot import SnapshotHeader, SnapshotReader, TicketRecord, write_snapshot

    signer = SigningKey.generate()
    now = time.time()
    records, static_codes, live_codes = [], [], []
    for i in range(count):
        device = Ed25519PrivateKey.generate()
        public = device.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        for bound in (False, True):
            claims = TicketClaims(
                ticket_id=str(uuid.uuid4()), event_id=123, session_id=456, zone="A",
                seat=f"A-{i // 40}-{i % 40}", ticket_type="standard", valid_from=int(now) - 3600,
                valid_until=int(now) + 7200,
            )  # fmt: skip
            token = issue(bind_device_key(claims, public) if bound else claims, signer)
            records.append(
                TicketRecord(
                    ticket_id=claims.ticket_id, version=1, event_id=123, session_id=456, zone="A",
                    seat=claims.seat, bound_payload=bound_payload(token) if bound else None,
                )
            )  # fmt: skip
            (live_codes if bound else static_codes).append(
                compact_live_code(token, device, now) if bound else token
            )
    header = SnapshotHeader(
        event_id=123, session_id=456, keyring=Keyring([signer.trusted()]).to_json(), cursor="1"
    )
    buffer = io.StringIO()
    write_snapshot(buffer, header, records)
    with tempfile.TemporaryDirectory() as directory:
        store = GateStore.open(Path(directory) / "gate.sqlite", synchronous="NORMAL")
        reader = SnapshotReader(io.StringIO(buffer.getvalue()))
        store.apply_snapshot(reader.header, reader)
        gate = GateConfig(gate_id="g", event_id=123, session_id=456, device_id="bench")
        pipe = ScanPipeline(
            store, dataclasses.replace(gate, reentry="any", repeat_window=0), clock=lambda: now
        )
        best = {"static EN1": float("inf"), "compact live EN3": float("inf")}
        for _ in range(3):
            for name, codes in (("static EN1", static_codes), ("compact live EN3", live_codes)):
                rotating._device_key.cache_clear()
                c0 = time.process_time()
                for text in codes:
                    outcome = pipe.scan(text, source="bench")
                    assert outcome.verdict == "ok", outcome.decision
                best[name] = min(best[name], (time.process_time() - c0) / count * 1e6)
        store.close()
    base = best["static EN1"]
    print(f"whole gate scan ({count} distinct tickets each): " + "; ".join(
        f"{name} {us:.1f} µs CPU (x{us / base:.2f})" for name, us in best.items()))  # fmt: skip


if __name__ == "__main__":
    main()
