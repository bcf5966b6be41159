"""Ticket format throughput: tokens verified and issued per second on one core.

Beside it, in the same run, the floor: raw ``cryptography`` Ed25519 verification
of the very same signatures over the very same signed bytes. The target
(issue 2) is verification at >= 90% of the raw rate, i.e. parsing, Base45 and
CBOR must be small beside the signature check.

    python bench/ticket_format.py            # full run (~1 minute)
    python bench/ticket_format.py --quick    # a few seconds

Prints a Markdown table; ``--write`` replaces this benchmark's section in
bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.results import machine_line, replace_section
from ticket_format import Keyring, SigningKey, TicketClaims, issue, verify
from ticket_format import base45 as fast_base45
from ticket_format.qr import qr_version
from ticket_format.token import _parse_sign1, _sig_structure

SECTION = "Ticket format (issue 2)"


def realistic_claims(i: int) -> TicketClaims:
    return TicketClaims(
        ticket_id=str(uuid.UUID(int=(0x3F1C8A529D4E4B6A8F0E2B7C5D9E0000 + i))),
        event_id=412,
        session_id=1003,
        zone=("VIP-A", "A", "B", "C")[i % 4],
        seat=f"{chr(65 + i % 20)}-{i % 40 + 1:02d}-{i % 30 + 1:02d}",
        ticket_type=("adult", "child", "vip")[i % 3],
        valid_from=1_795_000_000,
        valid_until=1_795_030_000,
        version=1 + i % 3,
    )


def rate(work: Callable[[], int], seconds: float, repeats: int) -> float:
    """Best-of-``repeats`` operations per second; each repeat runs ``work`` for about ``seconds``."""
    rates = []
    for _ in range(repeats):
        done = 0
        start = time.perf_counter()
        while True:
            done += work()
            elapsed = time.perf_counter() - start
            if elapsed >= seconds:
                break
        rates.append(done / elapsed)
    return max(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short run for a smoke check")
    parser.add_argument("--write", action="store_true", help="write the result into bench/RESULTS.md")
    args = parser.parse_args()
    seconds, repeats, count = (0.5, 3, 500) if args.quick else (3.0, 5, 2000)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core

    key = SigningKey.generate()
    keyring = Keyring([key.trusted()])
    claims = [realistic_claims(i) for i in range(count)]
    tokens = [issue(c, key) for c in claims]
    public = key.private_key.public_key()
    raw = []
    for token in tokens:
        protected, _, payload, signature = _parse_sign1(fast_base45.decode(token[4:]))
        raw.append((signature, _sig_structure(protected, payload)))
    for token, expected in zip(tokens, claims, strict=True):
        assert verify(token, keyring) == expected

    def verify_all() -> int:
        for token in tokens:
            verify(token, keyring)
        return len(tokens)

    def raw_all() -> int:
        for signature, signed in raw:
            public.verify(signature, signed)
        return len(raw)

    def issue_all() -> int:
        for c in claims:
            issue(c, key)
        return len(claims)

    # Interleave the two verification measurements so drift hits both alike.
    verify_rates, raw_rates = [], []
    for _ in range(repeats):
        raw_rates.append(rate(raw_all, seconds, 1))
        verify_rates.append(rate(verify_all, seconds, 1))
    verify_rate, raw_rate = max(verify_rates), max(raw_rates)
    issue_rate = rate(issue_all, seconds, repeats)
    lengths = [len(t) for t in tokens]
    versions = sorted({qr_version(t) for t in tokens[:200]})

    ratio = verify_rate / raw_rate
    median_ratio = statistics.median(verify_rates) / statistics.median(raw_rates)
    rows = [
        ("tokens verified per second (`ticket_format.verify`)", f"{verify_rate:,.0f}"),
        ("raw Ed25519 verifications per second (the floor)", f"{raw_rate:,.0f}"),
        ("verify rate as a share of the raw rate (target >= 90%)", f"{ratio:.1%}"),
        (
            "median of the paired repeats (verify / raw)",
            f"{median_ratio:.1%}",
        ),
        ("per-token overhead beside the signature check", f"{(1 / verify_rate - 1 / raw_rate) * 1e6:.1f} us"),
        ("tokens issued per second", f"{issue_rate:,.0f}"),
        ("token length (characters)", f"{min(lengths)}-{max(lengths)}"),
        ("QR version at ECC M", ", ".join(map(str, versions))),
    ]
    table = ["| measure | value |", "|---|---|", *[f"| {name} | {value} |" for name, value in rows]]
    body = "\n".join(
        [
            machine_line(),
            f"Command: `python bench/ticket_format.py{' --quick' if args.quick else ''}` "
            f"({count} distinct realistic reserved-seat tokens, best of {repeats} runs of {seconds} s, "
            "pinned to one core; Python "
            f"{platform.python_version()}).",
            "",
            *table,
            "",
            "Peer: pretix's signed-ticket parser reaches about 8,500 per second on this kind of machine "
            "(shared/research/pretix.md).",
        ]
    )
    print(body)
    if args.write:
        replace_section(SECTION, body)


if __name__ == "__main__":
    main()
