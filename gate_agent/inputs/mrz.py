"""ICAO 9303 machine-readable zones (passports TD3, ID cards TD1) with their check digits.

Pure parsing: passport readers send the MRZ as text lines; the gate needs the document number
(and its type) to compare digests with the ticket holder's, and refuses a misread zone by its
check digits instead of comparing a wrong number.
"""

from __future__ import annotations

from dataclasses import dataclass

_WEIGHTS = (7, 3, 1)


class MrzError(ValueError):
    """Text that is not a valid MRZ; the message says which field failed."""


def check_digit(field: str) -> int:
    """ICAO 9303 check digit: weights 7-3-1, digits as such, A-Z as 10-35, '<' as 0."""
    total = 0
    for index, char in enumerate(field):
        if char.isdigit():
            value = int(char)
        elif "A" <= char <= "Z":
            value = ord(char) - 55
        elif char == "<":
            value = 0
        else:
            raise MrzError(f"character {char!r} is not allowed in an MRZ")
        total += value * _WEIGHTS[index % 3]
    return total % 10


@dataclass(frozen=True, slots=True)
class Mrz:
    document_type: str
    issuer: str
    document_number: str
    surname: str
    given_names: str
    nationality: str
    birth_date: str
    sex: str
    expiry_date: str

    @property
    def name(self) -> str:
        return f"{self.given_names} {self.surname}".strip()


def _verify(field: str, digit: str, what: str) -> None:
    if digit == "<" and not field.strip("<"):
        return  # an empty optional field may carry a filler instead of a digit
    if not digit.isdigit() or check_digit(field) != int(digit):
        raise MrzError(f"check digit of the {what} does not match (misread?)")


def _names(field: str) -> tuple[str, str]:
    surname, _, given = field.partition("<<")
    return surname.replace("<", " ").strip(), given.replace("<", " ").strip()


def parse_mrz(text: str) -> Mrz:
    """Parse a TD3 (2 x 44) or TD1 (3 x 30) MRZ; raises :class:`MrzError`."""
    lines = [line.strip().upper() for line in text.replace("\r", "\n").split("\n") if line.strip()]
    if len(lines) == 1 and len(lines[0]) in (88, 90):  # readers that send one long line
        width = 44 if len(lines[0]) == 88 else 30
        lines = [lines[0][i : i + width] for i in range(0, len(lines[0]), width)]
    if len(lines) == 2 and all(len(line) == 44 for line in lines):
        return _td3(*lines)
    if len(lines) == 3 and all(len(line) == 30 for line in lines):
        return _td1(*lines)
    shape = " x ".join(str(len(line)) for line in lines) or "nothing"
    raise MrzError(f"not an MRZ: expected 2 lines of 44 or 3 lines of 30 characters, got {shape}")


def _td3(line1: str, line2: str) -> Mrz:
    for line in (line1, line2):
        check_digit(line)  # rejects characters outside the MRZ alphabet
    _verify(line2[0:9], line2[9], "document number")
    _verify(line2[13:19], line2[19], "birth date")
    _verify(line2[21:27], line2[27], "expiry date")
    _verify(line2[28:42], line2[42], "personal number")
    _verify(line2[0:10] + line2[13:20] + line2[21:43], line2[43], "whole zone")
    surname, given = _names(line1[5:44])
    return Mrz(
        document_type=line1[0:2].strip("<"), issuer=line1[2:5].strip("<"),
        document_number=line2[0:9].strip("<"), surname=surname, given_names=given,
        nationality=line2[10:13].strip("<"), birth_date=line2[13:19], sex=line2[20],
        expiry_date=line2[21:27],
    )  # fmt: skip


def _td1(line1: str, line2: str, line3: str) -> Mrz:
    for line in (line1, line2, line3):
        check_digit(line)
    _verify(line1[5:14], line1[14], "document number")
    _verify(line2[0:6], line2[6], "birth date")
    _verify(line2[8:14], line2[14], "expiry date")
    _verify(line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29], line2[29], "whole zone")
    surname, given = _names(line3)
    return Mrz(
        document_type=line1[0:2].strip("<"), issuer=line1[2:5].strip("<"),
        document_number=line1[5:14].strip("<"), surname=surname, given_names=given,
        nationality=line2[15:18].strip("<"), birth_date=line2[0:6], sex=line2[7],
        expiry_date=line2[8:14],
    )  # fmt: skip
