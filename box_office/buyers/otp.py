"""Sending and checking one-time codes (SMS or e-mail), throttled, stored as keyed digests.

The rules are ``core/otp.py``; this module writes ``buyer_otps`` and calls the gateways.
"Send me a code" answers the same for a number with an account and one without: both get a
code (the same code signs up or signs in), and the answer says only where it went, masked.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage

from sqlalchemy import select, true, update
from sqlalchemy.orm import Session as Db

from box_office.buyers.devices import derived_key
from box_office.context import Context
from box_office.core import otp
from box_office.core.errors import RuleError
from box_office.errors import Forbidden, Invalid, ServiceError
from box_office.store.models import BuyerOtp


class Throttled(ServiceError):
    """Too many codes asked for: wait ``retry_after`` seconds."""

    status = 429
    default_code = "otp_throttled"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Sent:
    challenge: str
    channel: str
    target: str
    masked: str
    code: str  # returned to the caller that sends it; never stored, never answered

    def answer(self) -> dict[str, object]:
        return {
            "challenge": self.challenge,
            "channel": self.channel,
            "sent_to": self.masked,
            "expires_in": otp.CODE_SECONDS,
            "resend_in": otp.THROTTLES["target"][0].seconds,
        }


def normalised(channel: str, raw: str) -> str:
    try:
        return otp.normalise_phone(raw) if channel == "sms" else otp.normalise_email(raw)
    except RuleError as exc:
        raise Invalid(str(exc), exc.code) from None


def create(
    ctx: Context,
    channel: str,
    target: str,
    *,
    purpose: str,
    ip: str,
    device: str,
    account_id: int | None = None,
) -> Sent:
    """Record a new code for ``target`` (already normalised) unless a throttle says wait."""
    now = ctx.now()
    challenge = secrets.token_urlsafe(18)
    code = otp.new_code(secrets.token_bytes(8))
    key = derived_key(ctx.settings, "otp")
    per_ip = ctx.settings.extra.get("otp_per_ip_hour")
    rules = otp.throttles(int(per_ip) if per_ip else None)

    def work(db: Db) -> None:
        ctx.db.lock_subjects(db, [f"otp:{target}", f"otp-ip:{ip}", f"otp-dev:{device}"])
        since = now - 3600
        sent_at = {
            kind: [
                float(t)
                for t in db.scalars(
                    select(BuyerOtp.created_at).where(
                        column == value,
                        BuyerOtp.created_at > since,
                        # a number's gap is per purpose: a step-up right after signing in is fine
                        BuyerOtp.purpose == purpose if kind == "target" else true(),
                    )
                )
            ]
            for kind, column, value in (
                ("target", BuyerOtp.target, target),
                ("ip", BuyerOtp.ip, ip),
                ("device", BuyerOtp.device, device),
            )
        }
        wait = otp.retry_after(sent_at, now, rules)
        if wait:
            raise Throttled(f"too many codes asked for: try again in {wait} s", wait)
        db.add(
            BuyerOtp(
                id=challenge,
                channel=channel,
                target=target,
                purpose=purpose,
                account_id=account_id,
                digest=otp.code_digest(key, challenge, code),
                expires_at=now + otp.CODE_SECONDS,
                tries=0,
                used_at=None,
                ip=ip[:64],
                device=device[:64],
                created_at=now,
            )
        )

    ctx.db.write(work)
    return Sent(challenge, channel, target, otp.mask_target(channel, target), code)


@dataclass(frozen=True)
class Verified:
    channel: str
    target: str
    account_id: int | None


def check(ctx: Context, challenge: str, code: str, purpose: str) -> Verified:
    """Spend one try of ``challenge``; the right code within its time and tries passes once.

    The try is counted in its own transaction before the code is compared, so a wrong code
    cannot be retried by racing requests, and the count survives the refusal.
    """
    now = ctx.now()
    key = derived_key(ctx.settings, "otp")

    def work(db: Db) -> tuple[Verified | None, RuleError | None]:
        row = (
            db.connection()
            .execute(
                update(BuyerOtp)
                .where(BuyerOtp.id == challenge, BuyerOtp.purpose == purpose)
                .values(tries=BuyerOtp.tries + 1)
                .returning(
                    BuyerOtp.digest,
                    BuyerOtp.expires_at,
                    BuyerOtp.tries,
                    BuyerOtp.used_at,
                    BuyerOtp.channel,
                    BuyerOtp.target,
                    BuyerOtp.account_id,
                )
            )
            .one_or_none()
        )
        if row is None:
            return None, RuleError("otp_unknown", "no such code was sent: ask for a new one")
        state = otp.Challenge(row.digest, row.expires_at, row.tries, row.used_at is not None)
        try:
            otp.check_code(key, challenge, state, code, now)
        except RuleError as exc:
            return None, exc
        used = db.connection().execute(
            update(BuyerOtp).where(BuyerOtp.id == challenge, BuyerOtp.used_at.is_(None)).values(used_at=now)
        )
        if used.rowcount != 1:
            return None, RuleError("otp_used", "this code was used already: ask for a new one")
        return Verified(row.channel, row.target, row.account_id), None

    verified, refusal = ctx.db.write(work)
    if refusal is not None:
        raise Forbidden(str(refusal), refusal.code)
    assert verified is not None
    return verified


def otp_email(sender: str, recipient: str, code: str, subject_zh: str, subject_en: str) -> EmailMessage:
    """The e-mailed code, both languages in one message (an address says no language)."""
    minutes = otp.CODE_SECONDS // 60
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = f"{subject_zh} / {subject_en}: {code}"
    message.set_content(
        f"您的验证码：{code}（{minutes} 分钟内有效，请勿告诉他人）。如果不是您本人操作，请忽略本邮件。\n\n"
        f"Your code: {code} (it works for {minutes} minutes; never share it). "
        "If it was not you, ignore this e-mail.\n"
    )
    return message


Deliver = Callable[[Sent], None]
