"""What a box office process is wired to: its payment providers, mailer and SMS gateway.

Configuration decides; the HTTP app (``api.app``) and the background process (``background``)
both build their adapters here, so the two can never be wired differently.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import partial

from box_office.config import ConfigError, Settings, check_safe
from box_office.context import Context
from box_office.notify.mail import FileMailer, Mailer, SmtpMailer
from box_office.notify.sms import LogSms, SmsGateway
from box_office.notify.sms_aliyun import DEFAULT_ENDPOINT, AliyunSms, templates_from
from box_office.payments.alipay import settings as alipay_settings
from box_office.payments.alipay.provider import AlipayProvider
from box_office.payments.card import settings as card_settings
from box_office.payments.card.provider import CardProvider
from box_office.payments.provider import PaymentProvider, ProviderRegistry
from box_office.payments.sandbox import bank
from box_office.payments.sandbox.client import SandboxProvider
from box_office.payments.wechat.settings import load_wechat_settings


def default_providers(settings: Settings, ctx: Context | None = None) -> ProviderRegistry:
    """The providers this configuration enables: the sandbox only with ``BOX_OFFICE_SANDBOX=on``
    (refused with the public secret on a production start). With ``ctx`` and the bank mounted
    in this server, the sandbox provider checks notifications against the bank's table directly."""
    check_safe(settings)
    providers: list[PaymentProvider] = []
    if settings.sandbox:
        books = partial(bank.books, ctx) if ctx is not None and settings.sandbox_url is None else None
        providers.append(SandboxProvider(settings.sandbox_base, settings.sandbox_secret, books=books))
    wechat = load_wechat_settings(settings.extra)  # ConfigError (one clear line) when unusable
    if wechat is not None:
        from box_office.payments.wechat.provider import WeChatPayProvider

        if wechat.gateway.startswith("http://") and settings.production and not settings.sandbox:
            raise ConfigError(
                "BOX_OFFICE_WECHAT_GATEWAY is a plain-http (emulator) address on a production start: "
                "the WeChat Pay emulator is a development tool (it needs BOX_OFFICE_SANDBOX=on)"
            )

        refund_url = f"{settings.public_url.rstrip('/')}/api/payments/wechat/refund-notify"
        providers.append(WeChatPayProvider(wechat, refund_notify_url=refund_url))
    providers.extend(alipay_and_card(os.environ))
    return ProviderRegistry(providers)


def alipay_and_card(env: Mapping[str, str]) -> list[PaymentProvider]:
    """Alipay and cards, each enabled when its ``BOX_OFFICE_ALIPAY_*`` / ``BOX_OFFICE_CARD_*``
    settings are present (and refused at start with a clear error when they are wrong)."""
    enabled: list[PaymentProvider] = []
    alipay = alipay_settings.load(env)
    if alipay is not None:
        enabled.append(AlipayProvider(alipay))
    card = card_settings.load(env)
    if card is not None:
        enabled.append(CardProvider(card))
    return enabled


def default_mailer(settings: Settings) -> Mailer:
    if settings.smtp_host:
        return SmtpMailer(settings.smtp_host, settings.smtp_port)
    return FileMailer(settings.state_dir / "mail")


def default_sms(settings: Settings) -> SmsGateway:
    """The log file by default; Aliyun SMS with ``BOX_OFFICE_SMS=aliyun`` (issue #13)."""
    if settings.sms_backend == "aliyun":
        return aliyun_sms(settings)
    if settings.sms_backend != "log":
        raise ConfigError(f"BOX_OFFICE_SMS must be log or aliyun, not {settings.sms_backend!r}")
    return LogSms(settings.state_dir / "sms.log")


def aliyun_sms(settings: Settings) -> AliyunSms:
    extra = settings.extra
    missing = [
        name
        for name in (
            "aliyun_access_key_id",
            "aliyun_access_key_secret",
            "aliyun_sign_name",
            "aliyun_templates",
        )
        if not extra.get(name)
    ]
    if missing:
        raise ConfigError(
            "BOX_OFFICE_SMS=aliyun needs " + ", ".join("BOX_OFFICE_" + m.upper() for m in missing)
        )
    return AliyunSms(
        extra["aliyun_access_key_id"],
        extra["aliyun_access_key_secret"],
        extra["aliyun_sign_name"],
        templates_from(extra["aliyun_templates"]),
        endpoint=extra.get("aliyun_endpoint") or DEFAULT_ENDPOINT,
    )
