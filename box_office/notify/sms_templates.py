"""The SMS a buyer receives, in Chinese and English, as templates with named parameters.

Mainland SMS services (Aliyun, Tencent Cloud) send only pre-approved templates filled with
parameters, so every message is a template code plus parameters here too: the provider adapter
sends the code and the parameters, the log-file gateway writes the text rendered below.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

# kind -> language -> text with ${name} parameters (the syntax Aliyun's templates use)
TEMPLATES: Mapping[str, Mapping[str, str]] = {
    "otp": {
        "zh": "【Encore】您的验证码为${code}，${minutes}分钟内有效。请勿告诉他人。",
        "en": "[Encore] Your code is ${code}. It works for ${minutes} minutes. Never share it.",
    },
    "step_up": {
        "zh": "【Encore】您正在进行${action}，确认码${code}，${minutes}分钟内有效。如非本人操作请忽略。",
        "en": "[Encore] Code ${code} confirms: ${action}. Valid ${minutes} min. Not you? Ignore it.",
    },
    "notice": {"zh": "【Encore】${content}", "en": "[Encore] ${content}"},
    "tickets": {
        "zh": "【Encore】您的${count}张门票（${event}）已出票，订单 ${order}。查看门票：${url}",
        "en": "[Encore] ${count} ticket(s) for ${event} are ready, order ${order}. Your tickets: ${url}",
    },
}
LANGUAGES = ("zh", "en")


def language_of(lang: str | None) -> str:
    return "en" if lang and lang.lower().startswith("en") else "zh"


def render(kind: str, lang: str, params: Mapping[str, str]) -> str:
    text = TEMPLATES[kind][language_of(lang)]
    for name, value in params.items():
        text = text.replace("${" + name + "}", str(value))
    return text


class TemplatedSms(Protocol):
    """A gateway that sends a template and its parameters (what mainland providers take)."""

    def send_template(self, to: str, kind: str, lang: str, params: Mapping[str, str]) -> None: ...


def send_sms(gateway: object, to: str, kind: str, lang: str, params: Mapping[str, str]) -> None:
    """Send through a template gateway when it is one, else as rendered text (``send``)."""
    lang = language_of(lang)
    templated = getattr(gateway, "send_template", None)
    if templated is not None:
        templated(to, kind, lang, {k: str(v) for k, v in params.items()})
    else:
        gateway.send(to, render(kind, lang, params))  # type: ignore[attr-defined]
