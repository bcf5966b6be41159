"""Ed25519 signing keys, key ids, and the keyring of trusted public keys.

Only the box office holds private keys (PKCS#8 PEM files, owner-only). Gates
hold a :class:`Keyring`: public keys with their key ids and optional validity
windows, distributed as JSON in the snapshot, so that keys can rotate and
several can be trusted at once.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

KEYRING_FORMAT = "encore-keyring/1"
KID_LENGTH = 4
"""Key ids are the first 4 bytes of SHA-256 of the raw public key: enough to pick
one key among the handful an event trusts, and 4 bytes less in every QR code
than 8. On a collision every key with that id is tried."""


class KeyFileError(ValueError):
    """A key or keyring file that cannot be used, with a message for people."""


def key_id(public_key: Ed25519PublicKey) -> bytes:
    """The stable key id of a public key."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).digest()[:KID_LENGTH]


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A private Ed25519 key with its key id."""

    private_key: Ed25519PrivateKey

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    @property
    def kid(self) -> bytes:
        return key_id(self.private_key.public_key())

    def sign(self, message: bytes) -> bytes:
        return self.private_key.sign(message)

    def trusted(self, valid_from: int | None = None, valid_until: int | None = None) -> TrustedKey:
        """The public half, as a keyring entry."""
        return TrustedKey(self.private_key.public_key(), valid_from, valid_until)

    def to_pem(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    @classmethod
    def from_pem(cls, pem: bytes) -> SigningKey:
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise KeyFileError(f"not a usable unencrypted PEM private key ({exc})") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyFileError(f"the key is {type(key).__name__}, not Ed25519")
        return cls(key)

    def write_pem(self, path: Path) -> None:
        """Write the private key readable by its owner only (mode 0600), never over a file."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(self.to_pem())

    @classmethod
    def read_pem(cls, path: Path) -> SigningKey:
        try:
            return cls.from_pem(path.read_bytes())
        except OSError as exc:
            raise KeyFileError(f"cannot read key file {path}: {exc.strerror}") from None


@dataclass(frozen=True, slots=True)
class TrustedKey:
    """A public key a verifier trusts, optionally only within [valid_from, valid_until]."""

    public_key: Ed25519PublicKey
    valid_from: int | None = None
    valid_until: int | None = None

    @property
    def kid(self) -> bytes:
        return key_id(self.public_key)

    @property
    def has_window(self) -> bool:
        return self.valid_from is not None or self.valid_until is not None

    def valid_at(self, now: float) -> bool:
        if self.valid_from is not None and now < self.valid_from:
            return False
        return self.valid_until is None or now <= self.valid_until

    def to_json(self) -> dict[str, Any]:
        raw = self.public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return {
            "kid": self.kid.hex(),
            "alg": "EdDSA",
            "crv": "Ed25519",
            "public_key": base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii"),
            "valid_from": self.valid_from,
            "valid_until": self.valid_until,
        }

    @classmethod
    def from_json(cls, data: object) -> TrustedKey:
        if not isinstance(data, dict):
            raise KeyFileError("each keyring entry must be an object")
        if data.get("alg", "EdDSA") != "EdDSA" or data.get("crv", "Ed25519") != "Ed25519":
            raise KeyFileError("only EdDSA / Ed25519 keys are supported")
        encoded = data.get("public_key")
        if not isinstance(encoded, str):
            raise KeyFileError("keyring entry without 'public_key'")
        try:
            raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            public_key = Ed25519PublicKey.from_public_bytes(raw)
        except ValueError:
            raise KeyFileError("'public_key' is not a base64url Ed25519 public key") from None
        window = []
        for name in ("valid_from", "valid_until"):
            value = data.get(name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise KeyFileError(f"'{name}' must be Unix seconds or null")
            window.append(value)
        entry = cls(public_key, window[0], window[1])
        if "kid" in data and data["kid"] != entry.kid.hex():
            raise KeyFileError(f"key id {data['kid']!r} does not match its public key")
        return entry


class Keyring:
    """The public keys a verifier trusts, looked up by key id."""

    def __init__(self, keys: Iterable[TrustedKey] = ()) -> None:
        self._by_kid: dict[bytes, list[TrustedKey]] = {}
        self._windowed: set[bytes] = set()
        for key in keys:
            self.add(key)

    def add(self, key: TrustedKey) -> None:
        self._by_kid.setdefault(key.kid, []).append(key)
        if key.has_window:
            self._windowed.add(key.kid)

    def candidates(self, kid: bytes) -> list[TrustedKey]:
        """Every trusted key with this key id (usually one)."""
        return self._by_kid.get(kid, [])

    def trusted_at(self, kid: bytes, now: float | None) -> list[TrustedKey]:
        """The keys with this key id that are trusted at ``now`` (default: the current time).

        Keys without a validity window need no clock, which keeps the common
        case free of a system call.
        """
        keys = self._by_kid.get(kid, [])
        if kid not in self._windowed:
            return keys
        moment = time.time() if now is None else now
        return [key for key in keys if key.valid_at(moment)]

    def __iter__(self) -> Iterator[TrustedKey]:
        for keys in self._by_kid.values():
            yield from keys

    def __len__(self) -> int:
        return sum(len(keys) for keys in self._by_kid.values())

    def to_json(self) -> dict[str, Any]:
        return {"format": KEYRING_FORMAT, "keys": [key.to_json() for key in self]}

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2)

    @classmethod
    def from_json(cls, data: object) -> Keyring:
        if not isinstance(data, dict) or data.get("format") != KEYRING_FORMAT:
            raise KeyFileError(f"not a keyring (expected format {KEYRING_FORMAT!r})")
        keys = data.get("keys")
        if not isinstance(keys, list):
            raise KeyFileError("keyring without a 'keys' list")
        return cls(TrustedKey.from_json(entry) for entry in keys)

    @classmethod
    def loads(cls, text: str) -> Keyring:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise KeyFileError(f"keyring is not valid JSON ({exc})") from None
        return cls.from_json(data)

    @classmethod
    def read(cls, path: Path) -> Keyring:
        try:
            return cls.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise KeyFileError(f"cannot read keyring {path}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise KeyFileError(f"keyring {path} is not UTF-8 text") from None
