"""Configuration from environment variables, with defaults that need nothing.

With no configuration at all the box office keeps everything under a state directory
(``~/.local/state/encore/box_office`` or ``$BOX_OFFICE_STATE_DIR``): the SQLite database,
the generated secret key, and mail it could not send (written as ``.eml`` files). Production
sets ``BOX_OFFICE_DATABASE_URL`` (PostgreSQL) and ``BOX_OFFICE_SECRET_KEY``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.fernet import Fernet


class ConfigError(ValueError):
    """A configuration value that cannot be used, with the variable's name."""


DEFAULT_SANDBOX_SECRET = "sandbox-merchant-secret"
"""The sandbox merchant secret everyone can read in this repository: fine on a laptop, never in
production (:func:`check_safe` refuses it there)."""


PROVIDER_PREFIXES = ("BOX_OFFICE_WECHAT_", "BOX_OFFICE_ALIPAY_", "BOX_OFFICE_CARD_")
"""Variables of the real payment providers, kept in ``Settings.extra`` for their own loaders."""


def default_state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "encore" / "box_office"


@dataclass(frozen=True)
class Settings:
    """Everything the box office needs to run; build with :func:`load_settings` or directly in tests.

    ``secret_key`` is a Fernet key: it encrypts holder identities and the events' private
    signing keys at rest. It lives in configuration, never in the database, so a database dump
    alone exposes neither.
    """

    database_url: str
    secret_key: bytes
    state_dir: Path
    public_url: str = "http://127.0.0.1:8000"
    smtp_host: str | None = None
    smtp_port: int = 25
    mail_from: str = "tickets@encore.invalid"
    admin_token: str | None = None
    environment: str = "development"
    # The sandbox payment provider and its bank are development tools: off unless enabled
    # (BOX_OFFICE_SANDBOX=on; the tests and `encore demo` enable them).
    sandbox: bool = False
    sandbox_secret: str = DEFAULT_SANDBOX_SECRET
    sandbox_url: str | None = None
    sweep_interval: float = 5.0
    delivery_interval: float = 1.0
    live_interval: float = 0.25
    sms_backend: str = "log"
    # Admission control per worker process (api/admission.py): buying requests served at once,
    # and waiting in line; beyond both, 429 with Retry-After.
    max_inflight: int = 6
    max_queue: int = 4
    extra: dict[str, str] = field(default_factory=dict)
    # POST /api/accounts (an account from an unverified e-mail, issue #13): a development tool.
    # None follows the sandbox switch; never on with BOX_OFFICE_ENV=production.
    open_accounts: bool | None = None

    @property
    def production(self) -> bool:
        """A production start: ``BOX_OFFICE_ENV=production``, or a PostgreSQL database."""
        return self.environment == "production" or self.database_url.startswith("postgresql")

    @property
    def accounts_open(self) -> bool:
        """Whether ``POST /api/accounts`` hands out buyer tokens without a verified number."""
        if self.environment == "production":
            return False
        return self.sandbox if self.open_accounts is None else self.open_accounts

    @property
    def sandbox_base(self) -> str:
        """Where the sandbox payment provider answers (by default: mounted in this server)."""
        return (self.sandbox_url or self.public_url).rstrip("/") + "/sandbox"


def _secret_key(state_dir: Path) -> bytes:
    value = os.environ.get("BOX_OFFICE_SECRET_KEY")
    if value:
        try:
            Fernet(value.encode())
        except ValueError:
            raise ConfigError(
                "BOX_OFFICE_SECRET_KEY is not a Fernet key (32 url-safe base64 bytes)"
            ) from None
        return value.encode()
    path = state_dir / "secret.key"
    if path.exists():
        return path.read_bytes().strip()
    key = Fernet.generate_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key


def check_safe(settings: Settings) -> Settings:
    """Refuse settings that would let anyone forge a payment: the sandbox enabled with the
    built-in secret on a production start. Returns the settings; raises :class:`ConfigError`."""
    if settings.sandbox and settings.production and settings.sandbox_secret == DEFAULT_SANDBOX_SECRET:
        raise ConfigError(
            "the sandbox payment provider is on (BOX_OFFICE_SANDBOX=on) with the built-in public "
            "secret on a production start (PostgreSQL or BOX_OFFICE_ENV=production): anyone could "
            "sign payment notifications. Set BOX_OFFICE_SANDBOX_SECRET to a secret of your own, "
            "or BOX_OFFICE_SANDBOX=off"
        )
    if settings.open_accounts and settings.environment == "production":
        raise ConfigError(
            "BOX_OFFICE_OPEN_ACCOUNTS=on on a production start: accounts without a verified "
            "mobile number or e-mail would get around every purchase limit"
        )
    return settings


def _switch(source: Mapping[str, str], name: str) -> bool:
    value = source.get(name, "off").strip().lower() or "off"
    if value not in ("on", "off"):
        raise ConfigError(f"{name} must be on or off, not {value!r}")
    return value == "on"


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Settings from ``BOX_OFFICE_*`` environment variables; raises :class:`ConfigError`."""
    source = os.environ if env is None else env
    state_dir = Path(source.get("BOX_OFFICE_STATE_DIR") or default_state_dir())
    state_dir.mkdir(parents=True, exist_ok=True)
    url = source.get("BOX_OFFICE_DATABASE_URL") or f"sqlite:///{state_dir / 'box_office.sqlite3'}"
    try:
        smtp_port = int(source.get("BOX_OFFICE_SMTP_PORT", "25"))
    except ValueError:
        raise ConfigError("BOX_OFFICE_SMTP_PORT must be an integer") from None
    try:
        max_inflight = int(source.get("BOX_OFFICE_MAX_INFLIGHT", "6"))
        max_queue = int(source.get("BOX_OFFICE_MAX_QUEUE", "4"))
    except ValueError:
        raise ConfigError("BOX_OFFICE_MAX_INFLIGHT and BOX_OFFICE_MAX_QUEUE must be integers") from None
    if max_inflight < 1 or max_queue < 0:
        raise ConfigError("BOX_OFFICE_MAX_INFLIGHT must be >= 1 and BOX_OFFICE_MAX_QUEUE >= 0")
    environment = source.get("BOX_OFFICE_ENV", "development").strip().lower() or "development"
    if environment not in ("development", "production"):
        raise ConfigError(f"BOX_OFFICE_ENV must be development or production, not {environment!r}")
    return check_safe(
        Settings(
            database_url=url,
            secret_key=_secret_key(state_dir),
            state_dir=state_dir,
            public_url=source.get("BOX_OFFICE_PUBLIC_URL", "http://127.0.0.1:8000"),
            smtp_host=source.get("BOX_OFFICE_SMTP_HOST") or None,
            smtp_port=smtp_port,
            mail_from=source.get("BOX_OFFICE_MAIL_FROM", "tickets@encore.invalid"),
            admin_token=source.get("BOX_OFFICE_ADMIN_TOKEN") or None,
            environment=environment,
            sandbox=_switch(source, "BOX_OFFICE_SANDBOX"),
            sandbox_secret=source.get("BOX_OFFICE_SANDBOX_SECRET") or DEFAULT_SANDBOX_SECRET,
            sandbox_url=source.get("BOX_OFFICE_SANDBOX_URL") or None,
            sms_backend=source.get("BOX_OFFICE_SMS", "log"),
            max_inflight=max_inflight,
            max_queue=max_queue,
            open_accounts=_switch(source, "BOX_OFFICE_OPEN_ACCOUNTS")
            if "BOX_OFFICE_OPEN_ACCOUNTS" in source
            else None,
            extra={
                "no_orphan_seats": source.get("BOX_OFFICE_NO_ORPHAN_SEATS", "on"),  # seat_rules.py
                "otp_per_ip_hour": source.get("BOX_OFFICE_OTP_PER_IP_HOUR", ""),  # buyers/otp.py
                # notify/sms_aliyun.py, with BOX_OFFICE_SMS=aliyun
                **{
                    name.lower()[len("BOX_OFFICE_") :]: source.get(name, "")
                    for name in (
                        "BOX_OFFICE_ALIYUN_ACCESS_KEY_ID",
                        "BOX_OFFICE_ALIYUN_ACCESS_KEY_SECRET",
                        "BOX_OFFICE_ALIYUN_SIGN_NAME",
                        "BOX_OFFICE_ALIYUN_TEMPLATES",
                        "BOX_OFFICE_ALIYUN_ENDPOINT",
                    )
                },
            }
            # the payment providers' settings, validated by each provider's settings.py at start
            | {k: v for k, v in source.items() if k.startswith(PROVIDER_PREFIXES)},
        )
    )


def new_token() -> str:
    """A random bearer token for organisers, buyers and feed clients."""
    return secrets.token_urlsafe(24)
