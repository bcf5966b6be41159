"""Real-name identity: ID validation, normalisation, and keyed digests (DESIGN contract 3).

The box office validates and stores the holder's name and ID number (encrypted).
Gates receive only HMAC-SHA256 digests keyed per event, of the *normalised*
values, so a gate compares digests of what it reads against the snapshot and a
stolen gate exposes neither names nor ID numbers.

Normalisation is what makes "the same person" compare equal whichever way the
name or number was typed or read:

- names: Unicode NFKC (full-width letters and spaces become ASCII), case-folded,
  runs of white space collapsed, the interpunct variants used in transcribed
  minority and foreign names (``·`` ``・`` ``•`` ``．``) unified to ``·``, and
  spaces next to CJK characters or the interpunct removed; Chinese characters
  are otherwise unchanged (no simplified/traditional folding: documents are
  matched as issued).
- ID numbers: a type plus the number, NFKC, upper-case, spaces and hyphens
  removed; validated per type (the resident ID with its check digit through
  python-stdnum).

Sealed per ticket (contract 3). Digests alone are not enough: a gate must hold the
event key to digest what it reads, and names are few, so whoever has a gate's
database could try every likely name (20 surnames x every CJK character is 420k
keyed hashes, under a second). So the box office seals each ticket's digests under
a key only that ticket's QR code yields: HKDF-SHA256 over the COSE signature bytes
(salt ``encore-identity-v1``, info the ticket id), AES-256-GCM with the ticket id as
associated data. A gate opens the seal only when the ticket is presented
(:func:`open_identity`); the seal in its database, the event key and every other key
on the device reveal nothing without the QR codes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

import cbor2
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from stdnum.cn import ric
from stdnum.exceptions import ValidationError

DIGEST_BYTES = 16
"""128-bit digests: ample against collisions among one event's holders, and
half the size of the snapshot column a full SHA-256 would need."""


class IdType(StrEnum):
    """Identity documents accepted for real-name tickets."""

    CN_RESIDENT_ID = "cn_ric"  # 居民身份证, also the 18-digit HK/Macau/Taiwan residence permits
    PASSPORT = "passport"
    HK_MACAU_PERMIT = "hk_mo_permit"  # 港澳居民来往内地通行证 (H/M + 8 or 10 digits)
    TAIWAN_PERMIT = "tw_permit"  # 台湾居民来往大陆通行证 (8 digits)


class IdentityError(ValueError):
    """An ID number or name that cannot be accepted, with a message for the buyer."""


_PATTERNS = {
    IdType.PASSPORT: re.compile(r"[A-Z0-9<]{5,20}"),
    IdType.HK_MACAU_PERMIT: re.compile(r"[HM]\d{8}(\d{2})?"),
    IdType.TAIWAN_PERMIT: re.compile(r"\d{8}"),
}
_INTERPUNCTS = str.maketrans({"・": "·", "•": "·", "．": "·", "‧": "·", "∙": "·", "⋅": "·"})
_SPACES = re.compile(r"\s+")
_CJK_SPACE = re.compile(r"(?<=[\u3400-\u9fff\uf900-\ufaff·]) | (?=[\u3400-\u9fff\uf900-\ufaff·])")
_MAX_NAME = 100


@dataclass(frozen=True, slots=True)
class IdDocument:
    """A validated, normalised identity document: type and number."""

    id_type: IdType
    number: str

    @property
    def canonical(self) -> str:
        """The text that is digested: ``type:NUMBER``."""
        return f"{self.id_type.value}:{self.number}"

    @property
    def masked(self) -> str:
        """The number for display: a resident ID keeps its first 4 characters (province and city,
        as Chinese ticketing shows it: ``1101**********002X``) and last 4; any other document its
        first 3 and last 4; a short number shows nothing."""
        if len(self.number) <= 7:
            return "*" * len(self.number)
        head = 4 if self.id_type is IdType.CN_RESIDENT_ID else 3
        return self.number[:head] + "*" * (len(self.number) - head - 4) + self.number[-4:]


def parse_id(id_type: str, number: str) -> IdDocument:
    """Validate and normalise an ID; raises :class:`IdentityError` with the reason."""
    try:
        kind = IdType(id_type)
    except ValueError:
        accepted = ", ".join(t.value for t in IdType)
        raise IdentityError(f"unknown ID type {id_type!r} (accepted: {accepted})") from None
    if not isinstance(number, str):
        raise IdentityError("the ID number must be text")
    cleaned = unicodedata.normalize("NFKC", number).upper()
    cleaned = cleaned.replace(" ", "").replace("-", "")
    if kind is IdType.CN_RESIDENT_ID:
        try:
            cleaned = ric.validate(cleaned)
        except ValidationError as exc:
            raise IdentityError(f"not a valid resident ID number: {exc}") from None
    elif not _PATTERNS[kind].fullmatch(cleaned):
        raise IdentityError(f"not a valid {kind.value} number")
    return IdDocument(kind, cleaned)


def normalize_name(name: str) -> str:
    """The comparable form of a person's name; raises :class:`IdentityError` if empty."""
    if not isinstance(name, str):
        raise IdentityError("the name must be text")
    text = unicodedata.normalize("NFKC", name).translate(_INTERPUNCTS)
    text = _SPACES.sub(" ", text).strip().casefold()
    text = _CJK_SPACE.sub("", text)
    if not text:
        raise IdentityError("the name is empty")
    if len(text) > _MAX_NAME:
        raise IdentityError(f"the name is longer than {_MAX_NAME} characters")
    if any(unicodedata.category(ch).startswith("C") for ch in text):
        raise IdentityError("the name contains control characters")
    return text


def digest(key: bytes, text: str) -> str:
    """Hex HMAC-SHA256 of ``text`` under the event's identity key, truncated to 16 bytes."""
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()[:DIGEST_BYTES].hex()


def id_digest(key: bytes, document: IdDocument) -> str:
    """Digest of a validated ID document."""
    return digest(key, "id|" + document.canonical)


def name_digest(key: bytes, name: str) -> str:
    """Digest of a person's name, after :func:`normalize_name`."""
    return digest(key, "name|" + normalize_name(name))


def digests_match(expected: str, actual: str) -> bool:
    """Constant-time comparison of two hex digests."""
    return hmac.compare_digest(expected.encode("ascii"), actual.encode("ascii"))


# ---------------------------------------------------------------- sealed per ticket

SEAL_VERSION = 1
SEAL_SALT = b"encore-identity-v1"
NONCE_BYTES = 12
MAX_SEALED_TEXT = 200
"""A seal is 1 + 12 + 37 + 16 = 66 bytes (88 characters of base64url); longer text is refused."""
_ID, _NAME = 1, 2


class SealError(ValueError):
    """A sealed identity that cannot be opened: wrong ticket, altered or not a seal."""


@dataclass(frozen=True, slots=True)
class HolderDigests:
    """A holder's keyed digests (hex), as opened from a ticket's seal."""

    id_digest: str | None = None
    name_digest: str | None = None


def _seal_key(signature: bytes, ticket_id: str) -> AESGCM:
    if not isinstance(signature, bytes) or len(signature) != 64:
        raise SealError("the ticket signature is 64 bytes")
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=SEAL_SALT, info=ticket_id.encode("utf-8")).derive(
        signature
    )
    return AESGCM(key)


def seal_identity(
    signature: bytes,
    ticket_id: str,
    holder: HolderDigests,
    *,
    nonce: bytes | None = None,
) -> str:
    """The holder's digests sealed under the ticket whose COSE signature is ``signature``.

    Text (unpadded base64url) of ``version byte || 12-byte nonce || AES-256-GCM ciphertext``
    of the CBOR map ``{1: id digest, 2: name digest}`` (16 raw bytes each, absent keys
    omitted). ``nonce`` is random unless a test passes one.
    """
    plain: dict[int, bytes] = {}
    if holder.id_digest is not None:
        plain[_ID] = bytes.fromhex(holder.id_digest)
    if holder.name_digest is not None:
        plain[_NAME] = bytes.fromhex(holder.name_digest)
    nonce = os.urandom(NONCE_BYTES) if nonce is None else nonce
    if len(nonce) != NONCE_BYTES:
        raise SealError(f"the nonce is {NONCE_BYTES} bytes")
    aad = ticket_id.encode("utf-8")
    sealed = _seal_key(signature, ticket_id).encrypt(nonce, cbor2.dumps(plain), aad)
    blob = bytes((SEAL_VERSION,)) + nonce + sealed
    return base64.urlsafe_b64encode(blob).rstrip(b"=").decode("ascii")


def open_identity(sealed: str, signature: bytes, ticket_id: str) -> HolderDigests:
    """The digests inside a seal, given the presented ticket's signature; raises :class:`SealError`."""
    if not isinstance(sealed, str) or len(sealed) > MAX_SEALED_TEXT:
        raise SealError("not a sealed identity")
    try:
        blob = base64.urlsafe_b64decode(sealed + "=" * (-len(sealed) % 4))
    except ValueError:
        raise SealError("not base64url") from None
    if len(blob) < 1 + NONCE_BYTES + 16 or blob[0] != SEAL_VERSION:
        raise SealError("unknown seal version or truncated seal")
    nonce, body = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
    try:
        plain = _seal_key(signature, ticket_id).decrypt(nonce, body, ticket_id.encode("utf-8"))
    except InvalidTag:
        raise SealError("the seal does not open with this ticket") from None
    try:
        data = cbor2.loads(plain)
    except (cbor2.CBORDecodeError, ValueError, TypeError):  # authenticated, so only a bad issuer
        raise SealError("the sealed identity is not CBOR") from None
    if not isinstance(data, dict):
        raise SealError("the sealed identity is not a map")
    return HolderDigests(id_digest=_digest_hex(data.get(_ID)), name_digest=_digest_hex(data.get(_NAME)))


def _digest_hex(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, bytes) or len(value) != DIGEST_BYTES:
        raise SealError(f"a sealed digest is {DIGEST_BYTES} bytes")
    return value.hex()
