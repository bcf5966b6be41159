"""Key ids, keyrings (rotation, validity windows, JSON), and PEM files."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ticket_format import (
    ErrorKind,
    KeyFileError,
    Keyring,
    SigningKey,
    TicketClaims,
    TicketError,
    issue,
    verify,
)

CLAIMS = TicketClaims(ticket_id="K-1", event_id=1)


def test_key_id_is_stable_across_serialisation():
    key = SigningKey.generate()
    again = SigningKey.from_pem(key.to_pem())
    assert again.kid == key.kid and len(key.kid) == 4
    ring = Keyring.loads(Keyring([key.trusted()]).dumps())
    assert [k.kid for k in ring] == [key.kid]


def test_rotation_trusts_old_and_new_keys_at_once():
    old, new = SigningKey.generate(), SigningKey.generate()
    ring = Keyring([old.trusted(), new.trusted()])
    assert verify(issue(CLAIMS, old), ring).ticket_id == "K-1"
    assert verify(issue(CLAIMS, new), ring).ticket_id == "K-1"
    only_new = Keyring([new.trusted()])
    with pytest.raises(TicketError) as caught:
        verify(issue(CLAIMS, old), only_new)
    assert caught.value.kind is ErrorKind.UNKNOWN_KEY


def test_key_validity_window_is_enforced():
    key = SigningKey.generate()
    ring = Keyring([key.trusted(valid_from=1000, valid_until=2000)])
    token = issue(CLAIMS, key)
    assert verify(token, ring, now=1500).ticket_id == "K-1"
    for outside in (999, 2001):
        with pytest.raises(TicketError) as caught:
            verify(token, ring, now=outside)
        assert caught.value.kind is ErrorKind.UNKNOWN_KEY
        assert "validity window" in caught.value.detail


def test_pem_is_written_owner_only_and_never_over_a_file(tmp_path: Path):
    key = SigningKey.generate()
    path = tmp_path / "k.pem"
    key.write_pem(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert SigningKey.read_pem(path).kid == key.kid
    with pytest.raises(FileExistsError):
        SigningKey.generate().write_pem(path)


def test_a_non_ed25519_pem_is_refused_clearly(tmp_path: Path):
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(KeyFileError, match="not Ed25519"):
        SigningKey.from_pem(pem)
    with pytest.raises(KeyFileError, match="PEM"):
        SigningKey.from_pem(b"hello")


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("[]", "not a keyring"),
        ('{"format": "encore-keyring/1"}', "'keys'"),
        ('{"format": "encore-keyring/1", "keys": [{"public_key": "!!"}]}', "base64url"),
        ('{"format": "encore-keyring/1", "keys": [{"public_key": "AAAA", "alg": "ES256"}]}', "EdDSA"),
        ("{", "not valid JSON"),
    ],
)
def test_bad_keyrings_are_refused_with_a_message(document: str, message: str):
    with pytest.raises(KeyFileError, match=message):
        Keyring.loads(document)


def test_a_keyring_entry_whose_kid_does_not_match_is_refused():
    entry = SigningKey.generate().trusted().to_json()
    entry["kid"] = "00000000"
    with pytest.raises(KeyFileError, match="does not match"):
        Keyring.loads(json.dumps({"format": "encore-keyring/1", "keys": [entry]}))
