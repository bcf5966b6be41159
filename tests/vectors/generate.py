"""Write identity.json and tokens.json once; the vectors are then fixed in the repository.

Run ``python -m tests.vectors.generate`` only to add vectors, never to "fix" a failing test:
a change in these answers is a wire-format change that every gate in the field would notice.
The identity digests come from :mod:`tests.vectors.reference` (the contract written out with
``hmac``), with the normalised forms typed here by hand, so they do not depend on the code
under test. The tokens are issued once by ``ticket_format`` under a fixed key (Ed25519
signatures are deterministic) and also checked by pycose in the test.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.vectors.reference import reference_id_digest, reference_name_digest

HERE = Path(__file__).parent

IDENTITY_KEY_HEX = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
SIGNING_SEED_HEX = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
"""RFC 8032 section 7.1 test 1's secret key: public, so never a real key."""

# (id_type, as typed, normalised number)
IDS = [
    ("cn_ric", "11010519491231002X", "11010519491231002X"),
    ("cn_ric", "110105 19491231 002x", "11010519491231002X"),
    ("cn_ric", "110105198001010016", "110105198001010016"),
    ("passport", "e1234-5678", "E12345678"),
    ("hk_mo_permit", "H12345678", "H12345678"),
    ("hk_mo_permit", "m 1234567890", "M1234567890"),
    ("tw_permit", "１２３４５６７８", "12345678"),
]
# (name as typed, normalised name)
NAMES = [
    ("张三", "张三"),
    ("张 三", "张三"),
    ("  Zhang   San ", "zhang san"),
    ("ＺＨＡＮＧ　San", "zhang san"),
    ("阿卜杜・热合曼", "阿卜杜·热合曼"),
    ("买买提 • 艾力", "买买提·艾力"),
    ("José Álvarez", "josé álvarez"),
    ("張三", "張三"),
]
TOKEN_CLAIMS = [
    {
        "ticket_id": "3f1c8a52-9d4e-4b6a-8f0e-2b7c5d9e1a34",
        "event_id": 412,
        "session_id": 1003,
        "zone": "VIP-A",
        "seat": "B-12-07",
        "ticket_type": "adult",
        "valid_from": 1795000000,
        "valid_until": 1795030000,
        "version": 2,
    },
    {
        "ticket_id": "GA-000123",
        "event_id": "spring-tour-2027",
        "session_id": "SH-2",
        "zone": "FLOOR",
        "ticket_type": "standing",
        "valid_from": 1795000000,
        "valid_until": 1795100000,
        "version": 1,
    },
    {"ticket_id": "t-1", "event_id": 7, "version": 1, "gate": "north"},
]


def identity_vectors() -> dict[str, object]:
    key = bytes.fromhex(IDENTITY_KEY_HEX)
    return {
        "key_hex": IDENTITY_KEY_HEX,
        "ids": [
            {"id_type": t, "typed": typed, "normalised": norm, "id_digest": reference_id_digest(key, t, norm)}
            for t, typed, norm in IDS
        ],
        "names": [
            {"typed": typed, "normalised": norm, "name_digest": reference_name_digest(key, norm)}
            for typed, norm in NAMES
        ],
    }


def token_vectors() -> dict[str, object]:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from ticket_format import SigningKey, TicketClaims, issue

    key = SigningKey(Ed25519PrivateKey.from_private_bytes(bytes.fromhex(SIGNING_SEED_HEX)))
    return {
        "seed_hex": SIGNING_SEED_HEX,
        "kid_hex": key.kid.hex(),
        "tokens": [
            {"claims": claims, "token": issue(TicketClaims.from_json(claims), key)} for claims in TOKEN_CLAIMS
        ],
    }


def main() -> None:
    for name, data in (("identity.json", identity_vectors()), ("tokens.json", token_vectors())):
        text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
        (HERE / name).write_text(text, encoding="utf-8")
        print(f"wrote {HERE / name}")


if __name__ == "__main__":
    main()
