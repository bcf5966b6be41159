"""The signed ticket shared by the box office (which issues it) and the gates (which verify it).

See DESIGN.md, contract 1. The public API:

- :class:`TicketClaims`: what a ticket says (no personal data);
- :class:`SigningKey`, :class:`TrustedKey`, :class:`Keyring`: Ed25519 keys with key ids;
- :func:`issue` / :func:`verify`: claims <-> ``EN1:`` token text;
- :class:`TicketError` / :class:`ErrorKind`: why a token was refused, as a verdict code;
- :mod:`ticket_format.qr`: QR rendering; :mod:`ticket_format.identity`: real-name digests.
"""

from ticket_format.claims import TicketClaims
from ticket_format.errors import ErrorKind, TicketError
from ticket_format.keys import KeyFileError, Keyring, SigningKey, TrustedKey, key_id
from ticket_format.token import PREFIX, issue, verify, verify_cose

__all__ = [
    "PREFIX",
    "ErrorKind",
    "KeyFileError",
    "Keyring",
    "SigningKey",
    "TicketClaims",
    "TicketError",
    "TrustedKey",
    "issue",
    "key_id",
    "verify",
    "verify_cose",
]
