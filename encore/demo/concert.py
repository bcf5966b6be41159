"""Set up and sell the demo concert through the box office's own public API.

Nothing here touches the box office's database: the demo is a client like any
promoter's script or buyer's browser, so it shows (and tests) the real path.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from box_office.support.faq_template import TEMPLATE as FAQ_TEMPLATE

SECTIONS = ("L", "C", "R")
ROWS = 22
SEATS_PER_ROW = 30
GA_CAPACITY = 500
ZONES = (
    {"code": "VIP", "name": "VIP", "price_cents": 128000},
    {"code": "PREMIUM", "name": "Premium", "price_cents": 68000},
    {"code": "STANDARD", "name": "Standard", "price_cents": 38000},
    {"code": "FLOOR", "name": "Standing floor", "price_cents": 28000},
)
# Demo buyers with valid (checksummed) test resident ID numbers.
HOLDERS = (
    ("张伟", "cn_ric", "11010519491231002X"),
    ("王芳", "cn_ric", "110101199003070273"),
    ("李娜", "cn_ric", "440305198807150621"),
    ("Emma Schmidt", "passport", "C01X00T47"),
    ("刘洋", "cn_ric", "31010419951228003X"),
    ("陈静", "cn_ric", "510107200001013468"),
)


class DemoError(RuntimeError):
    """The box office refused a demo step; the message has its answer."""


@dataclass
class DemoTicket:
    ticket_id: str
    token: str
    zone: str
    seat: str | None
    holder: str
    id_type: str
    id_number: str
    order_id: int
    buyer_token: str
    session_id: int = 0


@dataclass
class DemoConcert:
    base_url: str
    organiser_token: str
    venue_id: int
    event_id: int
    session_id: int
    feed_token: str
    tickets: list[DemoTicket] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "box_office": self.base_url,
            "organiser_token": self.organiser_token,
            "venue_id": self.venue_id,
            "event_id": self.event_id,
            "session_id": self.session_id,
            "feed_token": self.feed_token,
            "tickets": [t.__dict__ for t in self.tickets],
        }


def _check(response: httpx.Response, what: str) -> dict[str, Any]:
    if response.status_code >= 400:
        raise DemoError(f"{what}: HTTP {response.status_code} {response.text[:300]}")
    body: dict[str, Any] = response.json()
    return body


def venue_layout() -> dict[str, Any]:
    """About 2,000 seats in three sections fanned around the stage, plus a standing floor."""
    sections = []
    for index, code in enumerate(SECTIONS):
        offset = (index - 1) * (SEATS_PER_ROW + 4)
        rows = []
        for r in range(ROWS):
            seats = [
                {
                    "number": str(n + 1),
                    "x": float(offset + n),
                    "y": float(r + 8),
                    **({"accessible": True} if r == ROWS - 1 and n < 4 else {}),
                }
                for n in range(SEATS_PER_ROW)
            ]
            rows.append({"code": str(r + 1), "rank": r, "seats": seats})
        sections.append({"code": code, "rows": rows})
    return {
        "name": "Encore Demo Arena",
        "sections": sections,
        "ga_areas": [{"code": "FLOOR", "name": "Standing floor", "capacity": GA_CAPACITY}],
    }


CONSOLE_EMAIL = "owner@demo.encore.test"
CONSOLE_PASSWORD = "encore-demo-console"


def create_concert(base_url: str, *, hold_seconds: int = 600) -> DemoConcert:
    """Organiser, venue, event with 3 seated price zones + GA floor, one real-name session."""
    with httpx.Client(base_url=base_url, timeout=30) as anon:
        organiser = _check(anon.post("/api/organisers", json={"name": "Encore Demo Promotions"}), "organiser")
    token = organiser["token"]
    with httpx.Client(base_url=base_url, timeout=30, headers={"Authorization": f"Bearer {token}"}) as org:
        venue = _check(org.post("/api/venues", json=venue_layout()), "venue")
        event = _check(
            org.post(
                "/api/events",
                json={
                    "name": "Encore Live 2026",
                    "venue_id": venue["id"],
                    "currency": "CNY",
                    "zones": list(ZONES),
                    "ticket_types": [
                        {"code": "adult", "name": "Adult"},
                        {"code": "child", "name": "Child", "prices": {"STANDARD": 19000}},
                    ],
                },
            ),
            "event",
        )
        now = time.time()
        session = _check(
            org.post(
                f"/api/events/{event['id']}/sessions",
                json={
                    "name": "Tonight (real-name)",
                    "starts_at": now + 2 * 3600,
                    "ends_at": now + 6 * 3600,
                    "sale_starts_at": now - 60,
                    "hold_seconds": hold_seconds,
                    "real_name": True,
                    "limit_per_account": 6,
                    "limit_per_id": 1,
                    "default_zone": "STANDARD",
                    "seat_zones": [
                        {"zone": "VIP", "rows": ["1", "2", "3", "4"]},
                        {"zone": "PREMIUM", "sections": ["C"]},
                    ],
                    "ga": [{"area": "FLOOR", "zone": "FLOOR"}],
                },
            ),
            "session",
        )
        feed = _check(
            org.post(f"/api/events/{event['id']}/feed-clients", json={"name": "venue sync server"}),
            "feed client",
        )
        # the Q&A bot answers from the event's FAQ: the demo concert gets the template one
        _check(org.put(f"/api/events/{event['id']}/faq", json={"entries": FAQ_TEMPLATE}), "FAQ")
        # the promoter's console (/console/): an owner to sign in with
        _check(
            org.post(
                "/api/organiser/console-users",
                json={
                    "email": CONSOLE_EMAIL,
                    "name": "Demo owner",
                    "role": "owner",
                    "password": CONSOLE_PASSWORD,
                },
            ),
            "console user",
        )
    return DemoConcert(base_url, token, venue["id"], event["id"], session["id"], feed["token"])


def add_session(concert: DemoConcert, name: str, *, real_name: bool) -> int:
    """Another session of the demo event tonight (same zones), e.g. one without real names."""
    now = time.time()
    headers = {"Authorization": f"Bearer {concert.organiser_token}"}
    with httpx.Client(base_url=concert.base_url, timeout=30, headers=headers) as org:
        session = _check(
            org.post(
                f"/api/events/{concert.event_id}/sessions",
                json={
                    "name": name,
                    "starts_at": now + 2 * 3600,
                    "ends_at": now + 6 * 3600,
                    "sale_starts_at": now - 60,
                    "real_name": real_name,
                    "default_zone": "STANDARD",
                    "seat_zones": [
                        {"zone": "VIP", "rows": ["1", "2", "3", "4"]},
                        {"zone": "PREMIUM", "sections": ["C"]},
                    ],
                    "ga": [{"area": "FLOOR", "zone": "FLOOR"}],
                },
            ),
            "session",
        )
    session_id: int = session["id"]
    return session_id


def resident_ids(count: int, start_year: int = 1980) -> list[str]:
    """Valid (checksummed) Chinese resident ID numbers for test holders."""
    from stdnum.cn import ric

    numbers = []
    for i in range(count):
        body = f"110105{start_year + i % 30:04d}{1 + i % 12:02d}{1 + i % 28:02d}{100 + i:03d}"
        numbers.append(body + ric.calc_check_digit(body + "0"))  # the digit passed is ignored
    return numbers


def buy_tickets(
    concert: DemoConcert,
    picks: list[Any],
    holders: list[tuple[str, str, str]] | None,
    *,
    session_id: int | None = None,
    email: str | None = None,
    timeout: float = 30.0,
) -> list[DemoTicket]:
    """One buyer holds ``picks`` (seat labels or ``{"area": ..., "quantity": n}``) in a session
    (default: the real-name one), orders naming the holders (``None`` where the session is not
    real-name), pays through the sandbox bank page, and waits for the tickets."""
    session = session_id or concert.session_id
    base = concert.base_url
    email = email or f"fan-{uuid.uuid4().hex[:6]}@example.test"
    with httpx.Client(base_url=base, timeout=30) as anon:
        account = _check(anon.post("/api/accounts", json={"email": email}), "account")
    headers = {"Authorization": f"Bearer {account['token']}", "X-Device-Id": "demo-" + uuid.uuid4().hex[:8]}
    with httpx.Client(base_url=base, timeout=30, headers=headers) as buyer:
        seats = [p for p in picks if isinstance(p, str)]
        ga = [p for p in picks if isinstance(p, dict)]
        held = _check(buyer.post(f"/api/sessions/{session}/holds", json={"seats": seats, "ga": ga}), "hold")
        lines: list[dict[str, Any]] = [{"seat": s} for s in seats]
        for area in ga:
            lines += [{"area": area["area"]} for _ in range(area["quantity"])]
        for line, (name, id_type, number) in zip(lines, holders or [], strict=holders is not None):
            line["holder"] = {"name": name, "id_type": id_type, "id_number": number}
        order = _check(
            buyer.post(
                "/api/orders",
                json={"hold_id": held["id"], "email": email, "tickets": lines},
                headers={"Idempotency-Key": uuid.uuid4().hex},
            ),
            "order",
        )
        payment = _check(
            buyer.post(f"/api/orders/{order['id']}/payments", json={"provider": "sandbox"}), "payment"
        )
        _check(httpx.post(payment["pay_url"], timeout=30), "sandbox bank confirmation")
        deadline = time.monotonic() + timeout
        while True:
            current = _check(buyer.get(f"/api/orders/{order['id']}"), "order status")
            if current["status"] == "ticketed":
                break
            if time.monotonic() > deadline:
                raise DemoError(f"order {order['id']} is {current['status']} after {timeout:.0f} s")
            time.sleep(0.1)
    anonymous = {"name": "", "id_type": "", "id_number": ""}
    by_seat = {line.get("seat"): line.get("holder", anonymous) for line in lines if line.get("seat")}
    ga_holders = iter(line.get("holder", anonymous) for line in lines if not line.get("seat"))
    tickets = []
    for ticket in current["tickets"]:
        holder = by_seat[ticket["seat"]] if ticket["seat"] else next(ga_holders)
        tickets.append(
            DemoTicket(
                ticket_id=ticket["id"],
                token=ticket["token"],
                zone=ticket["zone"],
                seat=ticket["seat"],
                holder=holder["name"],
                id_type=holder["id_type"],
                id_number=holder["id_number"],
                order_id=order["id"],
                buyer_token=account["token"],
                session_id=session,
            )
        )
    concert.tickets += tickets
    return tickets


def sell_demo_tickets(concert: DemoConcert) -> list[DemoTicket]:
    """Six tickets across every zone in three orders (so one can be refunded alone), each
    naming its holder (real-name session)."""
    orders: list[list[Any]] = [
        ["L-1-15", {"area": "FLOOR", "quantity": 1}],
        ["C-6-14", "C-6-15"],
        ["R-10-3", {"area": "FLOOR", "quantity": 1}],
    ]
    tickets: list[DemoTicket] = []
    for index, picks in enumerate(orders):
        tickets += buy_tickets(concert, picks, list(HOLDERS[2 * index : 2 * index + 2]))
    return tickets
