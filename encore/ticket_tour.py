"""A walk through the signed ticket: keys, issuing, QR codes, verification, forgery.

Until the services run together (``encore demo``), this is what the README's
first command shows a new user. Everything it does goes through the same
public API the services use; files land in the output directory.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

from ticket_format import Keyring, SigningKey, TicketClaims, TicketError, issue, verify
from ticket_format.qr import qr_version, save_qr


def run_tour(out: Path) -> int:
    """Issue three demo tickets into ``out``, verify them, and refuse a forged one."""
    out.mkdir(parents=True, exist_ok=True)
    key = SigningKey.generate()
    key_file = out / f"signing-key-{key.kid.hex()}.pem"
    key.write_pem(key_file)
    keyring = Keyring([key.trusted()])
    (out / "keyring.json").write_text(keyring.dumps() + "\n", encoding="utf-8")
    print(f"1. Made an Ed25519 signing key {key.kid.hex()} ({key_file}) and a keyring of trusted keys.")

    start = int(time.time())
    tickets = {
        "reserved-seat": TicketClaims(
            str(uuid.uuid4()), 412, 1003, "VIP-A", "B-12-07", "adult", start, start + 6 * 3600
        ),
        "general-admission": TicketClaims(
            str(uuid.uuid4()), 412, 1003, "FLOOR", None, "standing", start, start + 6 * 3600
        ),
        "child": TicketClaims(str(uuid.uuid4()), 412, 1003, "C", "F-03-11", "child", start, start + 6 * 3600),
    }
    print("2. Issued three tickets and rendered their QR codes:")
    tokens = {}
    for name, claims in tickets.items():
        token = issue(claims, key)
        tokens[name] = token
        png = out / f"{name}.png"
        save_qr(token, png)
        print(f"   {name:18} {len(token)} characters, QR version {qr_version(token)}-M -> {png}")
    (out / "tokens.json").write_text(json.dumps(tokens, indent=2) + "\n", encoding="utf-8")

    print("3. Verified each one offline, against the keyring alone:")
    for name, token in tokens.items():
        claims = verify(token, keyring)
        print(f"   {name:18} valid: zone {claims.zone}, seat {claims.seat or '(general admission)'}")

    original = tokens["reserved-seat"]
    forged = original[:-5] + ("00000" if not original.endswith("00000") else "11111")
    print("4. A forged copy (last characters changed) and a stranger's ticket are refused:")
    for label, token, ring in (
        ("forged", forged, keyring),
        ("other key", issue(tickets["child"], SigningKey.generate()), keyring),
    ):
        try:
            verify(token, ring)
        except TicketError as exc:
            print(f"   {label:18} refused: {exc.kind.value} ({exc.detail})")
        else:  # pragma: no cover - would be a security bug
            print(f"   {label:18} ACCEPTED - this is a bug")
            return 1
    print("\nTry it yourself:")
    print(f"  encore ticket verify '{tokens['child']}' --keyring {out}/keyring.json")
    return 0
