"""Real-name identity: ID validation, name normalisation, keyed digests."""

from __future__ import annotations

import pytest

from ticket_format.identity import (
    IdentityError,
    digests_match,
    id_digest,
    name_digest,
    normalize_name,
    parse_id,
)

KEY = b"k" * 32
VALID_RIC = "11010519491231002X"


@pytest.mark.parametrize(
    ("typed", "normal"),
    [
        ("  Zhang   San ", "zhang san"),
        ("ＺＨＡＮＧ　San", "zhang san"),  # full-width letters and ideographic space
        ("张三", "张三"),
        ("张 三", "张三"),
        ("阿卜杜・热合曼", "阿卜杜·热合曼"),
        ("买买提 • 艾力", "买买提·艾力"),
        ("José Álvarez", "josé álvarez"),
    ],
)
def test_names_normalise_to_one_form(typed: str, normal: str):
    assert normalize_name(typed) == normal


def test_chinese_names_are_not_folded_between_scripts():
    assert normalize_name("张三") != normalize_name("張三")


@pytest.mark.parametrize("bad", ["", "   ", "a\x00b", "x" * 101])
def test_bad_names_are_refused(bad: str):
    with pytest.raises(IdentityError):
        normalize_name(bad)


def test_resident_id_check_digit_is_validated():
    assert parse_id("cn_ric", "110105 19491231 002x").number == VALID_RIC
    with pytest.raises(IdentityError, match="resident ID"):
        parse_id("cn_ric", "110105194912310021")
    with pytest.raises(IdentityError, match="resident ID"):
        parse_id("cn_ric", "11010519491331002X")  # month 13


@pytest.mark.parametrize(
    ("id_type", "number", "normal"),
    [
        ("passport", "e1234-5678", "E12345678"),
        ("hk_mo_permit", "h12345678", "H12345678"),
        ("tw_permit", "12345678", "12345678"),
    ],
)
def test_other_documents_normalise(id_type: str, number: str, normal: str):
    assert parse_id(id_type, number).number == normal


@pytest.mark.parametrize(("id_type", "number"), [("driver", "1"), ("passport", "a"), ("tw_permit", "1234")])
def test_bad_documents_are_refused(id_type: str, number: str):
    with pytest.raises(IdentityError):
        parse_id(id_type, number)


def test_digests_match_across_spellings_and_differ_across_keys_and_people():
    a = id_digest(KEY, parse_id("cn_ric", VALID_RIC.lower()))
    b = id_digest(KEY, parse_id("cn_ric", VALID_RIC))
    assert digests_match(a, b) and len(a) == 32
    assert not digests_match(a, id_digest(b"other" * 8, parse_id("cn_ric", VALID_RIC)))
    assert not digests_match(a, id_digest(KEY, parse_id("passport", VALID_RIC)))
    assert name_digest(KEY, "Zhang San") == name_digest(KEY, " ZHANG  san")
    assert name_digest(KEY, "Zhang San") != name_digest(KEY, "Zhang Shan")


def test_digest_reveals_no_number_and_masking_hides_the_middle():
    document = parse_id("cn_ric", VALID_RIC)
    assert VALID_RIC not in id_digest(KEY, document)
    assert document.masked == "1101**********002X"
