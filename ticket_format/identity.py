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
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

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
        """The number with all but the first 3 and last 4 characters hidden, for display."""
        if len(self.number) <= 7:
            return "*" * len(self.number)
        return self.number[:3] + "*" * (len(self.number) - 7) + self.number[-4:]


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
