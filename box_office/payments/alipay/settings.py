"""Alipay settings, from ``BOX_OFFICE_ALIPAY_*`` environment variables, checked at start.

Secrets come from files (``*_FILE``) so that they never sit in the environment's listing or a
log; nothing here ever prints a key. A provider is enabled only when ``BOX_OFFICE_ALIPAY_APP_ID``
is set; then every other required value must be present and usable, or the start fails with
a :class:`~box_office.config.ConfigError` that names the variable and what is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from box_office.config import ConfigError
from box_office.core.instalments import PERIODS, SELLER_PERCENTS

PRODUCTION_GATEWAY = "https://openapi.alipay.com/gateway.do"
APP_ID = re.compile(r"^\d{16}$")  # Alipay open-platform app ids are 16 digits (2021…)
SELLER_ID = re.compile(r"^2088\d{12}$")  # a merchant PID: 2088 and 12 digits
PREFIX = "BOX_OFFICE_ALIPAY_"


@dataclass(frozen=True)
class AlipaySettings:
    app_id: str
    seller_id: str
    app_private_key_pem: str = field(repr=False)
    alipay_public_key_pem: str = field(repr=False)
    gateway: str = PRODUCTION_GATEWAY
    return_url: str = ""
    timeout: float = 15.0
    #: who pays the Huabei fee by default (the promoter's setting): 0 the buyer, 100 the promoter
    huabei_seller_percent: int = 0
    huabei_periods: tuple[int, ...] = PERIODS


def _read_key_file(env: Mapping[str, str], name: str) -> str:
    path_text = env.get(PREFIX + name, "")
    if not path_text:
        raise ConfigError(f"{PREFIX}{name} is required when {PREFIX}APP_ID is set")
    path = Path(path_text)
    try:
        return path.read_text()
    except FileNotFoundError:
        raise ConfigError(f"{PREFIX}{name}: no key file at {path}") from None
    except OSError as exc:
        raise ConfigError(f"{PREFIX}{name}: cannot read {path} ({exc.strerror})") from None


def check_private_key(pem: str, variable: str) -> None:
    """An RSA private key of at least 2048 bits (what RSA2 = SHA256withRSA needs)."""
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        raise ConfigError(f"{variable}: not an unencrypted PEM private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigError(f"{variable}: wrong key type {type(key).__name__}: RSA2 needs an RSA key")
    if key.key_size < 2048:
        raise ConfigError(f"{variable}: RSA key of {key.key_size} bits: RSA2 needs 2048 or more")


def check_public_key(pem: str, variable: str) -> None:
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except (ValueError, TypeError):
        raise ConfigError(
            f"{variable}: not a PEM public key (Alipay's public key, not a certificate)"
        ) from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise ConfigError(f"{variable}: wrong key type {type(key).__name__}: Alipay signs with RSA")


def load(env: Mapping[str, str]) -> AlipaySettings | None:
    """The Alipay settings in ``env``, or None when Alipay is not configured."""
    app_id = env.get(PREFIX + "APP_ID", "")
    if not app_id:
        return None
    if not APP_ID.match(app_id):
        raise ConfigError(f"{PREFIX}APP_ID: {app_id!r} is not an Alipay app id (16 digits)")
    seller_id = env.get(PREFIX + "SELLER_ID", "")
    if not SELLER_ID.match(seller_id):
        raise ConfigError(f"{PREFIX}SELLER_ID: {seller_id!r} is not a merchant PID (2088 and 12 digits)")
    private_pem = _read_key_file(env, "APP_PRIVATE_KEY_FILE")
    check_private_key(private_pem, PREFIX + "APP_PRIVATE_KEY_FILE")
    public_pem = _read_key_file(env, "PUBLIC_KEY_FILE")
    check_public_key(public_pem, PREFIX + "PUBLIC_KEY_FILE")
    gateway = env.get(PREFIX + "GATEWAY", PRODUCTION_GATEWAY)
    if not gateway.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        raise ConfigError(f"{PREFIX}GATEWAY: {gateway!r} must be https (plain http only on loopback)")
    percent_text = env.get(PREFIX + "HUABEI_SELLER_PERCENT", "0")
    if percent_text not in {str(p) for p in SELLER_PERCENTS}:
        raise ConfigError(f"{PREFIX}HUABEI_SELLER_PERCENT: must be 0 (buyer pays) or 100 (promoter pays)")
    periods_text = env.get(PREFIX + "HUABEI_PERIODS", ",".join(map(str, PERIODS)))
    try:
        periods = tuple(int(p) for p in periods_text.split(",") if p.strip())
    except ValueError:
        raise ConfigError(f"{PREFIX}HUABEI_PERIODS: a comma-separated list of 3, 6, 12") from None
    if not set(periods) <= set(PERIODS):
        raise ConfigError(f"{PREFIX}HUABEI_PERIODS: only 3, 6 and 12 periods exist")
    try:
        timeout = float(env.get(PREFIX + "TIMEOUT", "15"))
    except ValueError:
        raise ConfigError(f"{PREFIX}TIMEOUT: seconds, a number") from None
    return AlipaySettings(
        app_id=app_id,
        seller_id=seller_id,
        app_private_key_pem=private_pem,
        alipay_public_key_pem=public_pem,
        gateway=gateway,
        return_url=env.get(PREFIX + "RETURN_URL", ""),
        timeout=timeout,
        huabei_seller_percent=int(percent_text),
        huabei_periods=periods,
    )
