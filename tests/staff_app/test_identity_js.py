"""Identity in the app: the sealed per-ticket holder identity (the `gates` change to contract 3)
opened in the browser, and non-ticket scans journalled without their text.

The seal is made here in Python exactly as that change specifies (HKDF-SHA256 over the COSE
signature, salt ``encore-identity-v1``, info and associated data the ticket id; AES-256-GCM;
``version || nonce || ciphertext`` as unpadded base64url), and opened by the app's identity.js.
"""

from __future__ import annotations

import base64
import os
from typing import Any

import cbor2
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from tests.staff_app.conftest import EVENT, enrol_by_code, open_app, phone, scan, wait_synced
from ticket_format import base45
from ticket_format.identity import id_digest, name_digest, parse_id

pytestmark = pytest.mark.browser
KEY = bytes(range(32))
HOLDER_ID, HOLDER_NAME = "11010519491231002X", "欧阳娜娜"


def signature_of(token: str) -> bytes:
    message = cbor2.loads(base45.decode(token[4:]))
    return bytes(message.value[3])


def seal(signature: bytes, ticket_id: str, digests: dict[int, bytes]) -> str:
    info = ticket_id.encode("utf-8")
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"encore-identity-v1", info=info).derive(signature)
    nonce = os.urandom(12)
    blob = b"\x01" + nonce + AESGCM(key).encrypt(nonce, cbor2.dumps(digests), info)
    return base64.urlsafe_b64encode(blob).rstrip(b"=").decode("ascii")


OPEN_AND_DECIDE = """
async ({ keyring, token, record, identityKey, shown, gate, now }) => {
  const { Keyring, verifyToken } = await import('/staff/ticket.js');
  const { decide } = await import('/staff/rules.js');
  const { presentedIdentity, recordForRules } = await import('/staff/identity.js');
  const { claims, signature } = await verifyToken(token, new Keyring(keyring), now);
  const prepared = await recordForRules(record, signature);
  const presented = shown ? await presentedIdentity(identityKey, shown) : null;
  return decide(claims, prepared, null, gate, now, presented).verdict;
}
"""


async def test_a_sealed_holder_identity_opens_only_with_its_own_ticket(
    server: Any, tickets: Any, launch: Any
) -> None:
    from ticket_format import Keyring

    ids = tickets.make(2)
    own, other = (tickets.tokens[i] for i in ids)
    digests = {
        1: bytes.fromhex(id_digest(KEY, parse_id("cn_ric", HOLDER_ID))),
        2: bytes.fromhex(name_digest(KEY, HOLDER_NAME)),
    }
    record = {
        "ticket_id": ids[0],
        "version": 1,
        "event_id": EVENT,
        "status": "valid",
        "real_name": True,
        "identity_sealed": seal(signature_of(own), ids[0], digests),
    }
    other_record = {
        **record,
        "ticket_id": ids[1],
        "identity_sealed": seal(signature_of(other), ids[0], digests),
    }
    gate = {"gate_id": "g", "event_id": EVENT, "direction": "in", "clock_skew": 300}
    base = {"keyring": Keyring([tickets.key.trusted()]).to_json(), "identityKey": KEY.hex(), "gate": gate}
    browser = await launch()
    _, page = await phone(browser, server)
    await open_app(page, server)
    shown = {"id_type": "cn_ric", "id_number": HOLDER_ID, "name": HOLDER_NAME}

    async def verdict(token: str, rec: dict[str, Any], who: dict[str, str] | None) -> str:
        import time

        args = {**base, "token": token, "record": rec, "shown": who, "now": time.time()}
        return str(await page.evaluate(OPEN_AND_DECIDE, args))

    assert await verdict(own, record, None) == "identity_required"
    assert await verdict(own, record, shown) == "ok"
    assert await verdict(own, record, {**shown, "id_number": "110105198001011000"}) == "identity_mismatch"
    # sealed under another ticket's signature: it does not open, so nothing can match
    assert await verdict(other, other_record, shown) == "identity_mismatch"


async def test_a_non_ticket_scan_is_journalled_without_its_text(
    server: Any, tickets: Any, launch: Any
) -> None:
    tickets.make(1)
    server.store.upsert_tickets(tickets.records())
    browser = await launch()
    _, page = await phone(browser, server)
    await open_app(page, server)
    await enrol_by_code(page, server)
    await wait_synced(page)
    typed = await scan(page, HOLDER_ID)  # an ID number typed into the ticket field
    assert typed["verdict"] == "malformed"
    assert typed["details"] == {"sample": typed["details"]["sample"]}
    sample = typed["details"]["sample"]
    assert sample["length"] == 18 and sample["shape"] == "9{17}A" and "prefix" not in sample
    journal = await page.evaluate("() => encoreStaff.store.allScans()")
    assert HOLDER_ID not in repr(journal)
    link = await scan(page, "https://example.com/pay?u=13800138000")
    assert link["details"]["sample"]["prefix"] == "https://"
    assert "13800138000" not in repr(await page.evaluate("() => encoreStaff.store.allScans()"))
