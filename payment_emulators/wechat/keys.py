"""Keys and identities of the emulated WeChat Pay and of the one merchant it knows.

At start the emulator makes its own WeChat Pay key pair (its public key id ``PUB_KEY_ID_…``) and
registers a merchant: a merchant key pair, certificate serial, ``mchid``, ``appid`` and APIv3
key. :func:`write_kit` writes what a real merchant downloads from the merchant platform (its
private key, the APIv3 key, the WeChat Pay public key and ids) and answers the
``BOX_OFFICE_WECHAT_*`` variables that point the box office at them.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def public_pem(key: rsa.RSAPublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def rsa_sign(key: rsa.RSAPrivateKey, message: str) -> str:
    return base64.b64encode(key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()


def rsa_verify(key: rsa.RSAPublicKey, message: str, signature: str) -> bool:
    try:
        key.verify(
            base64.b64decode(signature, validate=True), message.encode(), padding.PKCS1v15(), hashes.SHA256()
        )
    except Exception:  # InvalidSignature, binascii.Error: both simply "not signed by this key"
        return False
    return True


@dataclass
class Merchant:
    mchid: str
    appid: str
    serial_no: str
    key: rsa.RSAPrivateKey = field(repr=False)  # the merchant's: the emulator uses only its public half
    apiv3_key: str = field(repr=False)


@dataclass
class Platform:
    key: rsa.RSAPrivateKey = field(repr=False)
    public_key_id: str


def new_platform() -> Platform:
    return Platform(_new_key(), "PUB_KEY_ID_" + secrets.token_hex(16).upper())


def new_merchant(mchid: str = "1900000109", appid: str = "wx8888888888888888") -> Merchant:
    return Merchant(mchid, appid, secrets.token_hex(20).upper(), _new_key(), secrets.token_hex(16))


def write_kit(directory: Path, platform: Platform, merchant: Merchant, gateway: str) -> dict[str, str]:
    """Write the merchant's files (mode 0600) and return the box office's WeChat variables."""
    directory.mkdir(parents=True, exist_ok=True)
    files = {
        "apiclient_key.pem": private_pem(merchant.key),
        "apiv3.key": merchant.apiv3_key,
        "wechatpay_pub_key.pem": public_pem(platform.key.public_key()),
    }
    for name, text in files.items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        path.chmod(0o600)
    return {
        "BOX_OFFICE_WECHAT_MCHID": merchant.mchid,
        "BOX_OFFICE_WECHAT_APPID": merchant.appid,
        "BOX_OFFICE_WECHAT_CERT_SERIAL": merchant.serial_no,
        "BOX_OFFICE_WECHAT_PRIVATE_KEY_FILE": str(directory / "apiclient_key.pem"),
        "BOX_OFFICE_WECHAT_APIV3_KEY_FILE": str(directory / "apiv3.key"),
        "BOX_OFFICE_WECHAT_PUBLIC_KEY_FILE": str(directory / "wechatpay_pub_key.pem"),
        "BOX_OFFICE_WECHAT_PUBLIC_KEY_ID": platform.public_key_id,
        "BOX_OFFICE_WECHAT_GATEWAY": gateway,
    }
