"""Request bodies of the JSON API. Every field is bounded so bad input is a 422, never a 500."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Code = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._/+()-]*$")]
Name = Annotated[str, Field(min_length=1, max_length=200)]
EMAIL_PATTERN = r"^[^@ \t\n\r\f\v]+@[^@ \t\n\r\f\v]+$"
"""One @, no ASCII blank: spelled out, not \\s, which Python and JSON Schema (ECMA) read differently."""
Label = Annotated[str, Field(min_length=1, max_length=64)]
Cents = Annotated[int, Field(ge=0, le=100_000_000)]
Time = Annotated[float, Field(ge=0, le=32_503_680_000, description="Unix seconds")]
Limit = Annotated[int, Field(ge=1, le=1000)]


class Strict(BaseModel):
    # strict: no lax coercion (0 for false, false for 0, "1" for 1): a body is accepted only if
    # it matches the published JSON Schema, which is what API clients are generated from.
    model_config = ConfigDict(extra="forbid", strict=True)

    @model_validator(mode="before")
    @classmethod
    def _whole_numbers(cls, data: Any) -> Any:
        """25.0 is the integer 25 in JSON (and in JSON Schema): strict mode would refuse it."""
        if not isinstance(data, dict):
            return data
        return {key: _integral(value) for key, value in data.items()}


def _integral(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):  # e.g. a ticket type's prices by zone
        return {key: _integral(item) for key, item in value.items()}
    return value


class OrganiserIn(Strict):
    name: Name


class AccountIn(Strict):
    email: Annotated[str, Field(min_length=3, max_length=254, pattern=EMAIL_PATTERN)]
    name: Name | None = None
    phone: Annotated[str, Field(min_length=3, max_length=32, pattern=r"^\+?[0-9 -]+$")] | None = None


class ZoneIn(Strict):
    code: Code
    name: Name
    price_cents: Cents


class TicketTypeIn(Strict):
    code: Code
    name: Name
    kind: Literal["standard", "box"] = "standard"
    prices: dict[Code, Cents] = Field(default_factory=dict, max_length=100)


class EventIn(Strict):
    name: Name
    venue_id: Annotated[int, Field(ge=1, le=2**31 - 1)]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "CNY"
    zones: list[ZoneIn] = Field(min_length=1, max_length=100)
    ticket_types: list[TicketTypeIn] = Field(default_factory=list, max_length=50)


class SeatZoneIn(Strict):
    zone: Code
    sections: list[Code] = Field(default_factory=list, max_length=500)
    rows: list[Code] = Field(default_factory=list, max_length=1000)
    seats: list[Label] = Field(default_factory=list, max_length=10000)


class GaQuotaIn(Strict):
    area: Code
    zone: Code
    capacity: Annotated[int, Field(ge=0, le=1_000_000)] | None = None


class SessionIn(Strict):
    name: Name
    starts_at: Time
    ends_at: Time
    sale_starts_at: Time = 0
    sale_ends_at: Time | None = None
    hold_seconds: Annotated[int, Field(ge=1, le=86400)] = 600
    real_name: bool = False
    limit_per_account: Limit | None = None
    limit_per_device: Limit | None = None
    limit_per_id: Limit | None = None
    default_zone: Code | None = None
    seat_zones: list[SeatZoneIn] = Field(default_factory=list, max_length=500)
    ga: list[GaQuotaIn] = Field(default_factory=list, max_length=100)


class SeatsIn(Strict):
    seats: list[Label] = Field(min_length=1, max_length=5000)


class RepriceIn(SeatsIn):
    zone: Code


class SeatStatusIn(SeatsIn):
    status: Literal["available", "reserved", "blocked"]


class QuotaIn(Strict):
    capacity: Annotated[int, Field(ge=0, le=1_000_000)]


class BestIn(Strict):
    zone: Code
    quantity: Annotated[int, Field(ge=1, le=50)]
    accessible: bool = False


class GaIn(Strict):
    area: Code
    quantity: Annotated[int, Field(ge=1, le=50)]


class HoldIn(Strict):
    seats: list[Label] = Field(default_factory=list, max_length=50)
    best_available: BestIn | None = None
    ga: list[GaIn] = Field(default_factory=list, max_length=10)


class HolderIn(Strict):
    name: Name
    id_type: Literal["cn_ric", "passport", "hk_mo_permit", "tw_permit"]
    id_number: Annotated[str, Field(min_length=1, max_length=40)]


class TicketIn(Strict):
    seat: Label | None = None
    area: Code | None = None
    ticket_type: Code | None = None
    holder: HolderIn | None = None


class OrderIn(Strict):
    hold_id: Annotated[int, Field(ge=1, le=2**31 - 1)]
    email: Annotated[str, Field(min_length=3, max_length=254, pattern=EMAIL_PATTERN)]
    phone: Annotated[str, Field(min_length=3, max_length=32, pattern=r"^\+?[0-9 -]+$")] | None = None
    tickets: list[TicketIn] = Field(default_factory=list, max_length=50)
    coupon: str | None = Field(
        default=None,
        min_length=1,
        max_length=40,
        pattern=r"^[A-Za-z0-9 -]+$",
        description="A coupon code: its discount is applied by the pricing pipeline and one use is "
        "taken atomically (409 coupon_used_up / coupon_budget / coupon_limit_buyer / coupon_expired ...)",
    )
    group_open: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = Field(
        default=None,
        description="Open a group of this group-buy campaign (group price; tickets when it fills)",
    )
    group_join: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = Field(
        default=None, description="Join this open group (GET /api/sessions/{id}/groups lists them)"
    )
    pay_with: str | None = Field(
        default=None,
        min_length=1,
        max_length=20,
        pattern=r"^[a-z][a-z0-9_]*$",
        description="Also start the payment with this provider: the answer then carries `payment` "
        "(pay_url / QR), saving the buyer the separate POST /orders/{id}/payments",
    )


class PaymentIn(Strict):
    provider: str = Field(
        default="sandbox",
        min_length=1,
        max_length=20,
        pattern=r"^[a-z][a-z0-9_]*$",
        description="A payment provider configured here (the sandbox only where it is enabled)",
    )
    channel: str | None = Field(
        default=None,
        min_length=1,
        max_length=20,
        pattern=r"^[a-z][a-z0-9_]*$",
        description="The provider's flow (WeChat: native = QR, h5 = phone browser, jsapi = inside WeChat); "
        "by default chosen from the device (User-Agent)",
    )
    openid: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="JSAPI: the payer's openid",
    )
    return_url: str | None = Field(
        default=None,
        min_length=1,
        max_length=500,
        pattern=r"^https?://",
        description="H5: where the buyer comes back",
    )


class RefundIn(Strict):
    amount_cents: int = Field(ge=1, le=10**10, description="Fen to refund (part or all of what is left)")
    reason: str = Field(default="", max_length=80)


class FeedClientIn(Strict):
    name: Name


class CheckInIn(Strict):
    scan_id: Annotated[str, Field(min_length=1, max_length=100)]
    ticket_id: Annotated[str, Field(min_length=1, max_length=100)]
    version: Annotated[int, Field(ge=1, le=1_000_000)] = 1
    gate: Annotated[str, Field(min_length=1, max_length=100)]
    direction: Literal["in", "out"] = "in"
    scanned_at: Time
    device_id: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    verdict: Annotated[str, Field(min_length=1, max_length=40)] = "ok"
    conflict: bool = False
    clears: Annotated[str, Field(min_length=1, max_length=100)] | None = None


class CheckInsIn(Strict):
    checkins: list[CheckInIn] = Field(min_length=1, max_length=1000)


class DemoIn(Strict):
    sections: Annotated[int, Field(ge=1, le=20)] = 3
    rows: Annotated[int, Field(ge=1, le=100)] = 10
    seats_per_row: Annotated[int, Field(ge=1, le=200)] = 20
    ga_capacity: Annotated[int, Field(ge=0, le=100_000)] = 500
    real_name: bool = False
    hold_seconds: Annotated[int, Field(ge=1, le=86400)] = 600


class Message(BaseModel):
    detail: str
    code: str | None = None


JsonObject = dict[str, Any]
