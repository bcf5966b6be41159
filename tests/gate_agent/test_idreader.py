"""ID readers: ICAO 9303 MRZ with check digits, and field-layout readers."""

from __future__ import annotations

import pytest

from gate_agent.inputs.idreader import IdParser, IdReadError, IdReaderSettings
from gate_agent.inputs.mrz import MrzError, check_digit, parse_mrz

# The specimen zones printed in ICAO Doc 9303 (fictional holder "Anna Maria Eriksson").
TD3 = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10"
TD1 = "I<UTOD231458907<<<<<<<<<<<<<<<\n7408122F1204159UTO<<<<<<<<<<<6\nERIKSSON<<ANNA<MARIA<<<<<<<<<<"


def test_check_digits() -> None:
    assert check_digit("L898902C3") == 6
    assert check_digit("740812") == 2
    assert check_digit("<<<<") == 0


def test_td3_passport() -> None:
    mrz = parse_mrz(TD3)
    assert mrz.document_number == "L898902C3"
    assert (mrz.surname, mrz.given_names) == ("ERIKSSON", "ANNA MARIA")
    assert mrz.birth_date == "740812" and mrz.sex == "F" and mrz.nationality == "UTO"
    assert parse_mrz(TD3.replace("\n", "")) == mrz  # readers that send one long line
    assert parse_mrz(TD3.replace("\n", "\r\n") + "\r\n") == mrz


def test_td1_card() -> None:
    mrz = parse_mrz(TD1)
    assert mrz.document_number == "D23145890" and mrz.surname == "ERIKSSON"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (TD3.replace("L898902C3", "L898902C4"), "document number"),
        (TD3.replace("7408122", "7408132"), "birth date"),
        (TD1.replace("D23145890", "D23145891"), "document number"),
        ("hello", "not an MRZ"),
        (TD3.replace("ANNA", "ANNä"), "not allowed"),
    ],
)
def test_misreads_are_refused(text: str, message: str) -> None:
    with pytest.raises(MrzError, match=message):
        parse_mrz(text)


def test_field_reader_and_mrz_reader() -> None:
    fields = IdParser(IdReaderSettings(fields=("name", "id_number")))
    assert fields.parse("张三|11010519491231002X\r") == {
        "id_type": "cn_ric", "name": "张三", "id_number": "11010519491231002X"
    }  # fmt: skip
    with pytest.raises(IdReadError, match="expected 2 fields"):
        fields.parse("only-one-field")
    mrz = IdParser(IdReaderSettings(format="mrz", match_name=False))
    assert mrz.parse(TD3) == {"id_type": "passport", "id_number": "L898902C3"}
    with pytest.raises(IdReadError):
        mrz.parse("garbage")
    with pytest.raises(ValueError, match="unknown ID reader field"):
        IdParser(IdReaderSettings(fields=("name", "birthday")))
