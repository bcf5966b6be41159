"""Transfers over HTTP on SQLite and PostgreSQL: offer, accept, the ticket re-issued to the
recipient at a higher version (feed: the gates refuse the old QR), the seat follows it, the
promoter's rules (forbid, limit), and one ID one ticket on a real-name show."""

from __future__ import annotations

import uuid

from tests.aftersales.test_exchange import feed_for, seats
from tests.box_office.conftest import Server
from tests.box_office.helpers import Concert, buy, hold, order, pay, wait_status

RIC_A = ("王芳", "cn_ric", "110101199003070273")
RIC_B = ("李娜", "cn_ric", "440305198807150621")


def holder(who: tuple[str, str, str]) -> dict[str, str]:
    return {"name": who[0], "id_type": who[1], "id_number": who[2]}


def test_offer_accept_reissue_and_rules(server: Server) -> None:
    concert = Concert(server)
    sender = concert.buyer()
    email = f"friend-{uuid.uuid4().hex[:8]}@example.test"
    friend = concert.buyer(email=email)
    done = buy(concert, sender, seats=["A-2-7", "A-2-8"])
    ticket = next(t for t in done["tickets"] if t["seat"] == "A-2-7")
    assert (
        concert.buyer().post(f"/api/tickets/{ticket['id']}/transfers", json={"to_email": email}).status_code
        == 403
    )
    offered = sender.post(f"/api/tickets/{ticket['id']}/transfers", json={"to_email": email.upper()})
    assert offered.status_code == 201, offered.text
    again = sender.post(f"/api/tickets/{ticket['id']}/transfers", json={"to_email": email})
    assert again.json()["code"] == "already_offered"
    assert [t["id"] for t in friend.get("/api/transfers/incoming").json()] == [offered.json()["id"]]
    assert concert.buyer().post(f"/api/transfers/{offered.json()['id']}/accept", json={}).status_code == 403

    accepted = friend.post(f"/api/transfers/{offered.json()['id']}/accept", json={})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"
    mine = friend.get("/api/tickets").json()
    assert [(t["id"], t["seat"], t["version"], t["status"]) for t in mine] == [
        (ticket["id"], "A-2-7", 2, "valid")
    ]
    assert mine[0]["token"] != ticket["token"]
    assert [t["seat"] for t in sender.get("/api/tickets").json()] == ["A-2-8"]
    entries = feed_for(concert, ticket["id"])
    assert (entries[-1]["kind"], entries[-1]["ticket"]["version"]) == ("changed", 2)
    # the sender can no longer refund (nor cancel) the given ticket; refunding the rest leaves it sold
    assert (
        sender.post(
            f"/api/orders/{done['id']}/refund-requests", json={"ticket_ids": [ticket["id"]]}
        ).status_code
        == 409
    )
    rest = sender.post(f"/api/orders/{done['id']}/refund-requests", json={})
    assert rest.status_code == 201 and len(rest.json()["ticket_ids"]) == 1
    now_seats = seats(server, concert.session_id)
    assert now_seats["A-2-7"] == "sold" and now_seats["A-2-8"] == "available"
    # the recipient's order paid nothing: nothing to refund to them
    gift_order = accepted.json()["new_order_id"]
    assert friend.get(f"/api/orders/{gift_order}/refund-preview").json()["code"] == "nothing_to_refund"

    # the promoter limits transfers to one per ticket, then forbids them
    rules = {"allowed": True, "max_per_ticket": 1, "lock_hours": 0}
    assert concert.org.put(f"/api/events/{concert.event_id}/transfer-rules", json=rules).status_code == 200
    third = concert.buyer()
    limited = friend.post(f"/api/tickets/{ticket['id']}/transfers", json={"to_email": "x@example.test"})
    assert limited.status_code == 409 and limited.json()["code"] == "transfer_limit"
    forbid = {"allowed": False, "max_per_ticket": None, "lock_hours": 0}
    assert concert.org.put(f"/api/events/{concert.event_id}/transfer-rules", json=forbid).status_code == 200
    other = buy(concert, third, seats=["A-2-9"])
    refused = third.post(f"/api/tickets/{other['tickets'][0]['id']}/transfers", json={"to_email": email})
    assert refused.status_code == 409 and refused.json()["code"] == "transfers_forbidden"
    assert (
        Concert(server).org.put(f"/api/events/{concert.event_id}/transfer-rules", json=rules).status_code
        == 403
    )


def test_real_name_transfer_needs_the_recipients_id_once_per_show(server: Server) -> None:
    concert = Concert(server, session={"real_name": True})
    sender = concert.buyer()
    email = f"rn-{uuid.uuid4().hex[:8]}@example.test"
    friend = concert.buyer(email=email)

    def buy_named(buyer: object, seat: str, who: tuple[str, str, str]) -> dict[str, object]:
        held = hold(buyer, concert.session_id, seats=[seat]).json()  # type: ignore[arg-type]
        made = order(buyer, held["id"], tickets=[{"seat": seat, "holder": holder(who)}])  # type: ignore[arg-type]
        assert made.status_code == 201, made.text
        pay(buyer, made.json()["id"])  # type: ignore[arg-type]
        return wait_status(buyer, made.json()["id"], "ticketed")  # type: ignore[arg-type]

    first = buy_named(sender, "A-3-1", RIC_A)
    second = buy_named(sender, "A-3-2", RIC_B)
    tickets = [first["tickets"][0], second["tickets"][0]]  # type: ignore[index]
    offers = [
        sender.post(f"/api/tickets/{t['id']}/transfers", json={"to_email": email}).json()["id"]
        for t in tickets
    ]
    nameless = friend.post(f"/api/transfers/{offers[0]}/accept", json={})
    assert nameless.status_code == 422 and nameless.json()["code"] == "holder_required"
    # RIC_B already holds the second ticket of this show: one ID, one ticket
    taken = friend.post(f"/api/transfers/{offers[0]}/accept", json={"holder": holder(RIC_B)})
    assert taken.status_code == 409 and taken.json()["code"] == "id_has_ticket"
    fresh_id = ("赵六", "cn_ric", "11010519491231002X")
    ok = friend.post(f"/api/transfers/{offers[0]}/accept", json={"holder": holder(fresh_id)})
    assert ok.status_code == 200, ok.text
    mine = friend.get("/api/tickets").json()
    assert mine[0]["holder"].startswith("赵") and mine[0]["version"] == 2
    entries = feed_for(concert, tickets[0]["id"])
    assert (entries[-1]["kind"], entries[-1]["ticket"]["version"]) == ("identity_changed", 2)
    declined = friend.post(f"/api/transfers/{offers[1]}/decline")
    assert declined.json()["status"] == "declined"
