"""Live code vectors (``live_codes.json``): the encoders give the known answers, each answer
decodes by the contract written out here (cbor2 and the Ed25519 primitive, not the encoder),
and the gate agent's real pipeline gives every expected verdict."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.vectors.make_live_vectors import PATH, gate_verdict, render
from ticket_format import base45
from ticket_format.rotating import bound_payload, compact_live_code, live_code

DOCUMENT = json.loads(PATH.read_text(encoding="utf-8"))


def test_the_file_is_what_the_generator_writes() -> None:
    assert PATH.read_text(encoding="utf-8") == render(), "run: python -m tests.vectors.make_live_vectors"


def test_the_verdicts_cover_the_live_cases() -> None:
    expected = {v["expected"] for v in DOCUMENT["vectors"]}
    assert expected >= {"ok", "stale_code", "invalid_signature", "revoked", "malformed"}


@pytest.mark.parametrize("case", DOCUMENT["encodings"], ids=lambda c: f"{c['name']} @ {c['now']}")
def test_known_answers(case: dict[str, object]) -> None:
    token, now = str(case["token"]), float(case["now"])  # type: ignore[arg-type]
    device = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(str(case["device_seed"])))
    assert compact_live_code(token, device, now) == case["en3"]
    assert live_code(token, device, now) == case["en2"]
    assert bound_payload(token) == case["bound_payload"]
    # the contract, independently: EN3 = Base45(CBOR [id, version, step, ticket sig, device sig])
    message = cbor2.loads(base45.decode(token[4:]))
    protected, _unprotected, payload, ticket_sig = message.value
    ticket_id, version, step, sig, device_sig = cbor2.loads(base45.decode(str(case["en3"])[4:]))
    assert sig == ticket_sig and step == int(now // DOCUMENT["period"])
    claims = cbor2.loads(payload)
    assert ticket_id == claims[1] and version == claims.get(9, 1)
    device.public_key().verify(device_sig, b"encore-rotating-v2" + ticket_sig + step.to_bytes(8, "big"))
    text = str(case["bound_payload"])
    assert cbor2.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))) == [protected, payload]


@pytest.mark.parametrize("vector", DOCUMENT["vectors"], ids=[v["name"] for v in DOCUMENT["vectors"]])
def test_the_gate_gives_the_expected_verdict(vector: dict[str, object], tmp_path: Path) -> None:
    assert gate_verdict(vector, DOCUMENT["keyring"], tmp_path) == vector["expected"]
