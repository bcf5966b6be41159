"""The console shell other features extend: a nav registry, the base template, shared CSS,
the language choice (zh/en from the browser, with a switch) and per-page string tables.

To add a page (promotions, after-sales, support):

    from box_office.console import shell
    shell.register_nav(
        shell.NavItem("promotions", "/console/promotions/", {"en": "Promotions", "zh": "促销"}, "view", 40)
    )
    shell.add_templates(Path(__file__).parent / "templates")   # templates extend "console/base.html"
    ...
    return shell.render(request, user, "promotions/list.html", {"title": ...}, STRINGS)

``STRINGS`` is a ``{"en": {...}, "zh": {...}}`` dict for that page; the template reads ``t.key``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape

from box_office.console.auth import ConsoleUserView

LANGS = ("zh", "en")
LANG_COOKIE = "console_lang"
SESSION_COOKIE = "encore_console"
TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class NavItem:
    key: str
    href: str
    labels: Mapping[str, str]
    permission: str = "view"
    order: int = 50


_NAV: dict[str, NavItem] = {}
_loaders: list[FileSystemLoader] = [FileSystemLoader(str(TEMPLATES))]
_env = Environment(loader=ChoiceLoader(_loaders), autoescape=select_autoescape(["html"]), trim_blocks=True)

BASE_STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "console": "Encore console",
        "sign_out": "Sign out",
        "sandbox": "SANDBOX / DEMO — payments are simulated, no real money moves",
        "role": "Role",
        "error": "Error",
        "back": "Back",
    },
    "zh": {
        "console": "Encore 主办方控制台",
        "sign_out": "退出登录",
        "sandbox": "沙盒 / 演示模式 —— 支付为模拟，不产生真实资金往来",
        "role": "角色",
        "error": "错误",
        "back": "返回",
    },
}
ROLE_NAMES = {
    "en": {"owner": "Owner", "staff": "Staff", "finance": "Finance"},
    "zh": {"owner": "所有者", "staff": "工作人员", "finance": "财务"},
}


def register_nav(item: NavItem) -> None:
    """Add (or replace, by key) an entry of the console's navigation bar."""
    _NAV[item.key] = item


def nav_items(user: ConsoleUserView | None) -> list[NavItem]:
    items = sorted(_NAV.values(), key=lambda i: (i.order, i.key))
    return [i for i in items if user is not None and user.may(i.permission)]


def add_templates(folder: Path) -> None:
    """Let a feature's templates be found (and extend ``console/base.html``)."""
    if not any(folder == Path(loader.searchpath[0]) for loader in _loaders):
        _loaders.append(FileSystemLoader(str(folder)))


def language(request: Request) -> str:
    """``?lang=`` first (the switch), then the cookie it sets, then the browser's Accept-Language."""
    chosen = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    if chosen in LANGS:
        return chosen
    for part in request.headers.get("accept-language", "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh"
        if tag.startswith("en"):
            return "en"
    return "en"


def strings(lang: str, *tables: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    merged: dict[str, str] = dict(BASE_STRINGS[lang])
    for table in tables:
        merged.update(table.get(lang, table.get("en", {})))
    return merged


def money(cents: int, currency: str = "CNY") -> str:
    symbol = {"CNY": "¥", "USD": "$", "EUR": "€"}.get(currency, currency + " ")
    return f"{symbol}{cents // 100:,}.{cents % 100:02d}"


def when(ts: float | None, tz: str = "Asia/Shanghai") -> str:
    if ts is None:
        return "—"
    return datetime.fromtimestamp(ts, ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M %Z")


_env.filters["money"] = money
_env.filters["when"] = when


def render(
    request: Request,
    user: ConsoleUserView | None,
    template: str,
    context: Mapping[str, Any],
    *tables: Mapping[str, Mapping[str, str]],
    status_code: int = 200,
) -> HTMLResponse:
    lang = language(request)
    app_state = request.app.state.box_office
    page = _env.get_template(template).render(
        {
            "lang": lang,
            "t": strings(lang, *tables),
            "user": user,
            "role_name": ROLE_NAMES[lang].get(user.role, user.role) if user else "",
            "nav": [(i.href, i.labels.get(lang, i.labels.get("en", i.key)), i.key) for i in nav_items(user)],
            "sandbox": bool(app_state.ctx.settings.sandbox),
            "path": request.url.path,
            "other_lang": "en" if lang == "zh" else "zh",
            **context,
        }
    )
    response = HTMLResponse(page, status_code=status_code)
    if request.query_params.get("lang") in LANGS:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", httponly=True)
    return response
