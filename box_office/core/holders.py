"""Holder identity on real-name tickets: parse, normalise, digest, mask, and what to seal. No I/O.

Checkout (a holder per ticket) and after-sales (a new holder named later) both call
:func:`identify`, so the two can never disagree about what a valid holder is, how the gates'
digests are made, or what screens and e-mails may show. Sealing (encrypting :attr:`Holder.sealed`
with the vault's key) is left to the caller, which has the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from box_office.core.errors import RuleError
from ticket_format.identity import (
    HolderDigests,
    IdentityError,
    id_digest,
    name_digest,
    normalize_name,
    parse_id,
    seal_identity,
)
from ticket_format.token import signature_of


@dataclass(frozen=True, slots=True)
class Holder:
    """A validated holder: what is stored (sealed), shown (masked) and sent to gates (digests)."""

    sealed: dict[str, Any]
    """The plain identity to encrypt at rest: name as typed, ID type and normalised number."""
    masked: str
    """Name and ID number with most characters hidden, for screens and e-mails."""
    masked_id: str
    id_digest: str
    name_digest: str


def identify(identity_key: bytes, name: str, id_type: str, id_number: str) -> Holder:
    """Validate a holder and derive everything stored about them; RuleError ``bad_identity``."""
    try:
        document = parse_id(id_type, id_number)
        normalize_name(name)
    except IdentityError as exc:
        raise RuleError("bad_identity", str(exc)) from None
    shown_name = name.strip()
    return Holder(
        sealed={"name": shown_name, "id_type": document.id_type.value, "id_number": document.number},
        masked=f"{mask_name(shown_name)} {document.masked}",
        masked_id=document.masked,
        id_digest=id_digest(identity_key, document),
        name_digest=name_digest(identity_key, name),
    )


def mask_name(name: str) -> str:
    """A holder's name as shown on screens and e-mails: first letter of each part, rest hidden."""
    parts = name.split()
    if len(parts) <= 1:
        return name[:1] + "*" * max(1, len(name) - 1)
    return " ".join(p[:1] + "*" * max(1, len(p) - 1) for p in parts)


def seal_for_gates(token: str, ticket_id: str, id_digest_hex: str | None, name_digest_hex: str | None) -> str:
    """The holder's digests sealed under the ticket's own signature (contract 3): only the
    ticket's QR opens them at a gate, so a stolen gate or sync server cannot test guesses."""
    holder = HolderDigests(id_digest=id_digest_hex, name_digest=name_digest_hex)
    return seal_identity(signature_of(token), ticket_id, holder)
