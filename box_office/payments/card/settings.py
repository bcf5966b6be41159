"""Card settings, from ``BOX_OFFICE_CARD_*`` environment variables, checked at start.

The secret key and the webhook signing secret come from files (``*_FILE``) or, for a laptop,
the variables themselves; nothing here ever prints them. Cards are enabled only when a secret
key is given. ``BOX_OFFICE_CARD_API_BASE`` points the stripe package at another API host (the
local emulator); ``BOX_OFFICE_CARD_PAY_PAGE`` is where a buyer enters the card (the emulator's
hosted page by default, ``{id}`` and ``{client_secret}`` filled in).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from box_office.config import ConfigError

PREFIX = "BOX_OFFICE_CARD_"
SECRET_KEY = re.compile(r"^(sk|rk)_(test|live)_[0-9A-Za-z]{8,}$")
WEBHOOK_SECRET = re.compile(r"^whsec_[0-9A-Za-z+/=]{8,}$")
PUBLISHABLE_KEY = re.compile(r"^pk_(test|live)_[0-9A-Za-z]{8,}$")
STRIPE_API = "https://api.stripe.com"


@dataclass(frozen=True)
class CardSettings:
    secret_key: str = field(repr=False)
    webhook_secret: str = field(repr=False)
    api_base: str = STRIPE_API
    pay_page: str = ""
    return_url: str = ""
    publishable_key: str = ""
    timeout: float = 30.0
    webhook_tolerance: int = 300


def _secret(env: Mapping[str, str], name: str) -> str:
    path = env.get(PREFIX + name + "_FILE", "")
    if path:
        try:
            return Path(path).read_text().strip()
        except FileNotFoundError:
            raise ConfigError(f"{PREFIX}{name}_FILE: no file at {path}") from None
        except OSError as exc:
            raise ConfigError(f"{PREFIX}{name}_FILE: cannot read {path} ({exc.strerror})") from None
    return env.get(PREFIX + name, "").strip()


def load(env: Mapping[str, str]) -> CardSettings | None:
    """The card settings in ``env``, or None when cards are not configured."""
    secret_key = _secret(env, "SECRET_KEY")
    if not secret_key:
        return None
    if not SECRET_KEY.match(secret_key):
        raise ConfigError(
            f"{PREFIX}SECRET_KEY: not a secret key (sk_test_… / sk_live_…; a pk_ key is public)"
        )
    webhook_secret = _secret(env, "WEBHOOK_SECRET")
    if not WEBHOOK_SECRET.match(webhook_secret):
        raise ConfigError(f"{PREFIX}WEBHOOK_SECRET: required, the endpoint's signing secret (whsec_…)")
    api_base = env.get(PREFIX + "API_BASE", STRIPE_API).rstrip("/")
    if not api_base.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        raise ConfigError(f"{PREFIX}API_BASE: {api_base!r} must be https (plain http only on loopback)")
    publishable = env.get(PREFIX + "PUBLISHABLE_KEY", "")
    if publishable and not PUBLISHABLE_KEY.match(publishable):
        raise ConfigError(f"{PREFIX}PUBLISHABLE_KEY: not a publishable key (pk_test_… / pk_live_…)")
    if secret_key.split("_")[1] != (publishable.split("_")[1] if publishable else secret_key.split("_")[1]):
        raise ConfigError(f"{PREFIX}PUBLISHABLE_KEY: test and live keys mixed")
    try:
        timeout = float(env.get(PREFIX + "TIMEOUT", "30"))
    except ValueError:
        raise ConfigError(f"{PREFIX}TIMEOUT: seconds, a number") from None
    return CardSettings(
        secret_key=secret_key,
        webhook_secret=webhook_secret,
        api_base=api_base,
        pay_page=env.get(PREFIX + "PAY_PAGE", api_base + "/pay/{id}?client_secret={client_secret}"),
        return_url=env.get(PREFIX + "RETURN_URL", ""),
        publishable_key=publishable,
        timeout=timeout,
    )
