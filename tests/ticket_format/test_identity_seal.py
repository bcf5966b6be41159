"""Holder digests sealed per ticket (contract 3): only the ticket's own signature opens them."""

from __future__ import annotations

import base64

import pytest

from ticket_format import SigningKey, TicketClaims, issue
from ticket_format.identity import (
    HolderDigests,
    SealError,
    id_digest,
    name_digest,
    open_identity,
    parse_id,
    seal_identity,
)
from ticket_format.token import signature_of

KEY = b"k" * 32
HOLDER = HolderDigests(id_digest(KEY, parse_id("cn_ric", "11010519491231002X")), name_digest(KEY, "张三"))


def _token(ticket_id: str = "T-1", version: int = 1) -> str:
    return issue(TicketClaims(ticket_id=ticket_id, event_id="E", version=version), SigningKey.generate())


def test_the_presented_ticket_opens_its_seal() -> None:
    token = _token()
    sealed = seal_identity(signature_of(token), "T-1", HOLDER)
    assert open_identity(sealed, signature_of(token), "T-1") == HOLDER
    assert HOLDER.id_digest not in sealed and len(sealed) <= 90
    only_id = seal_identity(signature_of(token), "T-1", HolderDigests(id_digest=HOLDER.id_digest))
    assert open_identity(only_id, signature_of(token), "T-1") == HolderDigests(id_digest=HOLDER.id_digest)


def test_each_seal_has_its_own_nonce() -> None:
    signature = signature_of(_token())
    assert seal_identity(signature, "T-1", HOLDER) != seal_identity(signature, "T-1", HOLDER)


@pytest.mark.parametrize("other", ["another ticket", "the same ticket re-issued", "another ticket id"])
def test_no_other_ticket_opens_a_seal(other: str) -> None:
    token = _token()
    sealed = seal_identity(signature_of(token), "T-1", HOLDER)
    signature, ticket_id = {
        "another ticket": (signature_of(_token("T-2")), "T-1"),
        "the same ticket re-issued": (signature_of(_token("T-1", version=2)), "T-1"),
        "another ticket id": (signature_of(token), "T-2"),
    }[other]
    with pytest.raises(SealError):
        open_identity(sealed, signature, ticket_id)


def test_an_altered_or_foreign_seal_is_refused() -> None:
    signature = signature_of(_token())
    blob = bytearray(base64.urlsafe_b64decode(seal_identity(signature, "T-1", HOLDER) + "=="))
    blob[20] ^= 1
    altered = base64.urlsafe_b64encode(bytes(blob)).rstrip(b"=").decode()
    for bad in (altered, "", "not base64 !", "AQ", "x" * 500, altered.replace(altered[0], "B", 1)):
        with pytest.raises(SealError):
            open_identity(bad, signature, "T-1")
    with pytest.raises(SealError):
        open_identity(seal_identity(signature, "T-1", HOLDER), b"short", "T-1")
