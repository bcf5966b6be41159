"""Pure money rules for provider payments: refund limits, retry back-off, channel choice, and
the comparison of our books with a provider's daily bill. No I/O."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from box_office.core.errors import RuleError

MAX_REFUNDS_PER_PAYMENT = 50  # WeChat Pay's limit; the strictest of the providers
LIVE_REFUND_STATES = ("pending", "succeeded")
TERMINAL_REFUND_STATES = ("succeeded", "failed", "closed")


def check_refund(paid_cents: int, refunds: Iterable[tuple[int, str]], amount_cents: int) -> int:
    """The number of this refund (1-based) if ``amount_cents`` may be refunded from a payment
    of ``paid_cents`` that already has ``refunds`` (amount, status); pending refunds count, as
    the provider may still carry them out. Raises :class:`RuleError` otherwise."""
    if amount_cents < 1:
        raise RuleError("bad_amount", "a refund is at least 1 fen")
    existing = list(refunds)
    if len(existing) >= MAX_REFUNDS_PER_PAYMENT:
        raise RuleError(
            "too_many_refunds", f"a payment can be refunded at most {MAX_REFUNDS_PER_PAYMENT} times"
        )
    committed = sum(amount for amount, status in existing if status in LIVE_REFUND_STATES)
    if committed + amount_cents > paid_cents:
        raise RuleError(
            "refund_exceeds_payment",
            f"refund of {amount_cents} would exceed what was paid: {paid_cents} paid, "
            f"{committed} already refunded or pending",
        )
    return len(existing) + 1


def refund_backoff(attempts: int, frequency_limited: bool = False) -> float:
    """Seconds before asking again after ``attempts`` failed tries: 5 s doubling to an hour; at
    least a minute when the provider said "too frequent" (WeChat: partial refunds of one
    payment one minute apart)."""
    delay = min(5.0 * 2.0 ** max(attempts - 1, 0), 3600.0)
    return max(delay, 60.0) if frequency_limited else delay


def refund_transition(current: str, reported: str) -> str | None:
    """The status to record when a provider reports ``reported`` for a refund now ``current``;
    None when nothing changes (a terminal state never moves: a late or out-of-order report)."""
    if current in TERMINAL_REFUND_STATES or reported == current:
        return None
    if reported not in ("pending", *TERMINAL_REFUND_STATES):
        return None
    return reported


def choose_channel(user_agent: str, requested: str | None, offered: Sequence[str]) -> str:
    """The payment flow for this device: what the buyer asked for if the provider offers it;
    else JSAPI inside WeChat, H5 in a phone browser, a QR (native) on a desktop; else the first
    offered. (A flow the provider lacks is not an error: the device's own flow is used.)"""
    if requested and requested in offered:
        return requested
    agent = user_agent.lower()
    if "micromessenger" in agent:
        preferred = ["jsapi", "native"]  # WeChat's H5 pay is for browsers outside WeChat
    elif any(word in agent for word in ("mobile", "android", "iphone", "ipad")):
        preferred = ["h5", "wap", "native", "precreate"]
    else:
        preferred = ["native", "page", "precreate"]
    for channel in preferred:
        if channel in offered:
            return channel
    return offered[0] if offered else "default"


@dataclass(frozen=True)
class Mismatch:
    """One difference between our books and the provider's bill for a day."""

    # missing_here | missing_there | amount | currency, and the same prefixed refund_ for refunds
    kind: str
    ref: str
    ours: int | None
    theirs: int | None
    detail: str = ""


@dataclass(frozen=True)
class Entry:
    """One side's record: a payment (or the day's refunds of it, summed) by our reference."""

    ref: str
    kind: str  # payment | refund
    amount_cents: int
    currency: str


def compare_books(ours: Iterable[Entry], theirs: Iterable[Entry]) -> list[Mismatch]:
    """Every mismatch between our entries and the bill's for one provider and day: paid there
    but not here, here but not there, different amounts or currencies; the same for refunds
    (summed per payment)."""

    def totals(entries: Iterable[Entry]) -> dict[tuple[str, str], tuple[int, str]]:
        found: dict[tuple[str, str], tuple[int, str]] = {}
        for entry in entries:
            amount, _ = found.get((entry.kind, entry.ref), (0, entry.currency))
            found[(entry.kind, entry.ref)] = (amount + entry.amount_cents, entry.currency)
        return found

    mine, bill = totals(ours), totals(theirs)
    prefix = {"payment": "", "refund": "refund_"}
    result: list[Mismatch] = []
    for key in sorted(set(mine) | set(bill)):
        kind, ref = key
        here, there = mine.get(key), bill.get(key)
        if here is None and there is not None:
            result.append(
                Mismatch(prefix[kind] + "missing_here", ref, None, there[0], "in the provider's bill only")
            )
        elif there is None and here is not None:
            result.append(Mismatch(prefix[kind] + "missing_there", ref, here[0], None, "in our books only"))
        elif here is not None and there is not None:
            if here[1] != there[1]:
                result.append(
                    Mismatch(
                        prefix[kind] + "currency", ref, here[0], there[0], f"{here[1]} here, {there[1]} there"
                    )
                )
            elif here[0] != there[0]:
                result.append(Mismatch(prefix[kind] + "amount", ref, here[0], there[0]))
    return result
