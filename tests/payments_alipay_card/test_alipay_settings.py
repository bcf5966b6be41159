"""Alipay settings are checked at start with an error that names the variable; keys never show."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from box_office.config import ConfigError
from box_office.payments.alipay.settings import load
from tests.payments_alipay_card.conftest import APP_ID, SELLER_ID, rsa_pem


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    private, _ = rsa_pem()
    _, public = rsa_pem()
    (tmp_path / "app.pem").write_text(private)
    (tmp_path / "alipay.pem").write_text(public)
    return {
        "BOX_OFFICE_ALIPAY_APP_ID": APP_ID,
        "BOX_OFFICE_ALIPAY_SELLER_ID": SELLER_ID,
        "BOX_OFFICE_ALIPAY_APP_PRIVATE_KEY_FILE": str(tmp_path / "app.pem"),
        "BOX_OFFICE_ALIPAY_PUBLIC_KEY_FILE": str(tmp_path / "alipay.pem"),
    }


def test_not_configured_is_off(env: dict[str, str]) -> None:
    assert load({}) is None
    loaded = load(env)
    assert loaded is not None and loaded.gateway == "https://openapi.alipay.com/gateway.do"
    assert "PRIVATE KEY" not in repr(loaded)  # the key never shows in a repr / log line


def test_each_mistake_is_named(env: dict[str, str], tmp_path: Path) -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (tmp_path / "ec.pem").write_bytes(ec_key)
    small, _ = rsa_pem(1024)
    (tmp_path / "small.pem").write_text(small)
    (tmp_path / "junk.pem").write_text("not a key")
    cases = {
        "APP_ID: '12345' is not an Alipay app id": {"BOX_OFFICE_ALIPAY_APP_ID": "12345"},
        "SELLER_ID": {"BOX_OFFICE_ALIPAY_SELLER_ID": "1234"},
        "APP_PRIVATE_KEY_FILE: no key file": {
            "BOX_OFFICE_ALIPAY_APP_PRIVATE_KEY_FILE": str(tmp_path / "missing.pem")
        },
        "wrong key type .*RSA2 needs an RSA key": {
            "BOX_OFFICE_ALIPAY_APP_PRIVATE_KEY_FILE": str(tmp_path / "ec.pem")
        },
        "1024 bits": {"BOX_OFFICE_ALIPAY_APP_PRIVATE_KEY_FILE": str(tmp_path / "small.pem")},
        "PUBLIC_KEY_FILE: not a PEM public key": {
            "BOX_OFFICE_ALIPAY_PUBLIC_KEY_FILE": str(tmp_path / "junk.pem")
        },
        "GATEWAY": {"BOX_OFFICE_ALIPAY_GATEWAY": "http://alipay.example/gateway.do"},
        "HUABEI_SELLER_PERCENT": {"BOX_OFFICE_ALIPAY_HUABEI_SELLER_PERCENT": "50"},
        "HUABEI_PERIODS": {"BOX_OFFICE_ALIPAY_HUABEI_PERIODS": "3,24"},
    }
    for message, change in cases.items():
        with pytest.raises(ConfigError, match=message):
            load(env | change)
    missing = dict(env)
    del missing["BOX_OFFICE_ALIPAY_PUBLIC_KEY_FILE"]
    with pytest.raises(ConfigError, match="PUBLIC_KEY_FILE is required"):
        load(missing)
