"""The gate agent gives exactly the expected verdict on every shared vector.

The same file is run through the staff app's JavaScript in Chromium
(tests/staff_app/test_vectors_js.py); together they keep the two gates' verdicts identical.
"""

from __future__ import annotations

import json

import pytest

from tests.vectors.make_verdicts import PATH, render
from tests.vectors.make_verdicts import gate_verdict as python_gate_verdict
from ticket_format import Keyring

DOCUMENT = json.loads(PATH.read_text(encoding="utf-8"))
REQUIRED = {
    "ok", "invalid_signature", "unknown_key", "malformed", "revoked", "wrong_event", "wrong_gate",
    "expired", "not_yet_valid", "already_used", "identity_required", "identity_mismatch", "blocked",
    "exit_ok",
}  # fmt: skip


def test_the_vectors_file_is_what_the_generator_writes() -> None:
    assert PATH.read_text(encoding="utf-8") == render(), "run: python -m tests.vectors.make_verdicts"


def test_the_vectors_cover_every_verdict_the_issue_names() -> None:
    assert {v["expected"] for v in DOCUMENT["vectors"]} >= REQUIRED


@pytest.mark.parametrize("vector", DOCUMENT["vectors"], ids=[v["name"] for v in DOCUMENT["vectors"]])
def test_gate_agent_gives_the_expected_verdict(vector: dict[str, object]) -> None:
    ring = Keyring.from_json(DOCUMENT["keyring"])
    key = bytes.fromhex(DOCUMENT["identity_key"])
    assert python_gate_verdict(vector, ring, key) == vector["expected"]
