"""A local stand-in for Aliyun's SMS API: checks each ``SendSms`` as the service would and keeps
what would have been sent. For development and tests (no network, no account needed).

It checks the signature (HMAC-SHA1 over the canonical query, ``sms_aliyun.signature``), the
access key, the timestamp (within 15 minutes), that no ``SignatureNonce`` is used twice, the
action and version, the template code, the template's parameters, and the number; it answers
as the service does (``{"Code": "OK", "BizId": ...}`` or an error code) and keeps each message
with its text rendered from the template. ``GET /_messages`` lists them.

    python -m box_office.notify.sms_emulator --port 8650 --key test-id:test-secret
"""

from __future__ import annotations

import argparse
import calendar
import hmac
import json
import re
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from box_office.notify.sms_aliyun import API_VERSION, signature
from box_office.notify.sms_templates import TEMPLATES

DEFAULT_TEMPLATES = {
    f"SMS_{100 + i}": (kind, lang)
    for i, (kind, lang) in enumerate((k, lg) for k in TEMPLATES for lg in ("zh", "en"))
}
"""Template codes the emulator knows: SMS_100 = otp.zh, SMS_101 = otp.en, ..."""


def template_setting() -> str:
    """The BOX_OFFICE_ALIYUN_TEMPLATES value matching :data:`DEFAULT_TEMPLATES`."""
    return ",".join(f"{kind}.{lang}={code}" for code, (kind, lang) in DEFAULT_TEMPLATES.items())


@dataclass
class Emulator:
    keys: Mapping[str, str]
    sign_names: tuple[str, ...] = ("Encore",)
    templates: Mapping[str, tuple[str, str]] = field(default_factory=lambda: dict(DEFAULT_TEMPLATES))
    messages: list[dict[str, Any]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    _nonces: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, method: str, query: dict[str, str]) -> dict[str, Any]:
        answer = self._check(method, query)
        if answer["Code"] != "OK":
            self.refused.append(answer["Code"])
        return answer

    def _check(self, method: str, query: dict[str, str]) -> dict[str, Any]:
        request_id = secrets.token_hex(8)

        def error(code: str, message: str) -> dict[str, Any]:
            return {"Code": code, "Message": message, "RequestId": request_id}

        given = query.pop("Signature", "")
        secret = self.keys.get(query.get("AccessKeyId", ""))
        if secret is None:
            return error("InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        if query.get("SignatureMethod") != "HMAC-SHA1" or query.get("SignatureVersion") != "1.0":
            return error("InvalidParameter", "SignatureMethod/SignatureVersion")
        if not hmac.compare_digest(given, signature(secret, method, query)):
            return error("SignatureDoesNotMatch", "Specified signature is not matched with our calculation.")
        try:
            stamp = calendar.timegm(time.strptime(query.get("Timestamp", ""), "%Y-%m-%dT%H:%M:%SZ"))
        except ValueError:
            return error(
                "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted."
            )
        if abs(time.time() - stamp) > 900:
            return error("InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
        with self._lock:
            nonce = query.get("SignatureNonce", "")
            if not nonce or nonce in self._nonces:
                return error("SignatureNonceUsed", "Specified signature nonce was used already.")
            self._nonces.add(nonce)
        if query.get("Action") != "SendSms" or query.get("Version") != API_VERSION:
            return error(
                "InvalidAction.NotFound", "Specified api is not found, please check your url and method."
            )
        if query.get("SignName") not in self.sign_names:
            return error("isv.SMS_SIGNATURE_ILLEGAL", "the sign name is not approved")
        template = self.templates.get(query.get("TemplateCode", ""))
        if template is None:
            return error("isv.SMS_TEMPLATE_ILLEGAL", "the template code is not approved")
        try:
            params = json.loads(query.get("TemplateParam", "{}"))
        except ValueError:
            return error("isv.INVALID_JSON_PARAM", "TemplateParam is not JSON")
        kind, lang = template
        text = TEMPLATES[kind][lang]
        wanted = set(re.findall(r"\$\{(\w+)\}", text))
        if not isinstance(params, dict) or set(params) != wanted:
            return error("isv.TEMPLATE_PARAMS_ILLEGAL", f"the template needs {sorted(wanted)}")
        number = query.get("PhoneNumbers", "")
        if not re.fullmatch(r"1[3-9]\d{9}|[1-9]\d{7,14}", number):
            return error("isv.MOBILE_NUMBER_ILLEGAL", "the number is not a valid mobile number")
        for name, value in params.items():
            text = text.replace("${" + name + "}", str(value))
        with self._lock:
            self.messages.append(
                {
                    "phone": number,
                    "sign": query["SignName"],
                    "template": query["TemplateCode"],
                    "params": params,
                    "text": text,
                }
            )
        return {
            "Code": "OK",
            "Message": "OK",
            "BizId": f"{int(time.time())}^{request_id}",
            "RequestId": request_id,
        }

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
        """Serve on a thread; ``server.server_address`` says where. Stop with ``shutdown()``."""
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, body: Any) -> None:
                data = json.dumps(body, ensure_ascii=False).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json;charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path == "/_messages":
                    self._answer(emulator.messages)
                    return
                self._answer(emulator.handle("GET", dict(parse_qsl(parts.query, keep_blank_values=True))))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = self.rfile.read(length).decode()
                self._answer(emulator.handle("POST", dict(parse_qsl(form, keep_blank_values=True))))

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer((host, port), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8650)
    parser.add_argument("--key", action="append", default=[], help="ACCESS_KEY_ID:SECRET (repeatable)")
    parser.add_argument("--sign-name", default="Encore")
    args = parser.parse_args()
    keys = dict(item.split(":", 1) for item in args.key) or {"test-id": "test-secret"}
    server = Emulator(keys, (args.sign_name,)).serve(port=args.port)
    print(f"Aliyun SMS emulator on http://127.0.0.1:{args.port}/ templates: {template_setting()}")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.shutdown()


if __name__ == "__main__":
    main()
