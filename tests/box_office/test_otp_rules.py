"""The pure rules of one-time codes (``core/otp.py``): codes, digests, tries, throttles, and the
API's patterns accepting exactly what the normalisers take."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from box_office.core import otp
from box_office.core.errors import RuleError

KEY = b"k" * 32


def challenge(code: str, tries: int = 1, used: bool = False, expires_at: float = 1000.0) -> otp.Challenge:
    return otp.Challenge(otp.code_digest(KEY, "c1", code), expires_at, tries, used)


def test_codes_are_six_digits_and_digests_are_bound_to_their_challenge() -> None:
    assert otp.new_code(b"\x00" * 8) == "000000"
    assert otp.new_code(b"\xff" * 8) == f"{(2**64 - 1) % 10**6:06d}"
    with pytest.raises(ValueError):
        otp.new_code(b"1234567")
    assert otp.code_digest(KEY, "c1", "123456") != otp.code_digest(KEY, "c2", "123456")
    assert otp.code_digest(KEY, "c1", "123456") != otp.code_digest(b"x" * 32, "c1", "123456")


@pytest.mark.parametrize(
    ("state", "given", "now", "code"),
    [
        (challenge("123456", tries=6), "123456", 0, "otp_locked"),
        (challenge("123456", tries=1, used=True), "123456", 0, "otp_used"),
        (challenge("123456", tries=1), "123456", 1000.5, "otp_expired"),
        (challenge("123456", tries=5), "123457", 0, "otp_wrong"),
    ],
)
def test_refusals(state: otp.Challenge, given: str, now: float, code: str) -> None:
    with pytest.raises(RuleError) as refused:
        otp.check_code(KEY, "c1", state, given, now)
    assert refused.value.code == code


def test_the_fifth_try_may_pass_and_the_count_is_said() -> None:
    otp.check_code(KEY, "c1", challenge("123456", tries=5), "123456", 1000.0)  # at the very end too
    otp.check_code(KEY, "c1", challenge("123456", tries=1), " 123 456 ", 0)
    with pytest.raises(RuleError, match="3 tries left"):
        otp.check_code(KEY, "c1", challenge("123456", tries=2), "000000", 0)


def test_throttles() -> None:
    assert otp.retry_after({"target": [], "ip": [], "device": []}, 100.0) == 0
    assert otp.retry_after({"target": [90.0]}, 100.0) == 51  # a minute between two codes
    assert otp.retry_after({"target": [0.0]}, 61.0) == 0
    five = [0.0, 61.0, 122.0, 183.0, 244.0]
    assert otp.retry_after({"target": five}, 400.0) == 3201  # five an hour
    assert otp.retry_after({"ip": [float(i) for i in range(20)]}, 100.0) == 3501
    assert otp.retry_after({"ip": [float(i) for i in range(20)]}, 100.0, otp.throttles(21)) == 0
    assert otp.retry_after({"device": [80.0]}, 100.0) == 11


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("13800138000", "+8613800138000"),
        ("+86 138-0013-8000", "+8613800138000"),
        ("008613800138000", "+8613800138000"),
        ("+447700900123", "+447700900123"),
        ("0014155550123", "+14155550123"),
    ],
)
def test_numbers(raw: str, e164: str) -> None:
    assert otp.normalise_phone(raw) == e164
    assert re.fullmatch(otp.PHONE_PATTERN, raw)


@pytest.mark.parametrize("raw", ["12345", "+8612345678901", "23800138000", "+0123456789"])
def test_not_numbers(raw: str) -> None:
    with pytest.raises(RuleError):
        otp.normalise_phone(raw)


@settings(max_examples=300, deadline=None)
@given(st.from_regex(otp.PHONE_PATTERN, fullmatch=True))
def test_every_number_the_schema_allows_is_taken(raw: str) -> None:
    assert otp.normalise_phone(raw).startswith("+")


@settings(max_examples=300, deadline=None)
@given(st.from_regex(otp.EMAIL_PATTERN, fullmatch=True).filter(lambda s: len(s) <= 254))
def test_every_address_the_schema_allows_is_taken(raw: str) -> None:
    assert otp.normalise_email(raw) == raw.lower()


def test_masks() -> None:
    assert otp.mask_target("sms", "+8613800138000") == "+86 138****8000"
    assert otp.mask_target("email", "alice@example.com") == "a***@example.com"


@pytest.mark.parametrize(
    "raw", ["a@x.cn\n", "a@b\n.cn", "a\u0085b@x.cn", "a@x.c", "ab@localhost", "张@x.cn", "a@-.cn\r"]
)
def test_not_addresses(raw: str) -> None:
    with pytest.raises(RuleError):
        otp.normalise_email(raw)
