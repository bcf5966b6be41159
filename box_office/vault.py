"""Encryption at rest for what a database dump must not reveal: holder identities, private keys.

Fernet (AES-128-CBC + HMAC-SHA256 from ``cryptography``) with the key from configuration.
Tokens are hashed (SHA-256) before they are stored, so the database never holds a usable one.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken


class VaultError(ValueError):
    """Ciphertext that does not decrypt under the configured key (wrong key or tampering)."""


class Vault:
    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    def seal(self, data: bytes) -> bytes:
        return self._fernet.encrypt(data)

    def open(self, token: bytes) -> bytes:
        try:
            return self._fernet.decrypt(token)
        except InvalidToken:
            raise VaultError("cannot decrypt: wrong BOX_OFFICE_SECRET_KEY or damaged data") from None

    def seal_json(self, value: Any) -> bytes:
        return self.seal(json.dumps(value, ensure_ascii=False).encode("utf-8"))

    def open_json(self, token: bytes) -> Any:
        return json.loads(self.open(token))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
