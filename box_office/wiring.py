"""What a box office process is wired to: its payment providers, mailer and SMS gateway.

Configuration decides; the HTTP app (``api.app``) and the background process (``background``)
both build their adapters here, so the two can never be wired differently.
"""

from __future__ import annotations

from functools import partial

from box_office.config import ConfigError, Settings, check_safe
from box_office.context import Context
from box_office.notify.mail import FileMailer, Mailer, SmtpMailer
from box_office.notify.sms import LogSms, SmsGateway
from box_office.notify.sms_aliyun import DEFAULT_ENDPOINT, AliyunSms, templates_from
from box_office.payments.provider import PaymentProvider, ProviderRegistry
from box_office.payments.sandbox import bank
from box_office.payments.sandbox.client import SandboxProvider


def default_providers(settings: Settings, ctx: Context | None = None) -> ProviderRegistry:
    """The providers this configuration enables: the sandbox only with ``BOX_OFFICE_SANDBOX=on``
    (refused with the public secret on a production start). With ``ctx`` and the bank mounted
    in this server, the sandbox provider checks notifications against the bank's table directly."""
    check_safe(settings)
    providers: list[PaymentProvider] = []
    if settings.sandbox:
        books = partial(bank.books, ctx) if ctx is not None and settings.sandbox_url is None else None
        providers.append(SandboxProvider(settings.sandbox_base, settings.sandbox_secret, books=books))
    return ProviderRegistry(providers)


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
