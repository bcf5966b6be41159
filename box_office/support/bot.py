"""The Q&A bot (智能问答): answers a buyer from the event's FAQ and from their own orders.

Pure: it is handed the event's FAQ and the asking buyer's orders (``OrderFacts``, read by
``support.assistant`` for the authenticated buyer only) and returns an answer. It has no way to
reach another buyer's data; on top of that, a question that names an order number that is not
the buyer's, another person's e-mail, phone or ID number, or that tries to give it orders
("ignore previous instructions ...") gets a refusal that repeats none of it.

The order of decisions:
1. refuse: injection phrasing, someone else's order / contact / ID;
2. hand over: the buyer asks for a person;
3. order intents (my tickets, can I refund and how much, my seat, my invoice, my order);
4. the FAQ by BM25; under the confidence threshold: "I don't know", hand over to staff.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from box_office.core.orders import CANCELLED, EXPIRED, PAID, PENDING_PAYMENT, REFUNDED, SOLD, TICKETED
from box_office.support.retrieval import Bm25, coverage_words, tokens

MIN_COVERAGE = 0.4
"""Under this share of the question's weight found in the best FAQ entry, the bot hands over."""
MIN_SCORE = 0.0


@dataclass(frozen=True)
class FaqEntry:
    topic: str
    question_zh: str
    question_en: str
    answer_zh: str
    answer_en: str
    keywords: str = ""


@dataclass(frozen=True)
class TicketFacts:
    ticket_id: str
    seat_label: str | None
    area_name: str | None
    zone: str
    ticket_type: str
    status: str
    checked_in: bool


@dataclass(frozen=True)
class OrderFacts:
    """One of the asking buyer's orders, as the bot may tell it to that buyer."""

    order_id: int
    event_name: str
    session_name: str
    starts_at: float
    status: str
    total_cents: int
    currency: str
    expires_at: float
    tickets: tuple[TicketFacts, ...] = ()
    invoice: str | None = None
    """An invoice state if an invoicing module reports one (None: none issued)."""


@dataclass(frozen=True)
class BotAnswer:
    kind: str
    """faq | order | handover | refuse"""
    text: str
    topic: str | None = None
    intent: str | None = None
    confidence: float = 0.0
    category: str = "other"
    """The support category a hand-over opens a request in."""
    order_ids: tuple[int, ...] = field(default=())


class FaqIndex:
    """The event's FAQ ready to search; built once per FAQ version."""

    def __init__(self, entries: Sequence[FaqEntry]) -> None:
        self.entries = list(entries)
        documents = []
        for e in self.entries:
            # the questions count twice: they say what an entry is about more surely than its answer
            text = " ".join(
                (
                    e.question_zh,
                    e.question_en,
                    e.question_zh,
                    e.question_en,
                    e.keywords,
                    e.answer_zh,
                    e.answer_en,
                )
            )
            documents.append(tokens(text))
        self.bm25 = Bm25(documents)


# --- language ---------------------------------------------------------------------------------

_CJK = re.compile(r"[\u3400-\u9fff]")


def language(question: str, hint: str | None = None) -> str:
    """The question's own language wins over the page's: a buyer answers in the words they use."""
    if _CJK.search(question):
        return "zh"
    if re.search(r"[A-Za-z]", question):
        return "en"
    return hint if hint in ("zh", "en") else "zh"


# --- guards -----------------------------------------------------------------------------------

_PRIVATE = r"(订单|订单号|座位|位置|信息|资料|手机|手机号|电话|邮箱|身份证|名字|姓名)"
_INJECTION = re.compile(
    r"ignore (all |any |the )?(previous|prior|above|earlier|your)|disregard|system prompt|developer mode|"
    r"admin(istrator)? mode|you are now|jailbreak|sudo|debug mode|"
    r"all (the )?orders|every (buyer|order|customer)|"
    r"other (buyers|customers|users|people)'?s? ?"
    r"(orders?|seats?|tickets?|details|data|info|e-?mails?|phones?|names?)|"
    r"(what|which) (did|do|have) (the )?other (buyers|customers|users|people)|"
    r"some(one|body) else's|another (buyer|customer|user|person)'s|"
    r"忽略|无视|忘记(之前|以上|前面)|系统提示|管理员|开发者模式|调试模式|所有(的)?(订单|用户|买家)|"
    r"(别人|他人|其他人|其他用户|其他买家|其他顾客|他|她|朋友)的" + _PRIVATE,
    re.IGNORECASE,
)
"""Phrasing that asks for someone else's data or tries to give the bot orders. Narrow on
purpose: 他的身高 (a child's height) or 朋友的票能用吗 (a transfer question) are ordinary questions."""
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
_ID_NUMBER = re.compile(r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])")
_ORDER_NUMBER = re.compile(
    r"(?:order|订单|單|单号|#|no\.?|number|编号)\s*(?:no\.?|number|号|id|is)?\s*[:：#]?\s*(\d{1,12})"
    r"|(?<![\d.])(\d{5,12})(?![\d.])",
    re.IGNORECASE,
)
"""An order number: after a word that says so, or any bare number of 5 digits or more."""


def _mentioned_orders(question: str) -> list[int]:
    return [int(a or b) for a, b in _ORDER_NUMBER.findall(question)]


def _refusal(lang: str) -> str:
    if lang == "zh":
        return (
            "抱歉，我只能查看您本人（当前登录账号）的订单和本场演出的公开信息，"
            "无法提供其他人的订单或个人信息。"
        )
    return (
        "Sorry, I can only look at your own orders (the account you are signed in with) and this show's "
        "public information; I cannot tell anything about anyone else's orders or details."
    )


# --- intents ----------------------------------------------------------------------------------

_HUMAN = re.compile(
    r"人工|真人|找客服|联系客服|客服电话|投诉|human|real person|\bagent\b|operator|representative|"
    r"(speak|talk|chat) (to|with) (someone|somebody|staff|a person|customer service)|complain",
    re.IGNORECASE,
)
_INTENTS: list[tuple[str, re.Pattern[str]]] = [
    (
        "refund_quote",
        re.compile(
            r"(还|现在|能不能|能否|可以|可不可以|能)[^，。?？]{0,6}退|退[^，。?？]{0,4}(多少|几成|多少钱|全额)|"
            r"退(票|款)[^，。?？]{0,6}(吗|么|嘛)|"
            r"(can|could|may) i (still )?(get (a |my )?(money back|refund)|refund|cancel)|"
            r"how much[^.?]{0,30}(refund|back)|refund[^.?]{0,30}how much|"
            r"(get|have) my money back|is my (order|ticket) refundable|refund (my|this|the) (order|ticket)",
            re.IGNORECASE,
        ),
    ),
    (
        "invoice_status",
        re.compile(
            r"发票[^，。?？]{0,8}(好了|开好|开了|开出|到了|状态|进度|在哪|什么时候|没收到|还没)|(我的|我)[^，。?？]{0,4}发票|"
            r"(is|has) my (invoice|fapiao|receipt)|my (invoice|fapiao|receipt)|"
            r"(invoice|fapiao)[^.?]{0,20}(ready|status|issued|yet)",
            re.IGNORECASE,
        ),
    ),
    (
        "my_seat",
        re.compile(
            r"(我|我的)[^，。?？]{0,6}(座位|座|位置|几排|哪排|哪个区|区域)|(座位|座位号)[^，。?？]{0,6}(哪|多少|几)|"
            r"(what|which|where)('s| is| are)? my seats?|my seat (number|is|location)|where (am i|do i) sit|"
            r"which (row|section|zone) am i|my (row|section|zone)|seats? (of|for|in) (my |this )?order",
            re.IGNORECASE,
        ),
    ),
    (
        "my_tickets",
        re.compile(
            r"(我的|我)[^，。?？]{0,4}(票|门票|电子票)[^，。?？]{0,6}(在哪|哪里|哪儿|去哪|没收到|收不到|找不到|怎么看|出票|呢)|"
            r"(没|没有)收到[^，。?？]{0,4}(票|门票|电子票)|票[^，。?？]{0,3}(在哪|哪里看|哪儿看)|出票了吗|什么时候出票|"
            r"where (are|is) my (e-?)?tickets?|"
            r"my (e-?)?tickets?[^.?]{0,20}(where|arrive|receive|find|show|see)|"
            r"(didn't|did not|haven't|have not|never) (get|got|receive|received)[^.?]{0,12}tickets?|"
            r"(find|see|get|show) my tickets?|tickets? (have|has)n't arrived",
            re.IGNORECASE,
        ),
    ),
    (
        "order_status",
        re.compile(
            r"(我的)?订单[^，。?？]{0,6}(状态|成功|怎么样|如何)|(付款|支付)[^，。?？]{0,4}(成功|到账|了吗|没有)|"
            r"(did|has) my (payment|order)|my order( status| go through| is)?|order status|"
            r"payment (go through|succeed|work)",
            re.IGNORECASE,
        ),
    ),
]
INTENT_CATEGORY = {
    "refund_quote": "refund",
    "invoice_status": "invoice",
    "my_seat": "entry",
    "my_tickets": "entry",
    "order_status": "other",
}
TOPIC_CATEGORY = {
    "refund_policy": "refund",
    "transfer": "exchange",
    "invoice": "invoice",
    "doors": "entry",
    "entry_process": "entry",
    "real_name": "entry",
    "bags": "entry",
}


_POLICY = re.compile(r"规则|政策|手续费|多久|到账|policy|rules|fee|how long", re.IGNORECASE)
_PERSONAL = re.compile(r"我的|\bmy\b|\bmine\b")


def detect_intent(question: str) -> str | None:
    for name, pattern in _INTENTS:
        if pattern.search(question):
            return name
    return None


# --- answering --------------------------------------------------------------------------------


def answer(
    question: str,
    faq: FaqIndex,
    orders: Sequence[OrderFacts],
    now: float,
    *,
    lang_hint: str | None = None,
    own_contacts: Sequence[str] = (),
) -> BotAnswer:
    """The bot's answer to one question of the buyer whose ``orders`` these are.

    ``own_contacts`` are the buyer's own e-mail and phone: naming them is not naming someone else.
    """
    text = question.strip()[:500]
    lang = language(text, lang_hint)
    own_ids = {o.order_id for o in orders}
    own = {c.lower() for c in own_contacts if c}
    foreign_contact = any(m.lower() not in own for m in _EMAIL.findall(text) + _PHONE.findall(text))
    digits_of_own = {re.sub(r"\D", "", c) for c in own}
    mentioned = [n for n in _mentioned_orders(text) if str(n) not in digits_of_own]
    if (
        _INJECTION.search(text)
        or foreign_contact
        or _ID_NUMBER.search(text)
        or any(n not in own_ids for n in mentioned)
    ):
        return BotAnswer("refuse", _refusal(lang), confidence=1.0)
    if _HUMAN.search(text):
        return _handover(lang, "other", asked=True)
    intent = detect_intent(text)
    if intent == "refund_quote" and _POLICY.search(text) and not _PERSONAL.search(text):
        intent = None  # "what is the refund policy / is there a fee": the FAQ, not an order
    if intent is not None:
        chosen = [o for o in orders if o.order_id in mentioned] or list(orders)
        return _order_answer(intent, chosen, faq, now, lang)
    hits = faq.bm25.rank(tokens(text), coverage_words(text, faq.bm25.idf))
    if hits and hits[0].score > MIN_SCORE and hits[0].coverage >= MIN_COVERAGE:
        entry = faq.entries[hits[0].index]
        body = entry.answer_zh if lang == "zh" else entry.answer_en
        return BotAnswer(
            "faq",
            body,
            topic=entry.topic,
            confidence=hits[0].coverage,
            category=TOPIC_CATEGORY.get(entry.topic, "other"),
        )
    # a weak match says nothing sure about the topic either: staff triage it as "other"
    return _handover(lang, "other", asked=False, confidence=hits[0].coverage if hits else 0.0)


def _handover(lang: str, category: str, *, asked: bool, confidence: float = 0.0) -> BotAnswer:
    if lang == "zh":
        text = (
            "好的，我这就为您转接人工客服。"
            if asked
            else "抱歉，这个问题我还不确定答案。我已为您转接主办方的人工客服，他们会尽快在这里回复您。"
        )
    else:
        text = (
            "Sure, I'm passing you to the promoter's staff."
            if asked
            else "Sorry, I'm not sure about that one. I've passed your question to the promoter's staff; "
            "they will answer you here."
        )
    return BotAnswer("handover", text, confidence=confidence, category=category)


def _money(cents: int, currency: str) -> str:
    symbol = {"CNY": "¥", "USD": "$", "EUR": "€", "HKD": "HK$"}.get(currency, currency + " ")
    return f"{symbol}{cents // 100}.{cents % 100:02d}"


_STATUS_NAMES = {
    PENDING_PAYMENT: ("待付款", "waiting for payment"),
    PAID: ("已付款，正在出票", "paid, tickets being issued"),
    TICKETED: ("已出票", "ticketed"),
    EXPIRED: ("已过期（未付款）", "expired (not paid)"),
    CANCELLED: ("已取消", "cancelled"),
    REFUNDED: ("已退款", "refunded"),
}


def _status(order: OrderFacts, lang: str) -> str:
    zh, en = _STATUS_NAMES.get(order.status, (order.status, order.status))
    return zh if lang == "zh" else en


def _place(ticket: TicketFacts, lang: str) -> str:
    if ticket.seat_label:
        return (
            (f"{ticket.zone} 区 座位 {ticket.seat_label}")
            if lang == "zh"
            else f"{ticket.zone}, seat {ticket.seat_label}"
        )
    area = ticket.area_name or ticket.zone
    return f"{area}（站票/自由站位）" if lang == "zh" else f"{area} (standing, no fixed seat)"


def _order_answer(
    intent: str, orders: Sequence[OrderFacts], faq: FaqIndex, now: float, lang: str
) -> BotAnswer:
    category = INTENT_CATEGORY[intent]
    if not orders:
        text = (
            "我没有找到您账号在本场演出的订单。如果您用其他账号购买，请用该账号登录后再问我。"
            if lang == "zh"
            else "I can't find an order of yours for this show. If you bought with another account, sign in "
            "with it and ask me again."
        )
        return BotAnswer("order", text, intent=intent, confidence=1.0, category=category)
    lines = [_order_line(intent, o, faq, now, lang) for o in orders[:3]]
    if intent == "refund_quote":
        policy = next((e for e in faq.entries if e.topic == "refund_policy"), None)
        if policy is not None:
            lines.append(
                ("退票规则：" + policy.answer_zh) if lang == "zh" else ("Refund policy: " + policy.answer_en)
            )
    return BotAnswer(
        "order",
        "\n".join(lines),
        intent=intent,
        confidence=1.0,
        category=category,
        order_ids=tuple(o.order_id for o in orders[:3]),
    )


def _order_line(intent: str, o: OrderFacts, faq: FaqIndex, now: float, lang: str) -> str:
    zh = lang == "zh"
    head = (
        f"订单 {o.order_id}（{o.event_name} {o.session_name}）"
        if zh
        else f"Order {o.order_id} ({o.event_name}, {o.session_name})"
    )
    live = [t for t in o.tickets if t.status == "valid"]
    if intent == "my_tickets":
        if o.status == TICKETED:
            n = len(live)
            return (
                f"{head}已出票，共 {n} 张电子票，已发送到您的邮箱；入场时在「我的票」中打开动态二维码即可。"
                if zh
                else f"{head} is ticketed: {n} e-ticket(s), sent to your e-mail; "
                "at the gate open the live QR "
                "code from My tickets."
            )
        if o.status == PAID:
            return (
                f"{head}已付款，正在出票，通常 1 分钟内完成。"
                if zh
                else f"{head} is paid; tickets are being issued (usually within a minute)."
            )
        if o.status == PENDING_PAYMENT:
            return (
                f"{head}尚未付款，付款后才会出票。"
                if zh
                else f"{head} is not paid yet: tickets are issued once it is paid."
            )
        return (
            f"{head}状态为：{_status(o, lang)}，没有有效门票。"
            if zh
            else f"{head} is {_status(o, lang)}: it has no valid tickets."
        )
    if intent == "my_seat":
        if not live and o.status not in (PENDING_PAYMENT, PAID):
            return (
                f"{head}状态为：{_status(o, lang)}，没有有效座位。"
                if zh
                else f"{head} is {_status(o, lang)}: no seats are held for it."
            )
        places = (
            "、".join(_place(t, lang) for t in (live or o.tickets))
            if zh
            else "; ".join(_place(t, lang) for t in (live or o.tickets))
        )
        return f"{head}：{places}。" if zh else f"{head}: {places}."
    if intent == "invoice_status":
        if o.invoice:
            return f"{head}的发票状态：{o.invoice}。" if zh else f"{head}: invoice {o.invoice}."
        if o.status in SOLD:
            return (
                f"{head}还没有开具发票。您可以在下方「联系客服」选择「发票」"
                "提交抬头和税号，主办方 24 小时内开具。"
                if zh
                else f"{head} has no invoice issued yet. Open a request below with the category "
                "Invoice and your "
                "title and tax ID; the promoter issues it within 24 hours."
            )
        return (
            f"{head}状态为：{_status(o, lang)}，无法开具发票。"
            if zh
            else f"{head} is {_status(o, lang)}: no invoice can be issued for it."
        )
    if intent == "refund_quote":
        return _refund_line(head, o, now, zh, lang)
    return (
        f"{head}：{_status(o, lang)}，金额 {_money(o.total_cents, o.currency)}。"
        if zh
        else f"{head}: {_status(o, lang)}, {_money(o.total_cents, o.currency)}."
    )


def _refund_line(head: str, o: OrderFacts, now: float, zh: bool, lang: str) -> str:
    """What the box office's refund rule gives this order today: a paid order, before the show
    starts and before any of its tickets was scanned, is refunded in full (aftersales.refunds)."""
    amount = _money(o.total_cents, o.currency)
    if o.status == PENDING_PAYMENT:
        return (
            f"{head}尚未付款，可以直接免费取消。"
            if zh
            else f"{head} is not paid: you can cancel it free of charge."
        )
    if o.status not in SOLD:
        return (
            f"{head}状态为：{_status(o, lang)}，无需退票。"
            if zh
            else f"{head} is {_status(o, lang)}: there is nothing to refund."
        )
    if any(t.checked_in for t in o.tickets):
        return (
            f"{head}已有门票检票入场，按规则不能退票。"
            if zh
            else f"{head} has a ticket already scanned at the gate: it can no longer be refunded."
        )
    if now >= o.starts_at:
        return (
            f"{head}演出已开始，按规则不能退票。"
            if zh
            else f"{head}: the show has started, so it can no longer be refunded."
        )
    return (
        f"{head}现在还可以整单退票，可退 {amount}（全额，原路退回）。在订单页点「退票」即可。"
        if zh
        else f"{head} can still be refunded as a whole: {amount} back "
        "(the full amount, to the way you paid). "
        "Use Refund on the order page."
    )
