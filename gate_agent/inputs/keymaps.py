"""Keyboard layouts of barcode scanners: evdev key code -> (plain, shifted) character.

A keyboard-wedge scanner "types" with the layout it is configured for, and evdev reports
physical key positions, so the decoding must use the scanner's layout, not the host's.
Only the keys that printable scan text needs are mapped.
"""

from __future__ import annotations

from evdev import ecodes as e

_US_ROWS: dict[int, tuple[str, str]] = {
    e.KEY_GRAVE: ("`", "~"), e.KEY_1: ("1", "!"), e.KEY_2: ("2", "@"), e.KEY_3: ("3", "#"),
    e.KEY_4: ("4", "$"), e.KEY_5: ("5", "%"), e.KEY_6: ("6", "^"), e.KEY_7: ("7", "&"),
    e.KEY_8: ("8", "*"), e.KEY_9: ("9", "("), e.KEY_0: ("0", ")"), e.KEY_MINUS: ("-", "_"),
    e.KEY_EQUAL: ("=", "+"), e.KEY_LEFTBRACE: ("[", "{"), e.KEY_RIGHTBRACE: ("]", "}"),
    e.KEY_BACKSLASH: ("\\", "|"), e.KEY_SEMICOLON: (";", ":"), e.KEY_APOSTROPHE: ("'", '"'),
    e.KEY_COMMA: (",", "<"), e.KEY_DOT: (".", ">"), e.KEY_SLASH: ("/", "?"), e.KEY_SPACE: (" ", " "),
    e.KEY_102ND: ("\\", "|"),
}  # fmt: skip
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
for _letter in _LETTERS:
    _US_ROWS[getattr(e, f"KEY_{_letter.upper()}")] = (_letter, _letter.upper())

KEYPAD: dict[int, str] = {
    e.KEY_KP0: "0", e.KEY_KP1: "1", e.KEY_KP2: "2", e.KEY_KP3: "3", e.KEY_KP4: "4",
    e.KEY_KP5: "5", e.KEY_KP6: "6", e.KEY_KP7: "7", e.KEY_KP8: "8", e.KEY_KP9: "9",
    e.KEY_KPDOT: ".", e.KEY_KPPLUS: "+", e.KEY_KPMINUS: "-", e.KEY_KPASTERISK: "*",
    e.KEY_KPSLASH: "/", e.KEY_KPCOMMA: ",", e.KEY_KPEQUAL: "=",
}  # fmt: skip
"""Keypad keys: the same on every layout, and not affected by Shift or Caps Lock."""

_DE_CHANGES: dict[int, tuple[str, str]] = {
    e.KEY_Y: ("z", "Z"), e.KEY_Z: ("y", "Y"),
    e.KEY_GRAVE: ("^", "°"), e.KEY_2: ("2", '"'), e.KEY_3: ("3", "§"), e.KEY_6: ("6", "&"),
    e.KEY_7: ("7", "/"), e.KEY_8: ("8", "("), e.KEY_9: ("9", ")"), e.KEY_0: ("0", "="),
    e.KEY_MINUS: ("ß", "?"), e.KEY_EQUAL: ("´", "`"), e.KEY_LEFTBRACE: ("ü", "Ü"),
    e.KEY_RIGHTBRACE: ("+", "*"), e.KEY_BACKSLASH: ("#", "'"), e.KEY_SEMICOLON: ("ö", "Ö"),
    e.KEY_APOSTROPHE: ("ä", "Ä"), e.KEY_COMMA: (",", ";"), e.KEY_DOT: (".", ":"),
    e.KEY_SLASH: ("-", "_"), e.KEY_102ND: ("<", ">"),
}  # fmt: skip
_DE_ALTGR: dict[int, str] = {
    e.KEY_Q: "@", e.KEY_7: "{", e.KEY_8: "[", e.KEY_9: "]", e.KEY_0: "}", e.KEY_MINUS: "\\",
    e.KEY_RIGHTBRACE: "~", e.KEY_102ND: "|", e.KEY_E: "€", e.KEY_2: "²", e.KEY_3: "³",
}  # fmt: skip


class Layout:
    """One layout: plain/shifted characters, AltGr characters, and which keys Caps Lock affects."""

    def __init__(self, name: str, keys: dict[int, tuple[str, str]], altgr: dict[int, str]) -> None:
        self.name = name
        self.keys = keys
        self.altgr = altgr

    def char(self, code: int, *, shift: bool, caps: bool, altgr: bool) -> str | None:
        if code in KEYPAD:
            return KEYPAD[code]
        if altgr:
            return self.altgr.get(code)
        pair = self.keys.get(code)
        if pair is None:
            return None
        plain, shifted = pair
        if caps and plain.isalpha():  # Caps Lock flips letters only; Shift undoes it
            shift = not shift
        return shifted if shift else plain


LAYOUTS: dict[str, Layout] = {
    "us": Layout("us", dict(_US_ROWS), {}),
    "de": Layout("de", {**_US_ROWS, **_DE_CHANGES}, _DE_ALTGR),
}
