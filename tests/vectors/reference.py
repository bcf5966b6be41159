"""The identity digest written out from DESIGN contract 3, independently of ``ticket_format``.

Tests compare what the code computes against this, never against the function under test:
``HMAC-SHA256(key, "id|" + type + ":" + NUMBER)`` or ``"name|" + normalised name``, the first
16 bytes in lower-case hex.
"""

from __future__ import annotations

import hashlib
import hmac


def reference_digest(key: bytes, text: str) -> str:
    """The first 16 bytes of HMAC-SHA256 of ``text`` (UTF-8) under ``key``, as hex."""
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()[:16].hex()


def reference_id_digest(key: bytes, id_type: str, normalised_number: str) -> str:
    return reference_digest(key, f"id|{id_type}:{normalised_number}")


def reference_name_digest(key: bytes, normalised_name: str) -> str:
    return reference_digest(key, f"name|{normalised_name}")
