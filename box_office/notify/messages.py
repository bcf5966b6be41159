# ruff: noqa: E501  (message strings and inline HTML read better unwrapped)
"""What every buyer message says, in Chinese and English: tickets, refund, expiry, exchange,
transfer, postponement and cancellation. Pure: facts in, (subject, text, html) out. No I/O.

Buyers see names, never codes (zone "Stalls", not "A"; "Adult", not "adult"), the venue, the
session's time with its time zone, the price paid, the order number, holders masked, and a link
to their order page (``/me/orders/{id}``), never an API URL.

Other features queue a message with one call per kind (``box_office.sales.notices``:
``queue_exchange``, ``queue_transfer``, ``queue_postponement``, ``queue_cancellation``, ...) in their
transaction; the delivery loop reads the order's facts (``sales.message_facts``), renders it here
and ``box_office.notify.compose`` makes the e-mail.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

LIVE_PAGE_ZH = "请在手机上打开门票页面出示动态二维码："
LIVE_PAGE_EN = "Open the ticket page on your phone and show its live code: "
BOUND_NOTE = (
    "已绑定手机的门票不附二维码图片：二维码每 15 秒更新一次，截图无法入场。",
    "Tickets linked to your phone have no QR picture attached: their code changes every 15 s,"
    " and a screenshot does not get in.",
)
"""Said in both languages whatever the buyer's: a bound ticket at the gate depends on it."""

KINDS = ("tickets", "refund", "expiry", "exchange", "transfer", "postponement", "cancellation")


@dataclass(frozen=True)
class TicketFacts:
    id: str
    zone_name: str
    type_name: str
    place: str
    """The seat label, or the standing area's name."""
    seated: bool
    holder: str | None
    price_cents: int
    qr_cid: str | None = None
    """Content-ID of the inline QR image (valid tickets only; None for a phone-bound ticket)."""
    live_url: str | None = None
    """A ticket bound to the buyer's phone: its live page. Its static QR is refused at the gates
    (``stale_code``) and a picture in a mailbox is what a screenshot is, so none is attached and
    the message says to open this page on that phone instead."""


@dataclass(frozen=True)
class OrderFacts:
    order_id: int
    event_name: str
    venue_name: str
    session_name: str
    starts_at: float
    ends_at: float
    timezone: str
    currency: str
    total_cents: int
    order_url: str
    language: str
    tickets: tuple[TicketFacts, ...] = ()
    extra: dict[str, str] = field(default_factory=dict)
    """Kind-specific facts: ``new_time`` (postponement), ``to`` (transfer), ``reason``."""


def money(cents: int, currency: str) -> str:
    symbol = {"CNY": "¥", "USD": "$", "EUR": "€", "HKD": "HK$"}.get(currency, currency + " ")
    return f"{symbol}{cents // 100:,}.{cents % 100:02d}"


def session_time(facts: OrderFacts) -> str:
    """``2026-12-31 20:00 CST (UTC+08:00, Asia/Shanghai)``: the time and which clock it is on."""
    local = datetime.fromtimestamp(facts.starts_at, ZoneInfo(facts.timezone))
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()} (UTC{offset[:3]}:{offset[3:]}, {facts.timezone})"


_T = {
    "en": {
        "tickets_subject": "Your {n} ticket(s) for {event} – order {order}",
        "refund_subject": "Refund for order {order} – {event}",
        "expiry_subject": "Order {order} expired – {event}",
        "exchange_subject": "Your exchanged tickets for {event} – order {order}",
        "transfer_subject": "Tickets for {event} transferred – order {order}",
        "postponement_subject": "{event} is postponed – order {order}",
        "cancellation_subject": "{event} is cancelled – order {order}",
        "tickets_intro": "Here are your tickets. Show each QR code at the gate; each admits once.",
        "refund_intro": "Your order was refunded: {amount} goes back to the account you paid from. The tickets no longer admit.",
        "expiry_intro": "Your order was not paid in time, so the seats were released. Nothing was charged.",
        "exchange_intro": "Your tickets were exchanged. Only the tickets in this e-mail admit; earlier QR codes no longer work.",
        "transfer_intro": "Your tickets were transferred to another buyer. They no longer admit for you.",
        "postponement_intro": "The show has moved to a new date (below). Your tickets stay valid for the new date.",
        "cancellation_intro": "We are sorry: the show is cancelled. Your order will be refunded in full ({amount}).",
        "event": "Event", "venue": "Venue", "when": "When", "order": "Order", "total": "Paid",
        "zone": "Zone", "type": "Ticket type", "seat": "Seat", "area": "Standing area", "holder": "Holder",
        "price": "Price", "view": "Your order page", "reason": "Reason",
        "calendar": "The attached calendar file adds the show to your calendar.",
    },
    "zh": {
        "tickets_subject": "您的 {n} 张门票：{event}（订单 {order}）",
        "refund_subject": "订单 {order} 已退款：{event}",
        "expiry_subject": "订单 {order} 已过期：{event}",
        "exchange_subject": "您换票后的门票：{event}（订单 {order}）",
        "transfer_subject": "门票已转让：{event}（订单 {order}）",
        "postponement_subject": "{event} 延期通知（订单 {order}）",
        "cancellation_subject": "{event} 取消通知（订单 {order}）",
        "tickets_intro": "这是您的门票。入场时请出示每张票的二维码，每个二维码只能入场一次。",
        "refund_intro": "您的订单已退款：{amount} 将原路退回。门票已失效。",
        "expiry_intro": "您的订单未在规定时间内支付，座位已释放，未产生任何扣款。",
        "exchange_intro": "您的门票已更换。仅本邮件中的门票有效，之前的二维码已失效。",
        "transfer_intro": "您的门票已转让给其他购票人，您持有的门票已失效。",
        "postponement_intro": "演出已改期（新时间见下方）。您的门票在新日期继续有效。",
        "cancellation_intro": "很抱歉，演出已取消。您的订单将全额退款（{amount}）。",
        "event": "演出", "venue": "场馆", "when": "时间", "order": "订单号", "total": "实付金额",
        "zone": "票区", "type": "票种", "seat": "座位", "area": "站票区", "holder": "持票人",
        "price": "票价", "view": "查看我的订单", "reason": "原因",
        "calendar": "附件中的日历文件可将演出加入您的日历。",
    },
}  # fmt: skip

SHOWS_TICKETS = frozenset({"tickets", "exchange"})


def render(kind: str, facts: OrderFacts) -> tuple[str, str, str]:
    """(subject, plain text, HTML) of a ``kind`` message in the buyer's language.

    Raises ValueError for a tickets or exchange message with no ticket: a "your tickets" e-mail
    with nothing in it (the refunded-before-delivery bug) must never be written.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown message kind {kind}")
    if kind in SHOWS_TICKETS and not facts.tickets:
        raise ValueError(f"a {kind} message needs at least one ticket")
    t = _T["zh" if facts.language == "zh" else "en"]
    amount = money(facts.total_cents, facts.currency)
    values = {
        "n": str(len(facts.tickets)),
        "event": facts.event_name,
        "order": str(facts.order_id),
        "amount": amount,
        "to": facts.extra.get("to", ""),
        "new_time": facts.extra.get("new_time", ""),
    }
    subject = t[f"{kind}_subject"].format(**values)
    intro = t[f"{kind}_intro"].format(**values)
    when = session_time(facts)
    heads = [
        (t["event"], f"{facts.event_name} · {facts.session_name}"),
        (t["venue"], facts.venue_name),
        (t["when"], when),
        (t["order"], str(facts.order_id)),
        (t["total"], amount),
    ]
    if facts.extra.get("reason"):
        heads.append((t["reason"], facts.extra["reason"]))
    show = kind in SHOWS_TICKETS
    lines = [subject, "", intro, ""] + [f"{k}: {v}" for k, v in heads]
    if show:
        lines.append("")
        for n, ticket in enumerate(facts.tickets, 1):
            where = f"{t['seat']} {ticket.place}" if ticket.seated else f"{t['area']} {ticket.place}"
            holder = f", {t['holder']} {ticket.holder}" if ticket.holder else ""
            lines.append(
                f"{n}. {t['zone']} {ticket.zone_name} · {t['type']} {ticket.type_name} · {where}{holder} · "
                f"{t['price']} {money(ticket.price_cents, facts.currency)}"
            )
            if ticket.live_url:
                lines += [f"   {LIVE_PAGE_ZH}{ticket.live_url}", f"   {LIVE_PAGE_EN}{ticket.live_url}"]
        if any(ticket.live_url for ticket in facts.tickets):
            lines += ["", *BOUND_NOTE]
        lines += ["", t["calendar"]]
    lines += ["", f"{t['view']}: {facts.order_url}"]
    text = "\n".join(lines) + "\n"

    rows = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in heads)
    cards = ""
    if show:
        for ticket in facts.tickets:
            where = t["seat"] if ticket.seated else t["area"]
            holder = (
                f"<tr><th>{escape(t['holder'])}</th><td>{escape(ticket.holder)}</td></tr>"
                if ticket.holder
                else ""
            )
            image = (
                f'<img src="cid:{escape(ticket.qr_cid)}" width="220" height="220" alt="QR {escape(ticket.place)}">'
                if ticket.qr_cid
                else ""
            )
            if ticket.live_url:
                image = (
                    f'<p><a class="button" href="{escape(ticket.live_url)}">{escape(LIVE_PAGE_ZH)}</a></p>'
                    f"<p>{escape(LIVE_PAGE_EN)}{escape(ticket.live_url)}</p>"
                    + "".join(f'<p style="color:#5b6478;font-size:13px">{escape(x)}</p>' for x in BOUND_NOTE)
                )
            cards += (
                '<div class="ticket">'
                f"{image}<table>"
                f"<tr><th>{escape(t['zone'])}</th><td>{escape(ticket.zone_name)}</td></tr>"
                f"<tr><th>{escape(t['type'])}</th><td>{escape(ticket.type_name)}</td></tr>"
                f"<tr><th>{escape(where)}</th><td>{escape(ticket.place)}</td></tr>{holder}"
                f"<tr><th>{escape(t['price'])}</th><td>{escape(money(ticket.price_cents, facts.currency))}</td></tr>"
                "</table></div>"
            )
    html = (
        f'<!doctype html><html lang="{"zh-CN" if facts.language == "zh" else "en"}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(subject)}</title><style>"
        "body{font-family:system-ui,'PingFang SC','Noto Sans CJK SC',sans-serif;color:#1d2433;margin:0;"
        "background:#f4f6fa}.wrap{max-width:560px;margin:0 auto;padding:16px}"
        ".card{background:#fff;border-radius:8px;padding:16px;margin-bottom:12px}"
        "th{text-align:left;color:#5b6478;font-weight:400;padding:2px 12px 2px 0;vertical-align:top;white-space:nowrap}"
        ".ticket{background:#fff;border:1px dashed #9aa3b5;border-radius:8px;padding:12px;margin-bottom:12px}"
        ".ticket img{display:block;margin:0 auto 8px}a.button{display:inline-block;background:#3559c7;color:#fff;"
        'padding:10px 16px;border-radius:6px;text-decoration:none}</style></head><body><div class="wrap">'
        f'<div class="card"><h1 style="font-size:20px">{escape(subject)}</h1><p>{escape(intro)}</p>'
        f"<table>{rows}</table></div>{cards}"
        f'<p><a class="button" href="{escape(facts.order_url)}">{escape(t["view"])}</a></p>'
        + (f'<p style="color:#5b6478;font-size:13px">{escape(t["calendar"])}</p>' if show else "")
        + "</div></body></html>"
    )
    return subject, text, html


def sms(kind: str, facts: OrderFacts) -> str:
    """A short text linking to the buyer's order page."""
    zh = facts.language == "zh"
    count = len(facts.tickets)
    what = {
        "tickets": (f"您的 {count} 张门票已出票", f"your {count} ticket(s) are ready"),
        "refund": ("订单已退款", "your order was refunded"),
        "expiry": ("订单未支付已过期", "your order expired unpaid"),
        "exchange": ("门票已更换", "your tickets were exchanged"),
        "transfer": ("门票已转让", "your tickets were transferred"),
        "postponement": ("演出已改期", "the show is postponed"),
        "cancellation": ("演出已取消，将全额退款", "the show is cancelled and will be refunded"),
    }[kind]
    if zh:
        return f"【Encore】{facts.event_name}：{what[0]}（订单 {facts.order_id}）。详情：{facts.order_url}"
    return f"Encore: {facts.event_name}: {what[1]} (order {facts.order_id}). Details: {facts.order_url}"


def choose_language(preferred: str | None, phone: str | None, email: str) -> str:
    """The buyer's language: their own choice when the account has one; otherwise Chinese for a
    mainland phone number (+86 or 11 digits starting with 1) or a Chinese mail domain, else English."""
    if preferred:
        return "zh" if preferred.lower().startswith("zh") else "en"
    digits = "".join(ch for ch in (phone or "") if ch.isdigit() or ch == "+")
    if digits.startswith("+86") or (len(digits) == 11 and digits.startswith("1")):
        return "zh"
    domain = email.rpartition("@")[2].lower()
    if domain.endswith(".cn") or domain in {"qq.com", "163.com", "126.com", "sina.com", "foxmail.com"}:
        return "zh"
    return "en"
