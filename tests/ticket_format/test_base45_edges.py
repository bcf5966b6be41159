"""The fast Base45 decoder at its edges, written to kill mutants of ticket_format/base45.py."""

from __future__ import annotations

import base45 as base45_lib
import pytest

from ticket_format import base45
from ticket_format.base45 import Base45Error


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("AB€", "non-ASCII character"),
        ("AB#", "character outside the Base45 alphabet"),
        ("ABCD", "length leaves a dangling character"),
        (":::", "a group's value exceeds 65535"),
        ("V5", "the final pair's value exceeds 255"),  # 31 + 45 * 5 = 256
    ],
)
def test_each_refusal_names_its_reason(text: str, message: str) -> None:
    with pytest.raises(Base45Error) as refused:
        base45.decode(text)
    assert str(refused.value) == message


def test_the_final_pair_may_be_exactly_255() -> None:
    assert base45.decode("U5") == b"\xff"  # 30 + 45 * 5


@pytest.mark.parametrize("size", [2, 3, 4, 30, 31, 200])
def test_lane_masks_made_afresh_decode_like_the_package(size: int) -> None:
    """The masks are cached by length; with the cache emptied they are computed again and must
    still be right (a test run fills the cache before most tests see the code that makes them)."""
    data = bytes((i * 37 + 11) % 256 for i in range(size))
    text = base45_lib.b45encode(data).decode()
    base45._masks.clear()
    assert base45.decode(text) == data
    assert base45.decode(text) == data  # and from the cache
