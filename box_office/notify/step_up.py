"""The e-mail carrying the code that confirms moving a ticket to another phone (zh and en)."""

from __future__ import annotations

from email.message import EmailMessage

from box_office.core.device_binding import STEP_UP_SECONDS


def step_up_email(sender: str, recipient: str, ticket_id: str, code: str) -> EmailMessage:
    """Both languages in one message: the buyer's language is not known from an e-mail address."""
    minutes = STEP_UP_SECONDS // 60
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = f"换机确认码 / Code to move your ticket to a new phone: {code}"
    message.set_content(
        "\n".join(
            [
                f"您的确认码：{code}",
                f"有人请求把门票 {ticket_id} 转到另一部手机上显示。确认码 {minutes} 分钟内有效。"
                "如果不是您本人操作，请忽略本邮件，门票仍留在原来的手机上。",
                "",
                f"Your confirmation code: {code}",
                f"Someone asked to show ticket {ticket_id} on another phone. The code works for"
                f" {minutes} minutes. If it was not you, ignore this e-mail: the ticket stays on"
                " the phone it is on.",
            ]
        )
    )
    return message
