"""Members: tiers granted by the promoter for a period open member prices, an early-access window,
a higher purchase limit and members-only zones. Pure rules, then over HTTP (SQLite, PostgreSQL)."""

from __future__ import annotations

import time

from box_office.core.member_benefits import MemberAccess, account_limit, closed_to, sale_opens_at
from tests.box_office.conftest import Server
from tests.box_office.helpers import Concert, hold, order
from tests.promotions.helpers import make

GOLD = MemberAccess("gold", early_seconds=3600, limit_per_account=6, only_zones=frozenset({"VIP"}))
SILVER = MemberAccess("silver", early_seconds=600, limit_per_account=3)


def test_member_access_rules() -> None:
    assert sale_opens_at(10_000, [GOLD, SILVER], frozenset()) == 10_000
    assert sale_opens_at(10_000, [GOLD, SILVER], frozenset({"silver", "gold"})) == 10_000 - 3600
    assert account_limit(2, [GOLD, SILVER], frozenset({"silver"})) == 3
    assert account_limit(4, [SILVER], frozenset({"silver"})) == 4  # never lower than the public limit
    assert account_limit(None, [GOLD], frozenset({"gold"})) is None
    assert closed_to("VIP", 1, [GOLD, SILVER], frozenset({"silver"})) == frozenset({"gold"})
    assert closed_to("VIP", 1, [GOLD], frozenset({"gold"})) is None
    assert closed_to("A", 1, [GOLD], frozenset()) is None


def test_members_get_early_access_higher_limits_member_prices_and_their_zone(server: Server) -> None:
    now = time.time()
    concert = Concert(server, session={"sale_starts_at": now + 1800, "limit_per_account": 2})
    events = f"/api/events/{concert.event_id}/campaigns"
    make(
        concert.org,
        events,
        {
            "kind": "member_access",
            "name": "Gold access",
            "tier": "gold",
            "early_seconds": 3600,
            "limit_per_account": 4,
            "only_zones": ["VIP"],
        },
    )
    make(
        concert.org,
        events,
        {
            "kind": "member",
            "name": "Gold price",
            "tier": "gold",
            "adjust": {"mode": "percent_off", "value": 1000},
            "scope": {"zones": ["A"]},
        },
    )
    public = concert.buyer()
    early = hold(public, concert.session_id, best_available={"zone": "A", "quantity": 1})
    assert early.status_code == 409 and early.json()["code"] == "sale_not_started"

    email = "gold.member@example.test"
    member = concert.buyer(email=email)
    refused = hold(member, concert.session_id, best_available={"zone": "A", "quantity": 1})
    assert refused.status_code == 409  # not a member yet
    granted = make(
        concert.org, "/api/organiser/members", {"email": email, "tier": "gold", "valid_until": now + 86400}
    )
    assert granted["tier"] == "gold"
    stranger = Concert(server)
    assert stranger.org.get("/api/organiser/members").json() == []

    held = hold(member, concert.session_id, best_available={"zone": "A", "quantity": 3})  # above the public 2
    assert held.status_code == 201, held.text
    made = order(member, held.json()["id"])
    assert made.status_code == 201, made.text
    assert made.json()["total_cents"] == 3 * 18000
    prices = member.get(f"/api/orders/{made.json()['id']}/prices").json()
    assert {s["layer"] for line in prices["lines"] for s in line["steps"]} == {"member"}
    vip = hold(member, concert.session_id, best_available={"zone": "VIP", "quantity": 1})
    assert vip.status_code == 201 and order(member, vip.json()["id"]).status_code == 201

    # the public sale: VIP is for gold members only
    opened = Concert(server)
    make(
        opened.org,
        f"/api/events/{opened.event_id}/campaigns",
        {"kind": "member_access", "name": "Gold VIP", "tier": "gold", "only_zones": ["VIP"]},
    )
    buyer = opened.buyer()
    vip = hold(buyer, opened.session_id, best_available={"zone": "VIP", "quantity": 1})
    assert vip.status_code == 201
    closed = order(buyer, vip.json()["id"])
    assert closed.status_code == 403 and closed.json()["code"] == "members_only"
