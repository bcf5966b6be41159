"""Aliyun SMS (dysmsapi ``SendSms``, API version 2017-05-25) behind the SMS interface.

The request is Aliyun's RPC style as documented: every parameter in the query, signed with
``SignatureMethod=HMAC-SHA1``, ``SignatureVersion=1.0``:

    StringToSign = METHOD + "&" + pct("/") + "&" + pct(sorted "k=v" pairs joined by "&")
    Signature    = base64(HMAC-SHA1(AccessKeySecret + "&", StringToSign))

where ``pct`` is RFC 3986 percent-encoding (space as %20, ``*`` as %2A, ``~`` kept). Mainland
providers send only approved templates, so a message is a template code (one per kind and
language, from configuration) and its parameters as JSON. The answer is JSON whose ``Code`` is
``OK`` on success; anything else raises, and the outbox retries.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx

from box_office.core.errors import RuleError
from box_office.core.otp import normalise_phone
from box_office.notify.sms_templates import language_of, render

API_VERSION = "2017-05-25"
DEFAULT_ENDPOINT = "https://dysmsapi.aliyuncs.com/"


class SmsRefused(RuntimeError):
    """The provider answered, and not with ``OK``: its code and message."""


def percent_encode(value: str) -> str:
    return urllib.parse.quote(value, safe="~").replace("+", "%20").replace("*", "%2A")


def string_to_sign(method: str, params: Mapping[str, str]) -> str:
    canonical = "&".join(f"{percent_encode(k)}={percent_encode(params[k])}" for k in sorted(params))
    return f"{method}&{percent_encode('/')}&{percent_encode(canonical)}"


def signature(secret: str, method: str, params: Mapping[str, str]) -> str:
    digest = hmac.new(f"{secret}&".encode(), string_to_sign(method, params).encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def provider_number(e164: str) -> str:
    """Aliyun's form of a number: 11 digits for the mainland, else country code and number."""
    digits = e164.lstrip("+")
    return digits[2:] if digits.startswith("86") and len(digits) == 13 else digits


@dataclass
class AliyunSms:
    access_key_id: str
    access_key_secret: str
    sign_name: str
    templates: Mapping[str, str]  # "otp.zh" -> "SMS_123456789"
    endpoint: str = DEFAULT_ENDPOINT
    region: str = "cn-hangzhou"
    timeout: float = 10.0
    _client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10.0))

    def signed_params(self, to: str, template: str, params: Mapping[str, str]) -> dict[str, str]:
        query = {
            "AccessKeyId": self.access_key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "PhoneNumbers": provider_number(to),
            "RegionId": self.region,
            "SignName": self.sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": secrets.token_hex(16),
            "SignatureVersion": "1.0",
            "TemplateCode": template,
            "TemplateParam": json.dumps(dict(params), ensure_ascii=False, separators=(",", ":")),
            "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "Version": API_VERSION,
        }
        query["Signature"] = signature(self.access_key_secret, "GET", query)
        return query

    def send_template(self, to: str, kind: str, lang: str, params: Mapping[str, str]) -> None:
        template = self.templates.get(f"{kind}.{language_of(lang)}") or self.templates.get(f"{kind}.zh")
        if template is None:
            raise SmsRefused(f"no Aliyun template configured for {kind}.{lang}")
        try:
            number = normalise_phone(to)
        except RuleError as exc:
            raise SmsRefused(f"not a mobile number: {exc}") from None
        answer = self._client.get(self.endpoint, params=self.signed_params(number, template, params))
        try:
            body = answer.json()
        except ValueError:
            raise SmsRefused(f"Aliyun SMS answered {answer.status_code} with no JSON") from None
        if body.get("Code") != "OK":
            raise SmsRefused(f"Aliyun SMS refused: {body.get('Code')}: {body.get('Message')}")

    def send(self, to: str, text: str) -> None:
        """Free text has no approved template: sent as the generic notice template's content."""
        self.send_template(to, "notice", "zh", {"content": text})


def templates_from(text: str) -> dict[str, str]:
    """``otp.zh=SMS_1,otp.en=SMS_2`` (BOX_OFFICE_ALIYUN_TEMPLATES) as a mapping."""
    pairs = (item.split("=", 1) for item in text.split(",") if "=" in item)
    return {k.strip(): v.strip() for k, v in pairs}


__all__ = ["AliyunSms", "SmsRefused", "render", "signature", "string_to_sign", "templates_from"]
