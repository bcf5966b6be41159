"""Known-answer vectors for live codes (``EN2:`` full, ``EN3:`` compact) and the verdicts a gate
gives them, with the ticket list's ``bound_payload`` (DESIGN contracts 1, 2 and 4).

Kept apart from ``verdicts.json``, which the staff phone app also runs: the staff app does not
decide live codes (it has no ``EN2:`` either), so these vectors are the gate agent's alone.
The expected verdicts are written by hand; the generator refuses to write a file that the gate
agent's real pipeline (a real store file, a fixed clock) disagrees with. Everything is
deterministic (fixed seeds, fixed clock, Ed25519), so a second run writes the same bytes::

    python -m tests.vectors.make_live_vectors            # rewrites tests/vectors/live_codes.json
    python -m tests.vectors.make_live_vectors --check    # exit 1 if the file is out of date
"""

# ruff: noqa: E501  (the vector table reads best one case per line or two)

from __future__ import annotations

import argparse
import base64
import dataclasses
import io
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import cbor2
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gate_agent.config import GateConfig
from gate_agent.pipeline import ScanPipeline
from gate_agent.store import GateStore
from tests.vectors.make_verdicts import EVENT, SESSION, TRUSTED, claims, keyring
from ticket_format import issue
from ticket_format.rotating import PERIOD, bind_device_key, bound_payload, compact_live_code, live_code
from wire.snapshot import SnapshotHeader, SnapshotReader, parse_ticket, write_snapshot

FORMAT = "encore-live-vectors/1"
PATH = Path(__file__).with_name("live_codes.json")
NOW = 1_795_003_605
"""The scan time (Unix seconds): exactly the start of step 119,666,907 (15 s steps), so the
skew cases below sit on the window's edges: a step ending 30 s ago or starting 30 s ahead."""
SKEW = 30
DEVICE_SEED = bytes([7]) * 32
OTHER_SEED = bytes([8]) * 32


def _device(seed: bytes) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(seed)


def _public(seed: bytes) -> bytes:
    return _device(seed).public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _record(token: str, **changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "ticket_id": "3f1c8a52-9d4e-4b6a-8f0e-2b7c5d9e1a34", "version": 2, "event_id": EVENT,
        "session_id": SESSION, "zone": "VIP-A", "seat": "B-12-07", "ticket_type": "adult",
        "status": "valid", "bound_payload": bound_payload(token),
    }  # fmt: skip
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def _tampered(payload_text: str) -> str:
    """The list's bytes with the phone key swapped for the other device's (and a better zone)."""
    protected, payload = cbor2.loads(base64.urlsafe_b64decode(payload_text + "=" * (-len(payload_text) % 4)))
    body = cbor2.loads(payload)
    body["dk"], body[4] = _public(OTHER_SEED), "VIP-S"
    return base64.urlsafe_b64encode(cbor2.dumps([protected, cbor2.dumps(body)])).rstrip(b"=").decode()


def tickets() -> tuple[str, str]:
    """The bound ticket (v2, reserved seat, device key of DEVICE_SEED) and a text-id one."""
    bound = issue(bind_device_key(claims(version=2), _public(DEVICE_SEED)), TRUSTED)
    text_id = issue(
        bind_device_key(claims(ticket_id="T-0001", seat=None, zone="FLOOR"), _public(DEVICE_SEED)), TRUSTED
    )
    return bound, text_id


def encodings() -> list[dict[str, Any]]:
    """Known answers: the codes a phone with DEVICE_SEED shows at ``now`` for ``token``."""
    out = []
    for name, token in zip(("reserved seat, UUID id", "general admission, text id"), tickets(), strict=True):
        for now in (NOW, NOW + PERIOD):
            out.append(
                {
                    "name": name,
                    "token": token,
                    "device_seed": DEVICE_SEED.hex(),
                    "now": now,
                    "bound_payload": bound_payload(token),
                    "en2": live_code(token, _device(DEVICE_SEED), now),
                    "en3": compact_live_code(token, _device(DEVICE_SEED), now),
                }
            )
    return out


def vectors() -> list[dict[str, Any]]:
    bound, _ = tickets()
    device, other = _device(DEVICE_SEED), _device(OTHER_SEED)
    en3 = compact_live_code(bound, device, NOW)
    en2 = live_code(bound, device, NOW)
    ok_record = _record(bound)
    cases: list[dict[str, Any]] = [
        {"name": "EN3 valid", "code": en3, "record": ok_record, "expected": "ok"},
        {"name": "EN3 phone clock 40 s behind (the step ended 30 s ago: skew edge)", "code": compact_live_code(bound, device, NOW - 40),
         "record": ok_record, "expected": "ok"},
        {"name": "EN3 screenshot replayed 60 s later", "code": compact_live_code(bound, device, NOW - 60),
         "record": ok_record, "expected": "stale_code"},
        {"name": "EN3 phone clock 35 s ahead (skew edge)", "code": compact_live_code(bound, device, NOW + 35),
         "record": ok_record, "expected": "ok"},
        {"name": "EN3 phone clock 50 s ahead", "code": compact_live_code(bound, device, NOW + 50),
         "record": ok_record, "expected": "stale_code"},
        {"name": "EN3 signed by another device key", "code": compact_live_code(bound, other, NOW),
         "record": ok_record, "expected": "invalid_signature"},
        {"name": "EN3 list has no signed bytes for the ticket", "code": en3,
         "record": _record(bound, bound_payload=None), "expected": "revoked"},
        {"name": "EN3 ticket not in the list", "code": en3, "record": None, "expected": "revoked"},
        {"name": "EN3 list behind: it holds v1", "code": en3, "record": _record(bound, version=1, bound_payload=None),
         "expected": "revoked"},
        {"name": "EN3 replaced by v3", "code": en3, "record": _record(bound, version=3), "expected": "revoked"},
        {"name": "EN3 tampered list: another phone key", "code": compact_live_code(bound, other, NOW),
         "record": _record(bound, bound_payload=_tampered(ok_record["bound_payload"])), "expected": "invalid_signature"},
        {"name": "EN3 tampered list, the real phone's code", "code": en3,
         "record": _record(bound, bound_payload=_tampered(ok_record["bound_payload"])), "expected": "invalid_signature"},
        {"name": "EN3 refunded", "code": en3, "record": _record(bound, status="revoked", bound_payload=None),
         "expected": "revoked"},
        {"name": "EN3 malformed", "code": en3[:-9], "record": ok_record, "expected": "malformed"},
        {"name": "EN2 full code valid, the list without signed bytes", "code": en2,
         "record": _record(bound, bound_payload=None), "expected": "ok"},
        {"name": "EN2 full code replayed 60 s later", "code": live_code(bound, device, NOW - 60),
         "record": ok_record, "expected": "stale_code"},
        {"name": "EN2 full code of another device key", "code": live_code(bound, other, NOW),
         "record": ok_record, "expected": "invalid_signature"},
        {"name": "EN1 static token of the bound ticket", "code": bound, "record": ok_record,
         "expected": "stale_code"},
    ]  # fmt: skip
    return [{**case, "now": NOW, "code_skew": SKEW} for case in cases]


def document() -> dict[str, Any]:
    return {
        "format": FORMAT,
        "about": "Generated by tests/vectors/make_live_vectors.py; do not edit by hand.",
        "period": PERIOD,
        "keyring": keyring().to_json(),
        "encodings": encodings(),
        "vectors": vectors(),
    }


def gate_verdict(vector: dict[str, Any], ring_json: dict[str, Any], directory: Path) -> str:
    """The verdict of the gate agent's real pipeline, with the vector's record as its list."""
    records = [] if vector["record"] is None else [parse_ticket(vector["record"])]
    header = SnapshotHeader(event_id=EVENT, session_id=SESSION, keyring=ring_json, cursor="1")
    buffer = io.StringIO()
    write_snapshot(buffer, header, records)
    path = directory / f"gate-{abs(hash(vector['name']))}.sqlite"
    with GateStore.open(path) as store:
        reader = SnapshotReader(io.StringIO(buffer.getvalue()))
        store.apply_snapshot(reader.header, reader)
        config = GateConfig(gate_id="north-1", event_id=EVENT, session_id=SESSION, device_id="vectors")
        config = dataclasses.replace(config, code_skew=float(vector["code_skew"]))
        pipe = ScanPipeline(store, config, clock=lambda: float(vector["now"]))
        return pipe.scan(vector["code"], source="vectors", repeat_window=0).verdict.value


def render() -> str:
    doc = document()
    with tempfile.TemporaryDirectory() as directory:
        for vector in doc["vectors"]:
            got = gate_verdict(vector, doc["keyring"], Path(directory))
            if got != vector["expected"]:
                raise SystemExit(
                    f"vector {vector['name']!r}: the gate says {got}, expected {vector['expected']}"
                )
    return json.dumps(doc, ensure_ascii=False, indent=1) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if live_codes.json is out of date")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if not PATH.exists() or PATH.read_text(encoding="utf-8") != text:
            print(f"{PATH} is out of date: run python -m tests.vectors.make_live_vectors", file=sys.stderr)
            return 1
        return 0
    PATH.write_text(text, encoding="utf-8")
    print(f"wrote {len(document()['vectors'])} vectors to {PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
