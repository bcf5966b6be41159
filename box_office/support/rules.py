"""The support desk's rules: categories, statuses, who may move a request where, and the
response-time targets. Pure: no I/O, the clock is a parameter.

Targets follow what buyers are used to from the platforms (research §6: WeChat Pay complaints
must be answered within 48 h, mini-program trade complaints within 48 h): a promoter answers a
new request within a working day and every later buyer message within 48 hours. Refund and
entry questions are urgent (money, or a buyer at the door): 4 hours to the first answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from box_office.core.errors import RuleError

CATEGORIES = ("refund", "exchange", "invoice", "entry", "other")
OPEN = "open"
WAITING_BUYER = "waiting_buyer"
SOLVED = "solved"
STATUSES = (OPEN, WAITING_BUYER, SOLVED)

HOUR = 3600.0
FIRST_REPLY_TARGET: dict[str, float] = {
    "refund": 4 * HOUR,
    "entry": 4 * HOUR,
    "exchange": 24 * HOUR,
    "invoice": 24 * HOUR,
    "other": 24 * HOUR,
}
FOLLOW_UP_TARGET = 48 * HOUR
"""Time staff have to answer a buyer's later message."""

CATEGORY_NAMES = {
    "refund": ("退票", "Refund"),
    "exchange": ("换票", "Exchange"),
    "invoice": ("发票", "Invoice"),
    "entry": ("入场问题", "Entry question"),
    "other": ("其他", "Other"),
}
STATUS_NAMES = {
    OPEN: ("待处理", "Open"),
    WAITING_BUYER: ("等待买家回复", "Waiting for buyer"),
    SOLVED: ("已解决", "Solved"),
}

MAX_MESSAGE = 4000


class SupportRuleError(RuleError):
    """A request or message the desk refuses (a buyer's or staff member's mistake)."""


def check_category(category: str) -> str:
    if category not in CATEGORIES:
        raise SupportRuleError(
            "bad_category", f"unknown category {category!r}: one of {', '.join(CATEGORIES)}"
        )
    return category


BLANKS = " \t\n\r\f\v"
"""What counts as blank around a message: ASCII blanks, as the API's schema says (JSON Schema and
Python disagree on Unicode spaces)."""


def check_message(body: str) -> str:
    text = body.strip(BLANKS)
    if not text:
        raise SupportRuleError("empty_message", "a message needs some text")
    if len(text) > MAX_MESSAGE:
        raise SupportRuleError("too_long", f"a message is at most {MAX_MESSAGE} characters")
    return text


@dataclass(frozen=True)
class Step:
    """What a new message or status change does to a request."""

    status: str
    reply_due_at: float | None
    first_reply: bool
    solved_at: float | None


def opened(category: str, now: float) -> Step:
    """A new request: open, staff must answer within the category's first-reply target."""
    return Step(OPEN, now + FIRST_REPLY_TARGET[check_category(category)], False, None)


def after_buyer_message(status: str, reply_due_at: float | None, now: float) -> Step:
    """A buyer writes: the request is open again (a solved one reopens), staff owe an answer.
    A due time already running is kept: writing twice does not push the target back."""
    due = reply_due_at if status == OPEN and reply_due_at is not None else now + FOLLOW_UP_TARGET
    return Step(OPEN, due, False, None)


def after_staff_message(status: str, then: str | None, now: float) -> Step:
    """Staff answer: by default the ball is in the buyer's court (waiting_buyer); staff may
    instead mark it solved, or keep it open (they owe more, the target keeps running from now)."""
    wanted = then or WAITING_BUYER
    if wanted not in STATUSES:
        raise SupportRuleError("bad_status", f"unknown status {wanted!r}")
    if wanted == OPEN:
        return Step(OPEN, now + FOLLOW_UP_TARGET, True, None)
    return Step(wanted, None, True, now if wanted == SOLVED else None)


def set_status(status: str, wanted: str, reply_due_at: float | None, now: float) -> Step:
    """Staff or the buyer change the status without writing."""
    if wanted not in STATUSES:
        raise SupportRuleError("bad_status", f"unknown status {wanted!r}")
    if wanted == SOLVED:
        return Step(SOLVED, None, False, now)
    if wanted == OPEN:
        due = reply_due_at if status == OPEN and reply_due_at is not None else now + FOLLOW_UP_TARGET
        return Step(OPEN, due, False, None)
    return Step(WAITING_BUYER, None, False, None)


def overdue(status: str, reply_due_at: float | None, now: float) -> bool:
    """Staff missed the response-time target: the request is open and its due time has passed."""
    return status == OPEN and reply_due_at is not None and now > reply_due_at


def seconds_left(status: str, reply_due_at: float | None, now: float) -> float | None:
    """Seconds until the target (negative once missed); None when staff owe nothing."""
    if status != OPEN or reply_due_at is None:
        return None
    return reply_due_at - now
