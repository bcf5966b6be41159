"""Shared verdict vectors: signed tickets, gate settings and ticket states, each with the one
verdict every Encore gate must give (DESIGN contract 2).

The gate agent (Python, ``gate_agent.rules``) and the staff phone app (JavaScript,
``sync_server/staff/static/rules.js``) are tested against the same file, so they cannot drift
apart silently. The expected verdicts are written here by hand, not computed: the generator
only refuses to write a file that the Python gate disagrees with.

Everything is deterministic (fixed key seeds, fixed clock; Ed25519 signatures are
deterministic), so running it again rewrites the same bytes::

    python -m tests.vectors.make_verdicts            # rewrites tests/vectors/verdicts.json
    python -m tests.vectors.make_verdicts --check    # exit 1 if the file is out of date
"""

# ruff: noqa: E501  (the vector table reads best one case per line or two)

from __future__ import annotations

import argparse
import inspect
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gate_agent.config import GateConfig
from gate_agent.rules import PresentedIdentity, Usage, decide, refuse_token
from ticket_format import Keyring, SigningKey, TicketClaims, TicketError, base45, issue, verify
from ticket_format.identity import id_digest, name_digest, parse_id
from ticket_format.rotating import bind_device_key
from wire.snapshot import parse_ticket

FORMAT = "encore-verdict-vectors/1"
PATH = Path(__file__).with_name("verdicts.json")
NOW = 1_795_003_600
"""The scan time of every vector (Unix seconds), one hour into the tickets' validity window."""
EVENT = "evt-412"
SESSION = "1003"
IDENTITY_KEY = bytes(range(32))
HOLDER_ID = ("cn_ric", "11010519491231002X")
HOLDER_NAME = "欧阳 娜娜"


def _key(seed: int) -> SigningKey:
    return SigningKey(Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32))


TRUSTED = _key(1)
UNTRUSTED = _key(2)
DEVICE_PUBLIC = bytes(range(100, 132))
"""A phone's device public key as a bound ticket's ``dk`` claim carries it (any 32 bytes do
here: a static code is refused before the device key is ever used)."""
ROTATED_OUT = _key(3)
"""Trusted only until an hour before NOW: its tickets are ``unknown_key``."""


def keyring() -> Keyring:
    return Keyring([TRUSTED.trusted(), ROTATED_OUT.trusted(valid_until=NOW - 3600)])


def claims(**changes: Any) -> TicketClaims:
    base = {
        "ticket_id": "3f1c8a52-9d4e-4b6a-8f0e-2b7c5d9e1a34",
        "event_id": EVENT,
        "session_id": SESSION,
        "zone": "VIP-A",
        "seat": "B-12-07",
        "ticket_type": "adult",
        "valid_from": NOW - 3600,
        "valid_until": NOW + 5 * 3600,
        "version": 1,
    }
    base.update(changes)
    return TicketClaims(**base)


def record(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "ticket_id": "3f1c8a52-9d4e-4b6a-8f0e-2b7c5d9e1a34",
        "version": 1,
        "event_id": EVENT,
        "session_id": SESSION,
        "zone": "VIP-A",
        "seat": "B-12-07",
        "ticket_type": "adult",
        "status": "valid",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def gate(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "gate_id": "north-1",
        "event_id": EVENT,
        "session_id": SESSION,
        "direction": "in",
        "allowed_zones": [],
        "allowed_ticket_types": [],
        "reentry": "none",
        "clock_skew": 300,
        "require_in_snapshot": False,
        "static_codes": "allowed",
    }
    base.update(changes)
    return base


def real_name_record(**changes: Any) -> dict[str, Any]:
    return record(
        real_name=True,
        id_digest=id_digest(IDENTITY_KEY, parse_id(*HOLDER_ID)),
        name_digest=name_digest(IDENTITY_KEY, HOLDER_NAME),
        **changes,
    )


SEAL_SALT = b"encore-identity-v1"


def signature_of(token: str) -> bytes:
    """The COSE signature of a well-formed token (the key to its sealed identity)."""
    import cbor2

    return bytes(cbor2.loads(base45.decode(token[4:])).value[3])


def with_seal(token: str, rec: dict[str, Any]) -> dict[str, Any]:
    """The record carrying its holder digests both ways contract 3 has had them.

    In clear (``id_digest``/``name_digest``, the first release, what main's gate reads) and
    sealed under the ticket's signature (``identity_sealed``: HKDF-SHA256 over the COSE
    signature, salt ``encore-identity-v1``, info and associated data the ticket id;
    AES-256-GCM; base64url of ``1 || nonce || ciphertext`` of CBOR {1: id, 2: name}, 16 raw
    bytes each; the `gates` change). A gate of either kind reads the one it knows and ignores
    the other, so the expected verdicts hold for both. The nonce is derived from the token so
    the file is reproducible.
    """
    import base64
    import hashlib

    import cbor2
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    plain = {k: bytes.fromhex(rec[n]) for k, n in ((1, "id_digest"), (2, "name_digest")) if rec.get(n)}
    info = rec["ticket_id"].encode("utf-8")
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=SEAL_SALT, info=info).derive(signature_of(token))
    nonce = hashlib.sha256(token.encode()).digest()[:12]
    blob = b"\x01" + nonce + AESGCM(key).encrypt(nonce, cbor2.dumps(plain), info)
    return {**rec, "identity_sealed": base64.urlsafe_b64encode(blob).rstrip(b"=").decode("ascii")}


def _altered(token: str) -> str:
    """The token with one byte of the signed payload changed (a seat edited by hand)."""
    raw = bytearray(base45.decode(token[4:]))
    index = raw.find(b"B-12-07")
    raw[index + 2] = ord("3")  # B-13-07
    return "EN1:" + base45.encode(bytes(raw))


def _forged(token_claims: TicketClaims) -> str:
    """Signed by an attacker's key but carrying the trusted key's id."""
    import cbor2

    from ticket_format.token import _sig_structure

    protected = cbor2.dumps({1: -8, 4: TRUSTED.kid})
    payload = cbor2.dumps(token_claims.to_cbor_map())
    signature = UNTRUSTED.sign(_sig_structure(protected, payload))
    return "EN1:" + base45.encode(cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, signature])))


def vectors() -> list[dict[str, Any]]:
    valid = issue(claims(), TRUSTED)
    ga = issue(claims(zone="FLOOR", seat=None), TRUSTED)
    used = {"entries": 1, "inside": True, "first_at": NOW - 600, "first_gate": "south-2",
            "last_at": NOW - 600, "last_gate": "south-2"}  # fmt: skip
    out_again = {**used, "inside": False}
    cases: list[dict[str, Any]] = [
        {"name": "valid", "token": valid, "record": record(), "expected": "ok"},
        {"name": "valid, not in the snapshot", "token": valid, "record": None, "expected": "ok"},
        {"name": "valid general admission", "token": ga, "record": record(zone="FLOOR", seat=None),
         "expected": "ok"},
        {"name": "forged: signed by another key under the trusted key id", "token": _forged(claims()),
         "record": record(), "expected": "invalid_signature"},
        {"name": "altered: seat changed after signing", "token": _altered(valid), "record": record(),
         "expected": "invalid_signature"},
        {"name": "unknown key", "token": issue(claims(), UNTRUSTED), "record": record(),
         "expected": "unknown_key"},
        {"name": "key outside its validity window", "token": issue(claims(), ROTATED_OUT),
         "record": record(), "expected": "unknown_key"},
        {"name": "malformed: not a ticket", "token": "https://example.com/promo", "record": None,
         "expected": "malformed"},
        {"name": "malformed: bad Base45", "token": "EN1:%%%%", "record": None, "expected": "malformed"},
        {"name": "malformed: truncated", "token": valid[:-6], "record": None, "expected": "malformed"},
        {"name": "malformed: trailing bytes", "token": "EN1:" + base45.encode(base45.decode(valid[4:]) + b"\x00"),
         "record": None, "expected": "malformed"},
        {"name": "revoked (refunded)", "token": valid, "record": record(status="revoked"),
         "expected": "revoked"},
        {"name": "revoked: replaced by a newer version", "token": valid, "record": record(version=2),
         "expected": "revoked"},
        {"name": "newer version than the snapshot's revoked one", "token": issue(claims(version=2), TRUSTED),
         "record": record(status="revoked"), "expected": "ok"},
        {"name": "blocked", "token": valid, "record": record(status="blocked"), "expected": "blocked"},
        {"name": "wrong event", "token": issue(claims(event_id="evt-999"), TRUSTED), "record": None,
         "expected": "wrong_event"},
        {"name": "wrong event: integer id compared as text", "token": issue(claims(event_id=412), TRUSTED),
         "record": None, "gate": gate(event_id="412"), "expected": "ok"},
        {"name": "wrong session", "token": issue(claims(session_id="1004"), TRUSTED), "record": None,
         "expected": "wrong_event"},
        {"name": "wrong gate: zone not allowed", "token": valid, "record": record(),
         "gate": gate(allowed_zones=["FLOOR"]), "expected": "wrong_gate"},
        {"name": "wrong gate: ticket type not allowed", "token": valid, "record": record(),
         "gate": gate(allowed_ticket_types=["staff"]), "expected": "wrong_gate"},
        {"name": "allowed zone", "token": valid, "record": record(),
         "gate": gate(allowed_zones=["FLOOR", "VIP-A"]), "expected": "ok"},
        {"name": "expired", "token": issue(claims(valid_from=NOW - 7200, valid_until=NOW - 301), TRUSTED),
         "record": None, "expected": "expired"},
        {"name": "expired, but within the clock skew", "token": issue(claims(valid_from=NOW - 7200,
         valid_until=NOW - 299), TRUSTED), "record": None, "expected": "ok"},
        {"name": "not yet valid", "token": issue(claims(valid_from=NOW + 301, valid_until=NOW + 7200), TRUSTED),
         "record": None, "expected": "not_yet_valid"},
        {"name": "not yet valid, but within the clock skew", "token": issue(claims(valid_from=NOW + 299,
         valid_until=NOW + 7200), TRUSTED), "record": None, "expected": "ok"},
        {"name": "already used at another gate", "token": valid, "record": record(), "usage": used,
         "expected": "already_used"},
        {"name": "re-entry after exit allowed", "token": valid, "record": record(), "usage": out_again,
         "gate": gate(reentry="after_exit"), "expected": "ok"},
        {"name": "re-entry while inside refused", "token": valid, "record": record(), "usage": used,
         "gate": gate(reentry="after_exit"), "expected": "already_used"},
        {"name": "exit gate", "token": valid, "record": record(), "usage": used, "gate": gate(direction="out"),
         "expected": "exit_ok"},
        {"name": "not in the snapshot, snapshot required", "token": valid, "record": None,
         "gate": gate(require_in_snapshot=True), "expected": "revoked"},
        {"name": "real name: ID required", "token": valid, "record": real_name_record(),
         "expected": "identity_required"},
        {"name": "real name: ID matches", "token": valid, "record": real_name_record(),
         "identity": {"id_type": HOLDER_ID[0], "id_number": HOLDER_ID[1]}, "expected": "ok"},
        {"name": "real name: ID typed in lower case with spaces, and the name", "token": valid,
         "record": real_name_record(),
         "identity": {"id_type": "cn_ric", "id_number": "110105 19491231 002x", "name": "欧阳娜娜"},
         "expected": "ok"},
        {"name": "real name: ID of someone else", "token": valid, "record": real_name_record(),
         "identity": {"id_type": "cn_ric", "id_number": "110105198001011000"}, "expected": "identity_mismatch"},
        {"name": "real name: ID matches, name does not", "token": valid, "record": real_name_record(),
         "identity": {"id_type": HOLDER_ID[0], "id_number": HOLDER_ID[1], "name": "欧阳娜"},
         "expected": "identity_mismatch"},
        {"name": "real name: name only, but the ID is needed", "token": valid, "record": real_name_record(),
         "identity": {"name": HOLDER_NAME}, "expected": "identity_mismatch"},
        {"name": "real name: passport and Latin name, full-width and mixed case", "token": valid,
         "record": record(real_name=True,
                          id_digest=id_digest(IDENTITY_KEY, parse_id("passport", "E12345678")),
                          name_digest=name_digest(IDENTITY_KEY, "Anna Strauß")),
         "identity": {"id_type": "passport", "id_number": "ｅ１２３４５６７８", "name": "  ANNA   STRAUSS "},
         "expected": "ok"},
        {"name": "real name: transcribed name with an interpunct variant", "token": valid,
         "record": record(real_name=True, name_digest=name_digest(IDENTITY_KEY, "迪丽热巴·迪力木拉提")),
         "identity": {"name": "迪丽热巴・迪力木拉提"}, "expected": "ok"},
        {"name": "real name: already used comes before the ID check", "token": valid,
         "record": real_name_record(), "usage": used, "expected": "already_used"},
        {"name": "bound to a phone: its static code (a screenshot) is refused",
         "token": issue(bind_device_key(claims(), DEVICE_PUBLIC), TRUSTED), "record": record(),
         "expected": "stale_code"},
        {"name": "the event admits live codes only: a printed code is refused", "token": valid,
         "record": record(), "gate": gate(static_codes="refused"), "expected": "stale_code"},
        {"name": "a revoked bound ticket is refused as revoked first",
         "token": issue(bind_device_key(claims(), DEVICE_PUBLIC), TRUSTED),
         "record": record(status="revoked"), "expected": "revoked"},
    ]  # fmt: skip
    out = []
    for case in cases:
        if case["record"] is not None and case["record"].get("real_name"):
            case["record"] = with_seal(case["token"], case["record"])
        out.append(
            {
                "name": case["name"],
                "token": case["token"],
                "now": NOW,
                "gate": case.get("gate", gate()),
                "record": case["record"],
                "usage": case.get("usage", asdict(Usage())),
                "identity": case.get("identity"),
                "expected": case["expected"],
            }
        )
    return out


def document() -> dict[str, Any]:
    return {
        "format": FORMAT,
        "about": "Generated by tests/vectors/make_verdicts.py; do not edit by hand.",
        "keyring": keyring().to_json(),
        "identity_key": IDENTITY_KEY.hex(),
        "vectors": vectors(),
    }


def gate_verdict(vector: dict[str, Any], ring: Keyring, identity_key: bytes) -> str:
    """The verdict the gate agent's own code gives for one vector."""
    now = vector["now"]
    try:
        token_claims = verify(vector["token"], ring, now)
    except TicketError as error:
        return refuse_token(error).verdict.value
    g = vector["gate"]
    config = GateConfig(
        gate_id=g["gate_id"],
        event_id=g["event_id"],
        session_id=g["session_id"],
        device_id="vectors",
        direction=g["direction"],
        allowed_zones=tuple(g["allowed_zones"]),
        allowed_ticket_types=tuple(g["allowed_ticket_types"]),
        reentry=g["reentry"],
        clock_skew=float(g["clock_skew"]),
        require_in_snapshot=g["require_in_snapshot"],
        static_codes=g.get("static_codes", "allowed"),
    )
    rec = None if vector["record"] is None else parse_ticket(vector["record"])
    presented = None
    if vector["identity"] is not None:
        shown = vector["identity"]
        presented = PresentedIdentity(
            id_digest=id_digest(identity_key, parse_id(shown["id_type"], shown["id_number"]))
            if shown.get("id_number")
            else None,
            name_digest=name_digest(identity_key, shown["name"]) if shown.get("name") else None,
        )
    extra: dict[str, Any] = {}
    if "holder" in inspect.signature(decide).parameters:
        # contract 3 with sealed identities: the gate opens the record's seal with the
        # presented ticket's signature (gate_agent.pipeline), and passes what it holds
        extra["holder"] = _open_holder(rec, vector["token"], token_claims.ticket_id)
    return decide(token_claims, rec, Usage(**vector["usage"]), config, now, presented, **extra).verdict.value


def _open_holder(rec: Any, token: str, ticket_id: str) -> Any:
    import importlib

    sealed = getattr(rec, "identity_sealed", None)
    if sealed is None:
        return None
    identity = importlib.import_module("ticket_format.identity")
    try:
        return identity.open_identity(sealed, signature_of(token), ticket_id)
    except identity.SealError:
        return None


def render() -> str:
    doc = document()
    ring = Keyring.from_json(doc["keyring"])
    for vector in doc["vectors"]:
        got = gate_verdict(vector, ring, IDENTITY_KEY)
        if got != vector["expected"]:
            raise SystemExit(f"vector {vector['name']!r}: the gate says {got}, expected {vector['expected']}")
    return json.dumps(doc, ensure_ascii=False, indent=1) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if verdicts.json is out of date")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if not PATH.exists() or PATH.read_text(encoding="utf-8") != text:
            print(f"{PATH} is out of date: run python -m tests.vectors.make_verdicts", file=sys.stderr)
            return 1
        return 0
    PATH.write_text(text, encoding="utf-8")
    print(f"wrote {len(document()['vectors'])} vectors to {PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
