"""The price seen is the price paid: promoter price changes reach new holds at once, never
existing holds or orders; campaigns and coupons priced through the pipeline with a breakdown
the buyer sees before ordering and both sides read back afterwards. SQLite and PostgreSQL."""

from __future__ import annotations

import time

from tests.box_office.conftest import Server
from tests.box_office.helpers import Concert, hold, order
from tests.promotions.helpers import coupon, make


def test_price_change_reaches_new_holds_only(server: Server) -> None:
    concert = Concert(server)
    early = concert.buyer()
    first = hold(early, concert.session_id, best_available={"zone": "A", "quantity": 1})
    assert first.status_code == 201, first.text

    # only the event's organiser may change its prices
    stranger = Concert(server)
    refused = stranger.org.post(
        f"/api/events/{concert.event_id}/prices", json={"zone": "A", "price_cents": 1}
    )
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    assert (
        early.post(f"/api/events/{concert.event_id}/prices", json={"zone": "A", "price_cents": 1}).status_code
        == 401
    )
    unknown = concert.org.post(
        f"/api/events/{concert.event_id}/prices", json={"zone": "NOPE", "price_cents": 1}
    )
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_zone"

    make(concert.org, f"/api/events/{concert.event_id}/prices", {"zone": "A", "price_cents": 18000})
    # a change for a later period is not in force now
    later = time.time() + 3600
    make(
        concert.org,
        f"/api/events/{concert.event_id}/prices",
        {"zone": "A", "price_cents": 5000, "valid_from": later, "valid_until": later + 60},
    )
    # the child type has its own price in A (10000): a change for the type only
    make(
        concert.org,
        f"/api/events/{concert.event_id}/prices",
        {"zone": "A", "ticket_type": "child", "price_cents": 9000},
    )

    quoted = early.post(f"/api/holds/{first.json()['id']}/quote", json={})
    assert quoted.status_code == 200 and quoted.json()["total_cents"] == 20000  # held before the change
    made_early = order(early, first.json()["id"])
    assert made_early.status_code == 201 and made_early.json()["total_cents"] == 20000

    late = concert.buyer()
    second = hold(late, concert.session_id, best_available={"zone": "A", "quantity": 2})
    seats = [s["label"] for s in second.json()["seats"]]
    made_late = order(late, second.json()["id"], tickets=[{"seat": seats[0], "ticket_type": "child"}])
    assert made_late.status_code == 201, made_late.text
    assert made_late.json()["total_cents"] == 18000 + 9000

    # a change after the order never reaches it
    make(concert.org, f"/api/events/{concert.event_id}/prices", {"zone": "A", "price_cents": 1})
    again = early.get(f"/api/orders/{made_early.json()['id']}").json()
    assert again["total_cents"] == 20000
    prices = early.get(f"/api/orders/{made_early.json()['id']}/prices").json()
    assert prices["total_cents"] == 20000 and prices["lines"][0]["steps"] == []
    assert late.get(f"/api/orders/{made_early.json()['id']}/prices").status_code == 403
    listed = concert.org.get(f"/api/events/{concert.event_id}/prices").json()
    assert [c["price_cents"] for c in listed] == [18000, 5000, 9000, 1]


def test_campaigns_and_coupon_priced_with_breakdown(server: Server) -> None:
    concert = Concert(server)
    phase = make(
        concert.org,
        f"/api/events/{concert.event_id}/campaigns",
        {
            "kind": "early_bird",
            "name": "Early bird",
            "priority": 1,
            "adjust": {"mode": "set", "value": 15000},
            "scope": {"zones": ["A"]},
            "quantity_limit": 1,
            "stacks_with": ["coupon"],
        },
    )
    code = coupon(concert, kind="amount_off", value=5000, threshold_cents=30000, code="MAN300JIAN50")
    assert code["code"] == "MAN300JIAN50"
    buyer = concert.buyer()
    held = hold(buyer, concert.session_id, best_available={"zone": "A", "quantity": 2})
    assert held.status_code == 201, held.text
    quoted = buyer.post(f"/api/holds/{held.json()['id']}/quote", json={"coupon": "man300jian50"})
    assert quoted.status_code == 200, quoted.text
    view = quoted.json()
    assert view["list_total_cents"] == 40000 and view["total_cents"] == 30000 and view["coupon_cents"] == 5000
    for line in view["lines"]:
        assert line["list_cents"] + sum(s["delta"] for s in line["steps"]) == line["price_cents"]
    layers = sorted(tuple(s["layer"] for s in line["steps"]) for line in view["lines"])
    assert layers == [("coupon",), ("replace", "coupon")]

    made = order(buyer, held.json()["id"], coupon="MAN300JIAN50")
    assert made.status_code == 201, made.text
    assert made.json()["total_cents"] == 30000
    frozen = concert.org.get(f"/api/organiser/orders/{made.json()['id']}/prices").json()
    assert frozen["total_cents"] == 30000 and frozen["list_total_cents"] == 40000
    assert sorted(len(line["steps"]) for line in frozen["lines"]) == [1, 2]
    stranger = Concert(server)
    assert stranger.org.get(f"/api/organiser/orders/{made.json()['id']}/prices").status_code == 403

    campaigns = concert.org.get(f"/api/events/{concert.event_id}/campaigns").json()
    assert [c["sold"] for c in campaigns if c["id"] == phase["id"]] == [1]
    # the phase's first ticket is gone: the next buyer pays the list price; below the threshold
    other = concert.buyer()
    held2 = hold(other, concert.session_id, best_available={"zone": "A", "quantity": 1})
    refused = order(other, held2.json()["id"], coupon="MAN300JIAN50")
    assert refused.status_code == 409 and refused.json()["code"] == "coupon_threshold"
    plain = order(other, held2.json()["id"])
    assert plain.status_code == 201 and plain.json()["total_cents"] == 20000
    third = concert.buyer()
    held3 = hold(third, concert.session_id, best_available={"zone": "A", "quantity": 1})
    unknown = order(third, held3.json()["id"], coupon="NOSUCHCODE")
    assert unknown.status_code == 422 and unknown.json()["code"] == "coupon_unknown"
