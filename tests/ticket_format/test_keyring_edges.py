"""The keyring file format at its edges, written to kill mutants of ticket_format/keys.py.

The JSON a verifier trusts is a contract between the box office and every gate, so its exact
form for the RFC 8032 test key is fixed here, and each refusal is checked by its reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ticket_format import Keyring, SigningKey
from ticket_format.keys import KeyFileError, TrustedKey

SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
KEY = SigningKey(Ed25519PrivateKey.from_private_bytes(SEED))
ENTRY = {
    "kid": "21fe31df",
    "alg": "EdDSA",
    "crv": "Ed25519",
    "public_key": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
    "valid_from": 100,
    "valid_until": 200,
}


def test_a_trusted_key_as_json_is_fixed() -> None:
    assert KEY.trusted(100, 200).to_json() == ENTRY
    assert TrustedKey.from_json(ENTRY) == KEY.trusted(100, 200)
    assert TrustedKey.from_json({"public_key": ENTRY["public_key"]}) == KEY.trusted()


def test_validity_window_edges() -> None:
    key = KEY.trusted(100, 200)
    assert [key.valid_at(t) for t in (99.5, 100, 200, 200.5)] == [False, True, True, False]
    assert KEY.trusted().valid_at(0) and KEY.trusted(None, 5).valid_at(5)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ([], "each keyring entry must be an object"),
        (ENTRY | {"alg": "ES256"}, "only EdDSA / Ed25519 keys are supported"),
        (ENTRY | {"crv": "P-256"}, "only EdDSA / Ed25519 keys are supported"),
        ({"kid": "21fe31df"}, "keyring entry without 'public_key'"),
        (ENTRY | {"public_key": "AAAA"}, "'public_key' is not a base64url Ed25519 public key"),
        (ENTRY | {"valid_from": "100"}, "'valid_from' must be Unix seconds or null"),
        (ENTRY | {"valid_until": True}, "'valid_until' must be Unix seconds or null"),
        (ENTRY | {"kid": "00000000"}, "key id '00000000' does not match its public key"),
    ],
)
def test_each_refused_entry_names_its_reason(data: Any, reason: str) -> None:
    with pytest.raises(KeyFileError) as refused:
        TrustedKey.from_json(data)
    assert str(refused.value) == reason


def test_keyring_file_round_trip_and_refusals(tmp_path: Path) -> None:
    ring = Keyring([KEY.trusted(100, 200)])
    path = tmp_path / "keyring.json"
    path.write_text(ring.dumps(), encoding="utf-8")
    assert ring.dumps().startswith('{\n  "format": "encore-keyring/1",\n  "keys": [\n    {')
    read = Keyring.read(path)
    assert len(read) == 1 and list(read) == list(ring)
    assert read.candidates(KEY.kid) == [KEY.trusted(100, 200)]
    assert read.candidates(b"\x00\x00\x00\x00") == []
    with pytest.raises(KeyFileError) as missing:
        Keyring.read(tmp_path / "nowhere.json")
    assert str(missing.value) == f"cannot read keyring {tmp_path / 'nowhere.json'}: No such file or directory"
    (tmp_path / "latin.json").write_bytes(b"\xff\xfe")
    with pytest.raises(KeyFileError) as latin:
        Keyring.read(tmp_path / "latin.json")
    assert str(latin.value) == f"keyring {tmp_path / 'latin.json'} is not UTF-8 text"
