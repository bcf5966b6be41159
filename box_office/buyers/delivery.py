"""Send a one-time code where it must go: SMS through the configured gateway, or e-mail."""

from __future__ import annotations

import logging
import smtplib

from box_office.buyers.otp import Sent, otp_email
from box_office.context import Context
from box_office.core import otp
from box_office.errors import Unavailable
from box_office.notify.mail import Mailer
from box_office.notify.sms_templates import send_sms

log = logging.getLogger(__name__)

ACTIONS = {
    "refund": ("退款", "a refund"),
    "transfer": ("转赠门票", "a ticket transfer"),
    "holder": ("更换持票人", "a change of ticket holder"),
    "payment": ("大额付款", "a large payment"),
    "account": ("账户安全操作", "an account change"),
}


def deliver(
    ctx: Context, mailer: Mailer, sms: object, sent: Sent, lang: str, action: str | None = None
) -> None:
    """Send the code now (a late code is of no use, so not through the outbox); 503 if the
    gateway fails, the same for every number, so a failure reveals nothing about accounts."""
    minutes = str(otp.CODE_SECONDS // 60)
    try:
        if sent.channel == "sms":
            if action is None:
                send_sms(sms, sent.target, "otp", lang, {"code": sent.code, "minutes": minutes})
            else:
                zh, en = ACTIONS.get(action, ACTIONS["account"])
                words = zh if lang == "zh" else en
                send_sms(
                    sms,
                    sent.target,
                    "step_up",
                    lang,
                    {"code": sent.code, "minutes": minutes, "action": words},
                )
        else:
            mailer.send(
                otp_email(ctx.settings.mail_from, sent.target, sent.code, "Encore 验证码", "Encore code")
            )
    except (OSError, smtplib.SMTPException, RuntimeError) as exc:
        log.warning("a one-time code could not be sent by %s: %s", sent.channel, exc)
        raise Unavailable(
            "the code could not be sent now: try again in a minute", "otp_unavailable"
        ) from None
