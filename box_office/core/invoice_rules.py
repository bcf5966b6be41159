"""Invoice (发票) rules: the buyer's title, numbering, and credit (红字) amounts. No I/O.

- A company title needs its 18-character unified social credit code (统一社会信用代码) with a
  valid check character (``stdnum.cn.uscc``); an individual's title is a name, and a tax number,
  if given, is checked the same way.
- Numbers are gap-free per promoter (the counter lives in the database, see
  ``aftersales/invoices.py``); the printed number is ``<promoter, 4 digits><sequence, 8 digits>``.
- A credit invoice carries the negative of what was refunded, split over the refunded tickets'
  lines, never more than what the original invoice still has uncredited; its reason is one of
  the 数电 红字 reasons.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from stdnum.cn import uscc
from stdnum.exceptions import ValidationError

from box_office.core.errors import RuleError

TITLE_TYPES = ("individual", "company")
# 数电红字 reasons (and the WeChat Pay fapiao ``reverse`` reason of the same meaning)
ISSUE_ERROR = "issue_error"  # 开票有误 / ISSUE_ERROR
SALES_RETURN = "sales_return"  # 销货退回 / SALES_RETURN: a buyer's refund
SERVICE_SUSPENSION = "service_suspension"  # 服务中止 / SERVICE_SUSPENSION: a cancelled show
SALES_DISCOUNT = "sales_discount"  # 销售折让 / SALES_DISCOUNT: an exchange to a cheaper ticket
CREDIT_REASONS = {
    ISSUE_ERROR: ("开票有误", "Issued in error"),
    SALES_RETURN: ("销货退回", "Refund"),
    SERVICE_SUSPENSION: ("服务中止", "Show cancelled"),
    SALES_DISCOUNT: ("销售折让", "Price reduced"),
}


@dataclass(frozen=True)
class Title:
    """Who the invoice is made out to (抬头)."""

    kind: str
    name: str
    tax_number: str | None
    email: str


def check_title(kind: str, name: str, tax_number: str | None, email: str) -> Title:
    """The title, normalised; RuleError ``bad_title`` / ``bad_tax_number`` otherwise."""
    if kind not in TITLE_TYPES:
        raise RuleError("bad_title", f"title type must be one of {', '.join(TITLE_TYPES)}")
    name = " ".join(name.split())
    if not name:
        raise RuleError("bad_title", "the title (name) is required")
    number = (tax_number or "").strip().upper() or None
    if kind == "company" and number is None:
        raise RuleError(
            "bad_tax_number", "a company title needs its unified social credit code (18 characters)"
        )
    if number is not None:
        try:
            number = uscc.validate(number)
        except ValidationError as exc:
            raise RuleError("bad_tax_number", f"not a valid unified social credit code ({exc})") from None
    if "@" not in email.strip():
        raise RuleError("bad_email", "an e-mail address is required to send the invoice")
    return Title(kind, name, number, email.strip())


def printed_number(organiser_id: int, sequence: int) -> str:
    """The number printed on the invoice: promoter (4 digits) + gap-free sequence (8 digits)."""
    return f"{organiser_id:04d}{sequence:08d}"


def credit_lines(
    original: Sequence[Mapping[str, Any]], ticket_ids: Sequence[str], amount_cents: int, credited_cents: int
) -> list[dict[str, Any]]:
    """The negative lines of a credit invoice for ``amount_cents`` refunded on ``ticket_ids``.

    The amount is spread over those tickets' lines in order (each at most its own amount), and
    capped so that credits never exceed the original invoice's total.
    """
    total = sum(int(line["amount_cents"]) for line in original)
    amount = max(0, min(amount_cents, total - credited_cents))
    chosen = [line for line in original if line.get("ticket_id") in set(ticket_ids)] or list(original)
    lines: list[dict[str, Any]] = []
    left = amount
    for line in chosen:
        if left <= 0:
            break
        part = min(left, int(line["amount_cents"]))
        lines.append({**line, "amount_cents": -part})
        left -= part
    if left > 0 and lines:  # refunds beyond the chosen lines' amounts (rounding): on the last line
        lines[-1]["amount_cents"] -= left
    return lines
