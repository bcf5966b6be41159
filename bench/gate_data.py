"""Test data for the gate benchmarks: a big snapshot file and signed tokens for part of it.

    python bench/gate_data.py OUT_DIR [--tickets 200000] [--tokens 20000]

writes OUT_DIR/snapshot.jsonl (wire.snapshot format), OUT_DIR/tokens.txt (one token a line,
for the first --tokens tickets) and OUT_DIR/gate.toml (a config for that event).
Reserved-seat tickets with UUID ids, three zones, 2% revoked, 1% real-name.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ticket_format import Keyring, SigningKey, TicketClaims, issue
from wire.snapshot import SnapshotHeader, TicketRecord, write_snapshot

EVENT = "bench-evt"


def claims_for(i: int, rng: random.Random, start: int) -> TicketClaims:
    zone = ("A", "B", "C")[i % 3]
    return TicketClaims(
        ticket_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        event_id=EVENT, session_id="s1", zone=zone, seat=f"R{i % 60 + 1}-S{i % 40 + 1}",
        ticket_type="standard", valid_from=start - 3600, valid_until=start + 86400, version=1,
    )  # fmt: skip


def generate(out: Path, tickets: int, tokens: int, seed: int = 7) -> dict[str, float]:
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    key = SigningKey.generate()
    start = int(time.time())
    header = SnapshotHeader(
        event_id=EVENT, session_id="s1", keyring=Keyring([key.trusted()]).to_json(), cursor="1",
        identity_key=bytes(rng.getrandbits(8) for _ in range(32)).hex(), created_at=start,
    )  # fmt: skip
    began = time.perf_counter()
    with (out / "tokens.txt").open("w") as token_file:

        def records() -> Iterator[TicketRecord]:
            for i in range(tickets):
                claims = claims_for(i, rng, start)
                if i < tokens:
                    token_file.write(issue(claims, key) + "\n")
                yield TicketRecord(
                    ticket_id=claims.ticket_id, version=1, event_id=EVENT, session_id="s1", zone=claims.zone,
                    seat=claims.seat, ticket_type="standard",
                    status="revoked" if i >= tokens and rng.random() < 0.02 else "valid",
                    real_name=i >= tokens and rng.random() < 0.01,
                )  # fmt: skip

        with (out / "snapshot.jsonl").open("w") as snapshot:
            write_snapshot(snapshot, header, records())
    (out / "gate.toml").write_text(
        f'[gate]\nid = "bench-1"\nevent_id = "{EVENT}"\nsession_id = "s1"\nrepeat_window = 0\n\n'
        f'[state]\ndir = "state"\n\n[display]\nenabled = false\n'
    )
    return {"seconds": time.perf_counter() - began}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--tickets", type=int, default=200_000)
    parser.add_argument("--tokens", type=int, default=20_000)
    args = parser.parse_args()
    info = generate(args.out, args.tickets, args.tokens)
    print(f"wrote {args.tickets} tickets, {args.tokens} tokens to {args.out} in {info['seconds']:.1f} s")


if __name__ == "__main__":
    main()
