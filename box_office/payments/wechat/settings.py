"""WeChat Pay settings from ``BOX_OFFICE_WECHAT_*`` variables, validated at start.

The provider is enabled only when ``BOX_OFFICE_WECHAT_MCHID`` is set; then every other value
must be present and usable, or the start fails with one clear line naming the variable. Secrets
(the merchant private key, the APIv3 key) come from files (``*_FILE``) or, for the APIv3 key,
the environment; they are kept out of ``repr`` so a logged settings object shows none of them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from box_office.config import ConfigError

DEFAULT_GATEWAY = "https://api.mch.weixin.qq.com"
CHANNELS = ("native", "h5", "jsapi")
_MCHID = re.compile(r"^[0-9]{8,12}$")
_APPID = re.compile(r"^wx[0-9a-zA-Z]{16}$")
_SERIAL = re.compile(r"^[0-9A-Fa-f]{8,40}$")
_PUB_KEY_ID = re.compile(r"^PUB_KEY_ID_[0-9A-Za-z]{8,64}$")


@dataclass(frozen=True)
class WeChatSettings:
    mchid: str
    appid: str
    cert_serial_no: str
    public_key_id: str
    private_key_pem: str = field(repr=False)
    apiv3_key: str = field(repr=False)
    public_key_pem: str = field(repr=False)
    gateway: str = DEFAULT_GATEWAY
    channels: tuple[str, ...] = CHANNELS
    timeout: float = 10.0


def _read(source: Mapping[str, str], name: str) -> str:
    path = source.get(name, "").strip()
    if not path:
        raise ConfigError(f"{name} is not set (WeChat Pay is on because BOX_OFFICE_WECHAT_MCHID is set)")
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{name}: cannot read the key file {path}: {exc.strerror}") from None


def _rsa_private(pem: str, name: str) -> None:
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        raise ConfigError(f"{name}: not a PEM private key without a password") from None
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < 2048:
        raise ConfigError(f"{name}: WeChat Pay needs an RSA private key of 2048 bits or more")


def _rsa_public(pem: str, name: str) -> None:
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except (ValueError, TypeError):
        raise ConfigError(f"{name}: not a PEM public key (the WeChat Pay public key)") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise ConfigError(f"{name}: the WeChat Pay public key must be an RSA key")


def load_wechat_settings(source: Mapping[str, str]) -> WeChatSettings | None:
    """The settings, or None when WeChat Pay is not configured; raises :class:`ConfigError`."""
    mchid = source.get("BOX_OFFICE_WECHAT_MCHID", "").strip()
    if not mchid:
        return None
    if not _MCHID.match(mchid):
        raise ConfigError("BOX_OFFICE_WECHAT_MCHID must be the merchant id: 8 to 12 digits")
    appid = source.get("BOX_OFFICE_WECHAT_APPID", "").strip()
    if not _APPID.match(appid):
        raise ConfigError("BOX_OFFICE_WECHAT_APPID must be an app id: wx followed by 16 letters or digits")
    serial = source.get("BOX_OFFICE_WECHAT_CERT_SERIAL", "").strip()
    if not _SERIAL.match(serial):
        raise ConfigError("BOX_OFFICE_WECHAT_CERT_SERIAL must be the merchant certificate's hex serial")
    key_id = source.get("BOX_OFFICE_WECHAT_PUBLIC_KEY_ID", "").strip()
    if not _PUB_KEY_ID.match(key_id):
        raise ConfigError("BOX_OFFICE_WECHAT_PUBLIC_KEY_ID must be the WeChat Pay public key id PUB_KEY_ID_…")
    private_pem = _read(source, "BOX_OFFICE_WECHAT_PRIVATE_KEY_FILE")
    _rsa_private(private_pem, "BOX_OFFICE_WECHAT_PRIVATE_KEY_FILE")
    public_pem = _read(source, "BOX_OFFICE_WECHAT_PUBLIC_KEY_FILE")
    _rsa_public(public_pem, "BOX_OFFICE_WECHAT_PUBLIC_KEY_FILE")
    if source.get("BOX_OFFICE_WECHAT_APIV3_KEY_FILE", "").strip():
        apiv3 = _read(source, "BOX_OFFICE_WECHAT_APIV3_KEY_FILE").strip()
    else:
        apiv3 = source.get("BOX_OFFICE_WECHAT_APIV3_KEY", "").strip()
    if len(apiv3.encode()) != 32:
        raise ConfigError("BOX_OFFICE_WECHAT_APIV3_KEY_FILE (or _APIV3_KEY) must hold the 32-byte APIv3 key")
    channels = tuple(
        c.strip()
        for c in source.get("BOX_OFFICE_WECHAT_CHANNELS", ",".join(CHANNELS)).split(",")
        if c.strip()
    )
    unknown = set(channels) - set(CHANNELS)
    if unknown or not channels:
        raise ConfigError(f"BOX_OFFICE_WECHAT_CHANNELS: choose among {', '.join(CHANNELS)}")
    gateway = source.get("BOX_OFFICE_WECHAT_GATEWAY", DEFAULT_GATEWAY).strip().rstrip("/")
    if not gateway.startswith(("https://", "http://127.", "http://localhost")):
        raise ConfigError("BOX_OFFICE_WECHAT_GATEWAY must be https (plain http only on loopback)")
    try:
        timeout = float(source.get("BOX_OFFICE_WECHAT_TIMEOUT", "10"))
    except ValueError:
        raise ConfigError("BOX_OFFICE_WECHAT_TIMEOUT must be seconds") from None
    return WeChatSettings(
        mchid=mchid,
        appid=appid,
        cert_serial_no=serial.upper(),
        public_key_id=key_id,
        private_key_pem=private_pem,
        apiv3_key=apiv3,
        public_key_pem=public_pem,
        gateway=gateway,
        channels=channels,
        timeout=timeout,
    )
