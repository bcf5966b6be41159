"""Purchase limits and the sale window: how many tickets, and when. No I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from box_office.core.errors import RuleError


def check_sale_window(sale_starts_at: float, sale_ends_at: float, now: float) -> None:
    if now < sale_starts_at:
        raise RuleError("sale_not_started", "the sale for this session has not started yet")
    if now > sale_ends_at:
        raise RuleError("sale_ended", "the sale for this session has ended")


@dataclass(frozen=True, slots=True)
class Limits:
    per_account: int | None
    per_device: int | None
    per_id: int | None


def check_limits(
    limits: Limits,
    *,
    quantity: int,
    account_count: int,
    device_count: int | None,
    id_counts: Mapping[str, tuple[int, int]],
) -> None:
    """Refuse an order that would take a buyer over a session limit, saying which one.

    ``id_counts`` maps each masked ID in the order to (tickets already held by that ID,
    tickets for it in this order).
    """
    if limits.per_account is not None and account_count + quantity > limits.per_account:
        raise RuleError(
            "limit_account",
            f"at most {limits.per_account} tickets per account for this session "
            f"(you already have {account_count}, this order adds {quantity})",
        )
    if (
        limits.per_device is not None
        and device_count is not None
        and device_count + quantity > limits.per_device
    ):
        raise RuleError(
            "limit_device",
            f"at most {limits.per_device} tickets per device for this session "
            f"(this device already has {device_count}, this order adds {quantity})",
        )
    if limits.per_id is not None:
        for masked, (existing, adding) in id_counts.items():
            if existing + adding > limits.per_id:
                raise RuleError(
                    "limit_id",
                    f"at most {limits.per_id} ticket(s) per ID number for this session: "
                    f"ID {masked} already has {existing}, this order adds {adding}",
                )
