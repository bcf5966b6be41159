"""Gate decision latency of a real-name entry: the ID check, with the holder's digests sealed.

A real-name ticket is decided in two steps: the scan (verify, lookup, rules -> hold) and the
holder's ID (``ScanPipeline.present_identity``: digest what was presented, open the ticket's
sealed digests with the held ticket's signature, rules, journal). This times the second step,
the one the seal adds work to, one by one with ``perf_counter``; the decision alone (no journal
write) also in the thread's CPU time, which a loaded shared machine does not inflate; and the
CPU cost of opening one seal on its own. Every ticket in the snapshot is real-name; ``synchronous=FULL``.

It also runs against a checkout of the first release (digests in clear) for the "before":

    python bench/gate_identity.py                      # 20,000 tickets, 2,000 entries
    PYTHONPATH=/path/to/old/checkout python -P bench/gate_identity.py --here-not-first
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

if "--here-not-first" not in sys.argv:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import wire.snapshot as snapshot_module
from gate_agent.config import GateConfig
from gate_agent.pipeline import ScanPipeline
from gate_agent.store import GateStore
from ticket_format import Keyring, SigningKey, TicketClaims, issue
from ticket_format import identity as identity_module
from wire.snapshot import SnapshotHeader, TicketRecord

EVENT = "bench-evt"
HOLDER_ID = "11010519491231002X"
SEALED = "identity_sealed" in TicketRecord.__slots__


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def build(tickets: int, key: bytes, signer: SigningKey) -> tuple[list[TicketRecord], list[str]]:
    from ticket_format.token import signature_of

    records, tokens = [], []
    holder = identity_module.HolderDigests(
        identity_module.id_digest(key, identity_module.parse_id("cn_ric", HOLDER_ID)),
        identity_module.name_digest(key, "张三"),
    )
    for i in range(tickets):
        claims = TicketClaims(ticket_id=str(uuid.UUID(int=i + 1, version=4)), event_id=EVENT, zone="A")
        token = issue(claims, signer)
        sealed = identity_module.seal_identity(signature_of(token), claims.ticket_id, holder)
        records.append(
            TicketRecord(
                ticket_id=claims.ticket_id, version=1, event_id=EVENT, real_name=True, identity_sealed=sealed
            )
        )
        tokens.append(token)
    return records, tokens


def run(tickets: int, entries: int) -> dict[str, float]:
    key = bytes(range(32))
    signer = SigningKey.generate()
    if SEALED:
        records, tokens = build(tickets, key, signer)
    else:  # the first release has no signature_of; digests are in clear, no token needed for them
        first_release_digests: dict[str, Any] = {
            "id_digest": identity_module.id_digest(key, identity_module.parse_id("cn_ric", HOLDER_ID)),
            "name_digest": identity_module.name_digest(key, "张三"),
        }
        records = [
            TicketRecord(
                ticket_id=str(uuid.UUID(int=i + 1, version=4)),
                version=1,
                event_id=EVENT,
                real_name=True,
                **first_release_digests,
            )
            for i in range(tickets)
        ]
        tokens = [
            issue(TicketClaims(ticket_id=r.ticket_id, event_id=EVENT, zone="A"), signer)
            for r in records[:entries]
        ]
    header = SnapshotHeader(
        event_id=EVENT, keyring=Keyring([signer.trusted()]).to_json(), cursor="1", identity_key=key.hex()
    )
    result: dict[str, float] = {}
    gate = GateConfig(gate_id="g", event_id=EVENT, device_id="d", repeat_window=0)
    for synchronous in ("FULL", "NORMAL"):
        with tempfile.TemporaryDirectory() as tmp:
            store = GateStore.open(Path(tmp) / "gate.sqlite", synchronous=synchronous)
            store.apply_snapshot(header, records)
            pipeline = ScanPipeline(store, gate)
            times = []
            for token in tokens[:entries]:
                assert pipeline.scan(token).verdict.value == "identity_required"
                t0 = time.perf_counter()
                outcome = pipeline.present_identity(id_type="cn_ric", id_number=HOLDER_ID, name="张三")
                times.append((time.perf_counter() - t0) * 1000)
                assert outcome.verdict.value == "ok", outcome.decision.reason
            if synchronous == "NORMAL":
                result |= decision_only(store, gate, tokens[:entries], key)
            store.close()
        result |= {
            f"{synchronous}_p50": percentile(times, 0.5),
            f"{synchronous}_p99": percentile(times, 0.99),
        }
    if SEALED:
        from ticket_format.token import signature_of

        signature, sealed = signature_of(tokens[0]), records[0].identity_sealed
        assert sealed is not None
        rounds = 5000
        c0 = time.process_time()
        for _ in range(rounds):
            identity_module.open_identity(sealed, signature, records[0].ticket_id)
        result["open_us"] = (time.process_time() - c0) / rounds * 1e6
    return result


def decision_only(store: GateStore, gate: GateConfig, tokens: list[str], key: bytes) -> dict[str, float]:
    """The ID check without the journal write: digest what was presented, look the ticket up,
    open its seal (after) or read its digests (before), apply the rules. Per op, in ms."""
    from gate_agent.rules import PresentedIdentity, decide
    from ticket_format.token import verify

    if SEALED:
        from ticket_format.token import verify_signed

        held = [verify_signed(token, store.keyring()) for token in tokens]
    else:
        held = [(verify(token, store.keyring()), b"") for token in tokens]
    now = time.time()
    times, cpu = [], []
    for claims, signature in held:
        c0 = time.thread_time()
        t0 = time.perf_counter()
        presented = PresentedIdentity(
            id_digest=identity_module.id_digest(key, identity_module.parse_id("cn_ric", HOLDER_ID)),
            name_digest=identity_module.name_digest(key, "张三"),
        )
        record, usage = store.lookup(claims.ticket_id)
        if SEALED:
            assert record is not None and record.identity_sealed is not None
            holder = identity_module.open_identity(record.identity_sealed, signature, claims.ticket_id)
            decision = decide(claims, record, usage, gate, now, presented, holder)
        else:
            decision = decide(claims, record, usage, gate, now, presented)
        times.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.thread_time() - c0) * 1000)
        assert decision.verdict.value in ("ok", "already_used"), decision.reason
    return {
        "decide_p50": percentile(times, 0.5), "decide_p99": percentile(times, 0.99),
        "decide_cpu_p50": percentile(cpu, 0.5), "decide_cpu_p99": percentile(cpu, 0.99),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tickets", type=int, default=20_000)
    parser.add_argument("--entries", type=int, default=2_000)
    parser.add_argument("--here-not-first", action="store_true", help="import the code from PYTHONPATH")
    args = parser.parse_args()
    result = run(args.tickets, args.entries)
    kind = "sealed (contract 3)" if SEALED else "digests in clear (first release)"
    print(f"{kind} [{snapshot_module.__file__}]: {args.entries} ID checks against {args.tickets} tickets")
    print(" ".join(f"{k}={v:.3f}" for k, v in result.items()))


if __name__ == "__main__":
    main()
