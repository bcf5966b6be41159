"""Step-up (issue #13): refunds, holder changes and payments above the promoter's amount need a
fresh SMS code; a proof works once, for its own account, within 5 minutes."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.box_office.buyer_fixtures import buyers_server, sign_in, skip, step_up
from tests.box_office.conftest import Server
from tests.box_office.helpers import Concert, buy, hold, order, pay, wait_status
from tests.box_office.test_device_binding import public_b64

__all__ = ["buyers_server"]
RIC = "11010519491231002X"


def test_refund_needs_a_fresh_sms_code(buyers_server: Server) -> None:
    concert = Concert(buyers_server)
    client, _ = sign_in(buyers_server)
    done = buy(concert, client, seats=["A-3-1"])
    refused = client.post(f"/api/orders/{done['id']}/cancel")
    assert refused.status_code == 403 and refused.json()["code"] == "step_up_required"
    proof = step_up(buyers_server, client, "refund")
    texts = [text for _, text in buyers_server.sms.sent[-1:]]
    assert "退款" in texts[0]
    other, _ = sign_in(buyers_server)
    stolen = other.post(f"/api/orders/{done['id']}/cancel", headers={"X-Step-Up": proof})
    assert stolen.status_code in (403, 404)  # another's order, whatever the proof
    refunded = client.post(f"/api/orders/{done['id']}/cancel", headers={"X-Step-Up": proof})
    assert refunded.status_code == 200, refunded.text
    assert refunded.json()["status"] == "refunded"


def test_a_proof_works_once_and_not_after_five_minutes(buyers_server: Server) -> None:
    concert = Concert(buyers_server, session={"real_name": True})
    client, _ = sign_in(buyers_server)
    holder = {"name": "张三", "id_type": "cn_ric", "id_number": RIC}
    held = hold(client, concert.session_id, seats=["A-3-1"]).json()
    made = order(client, held["id"], tickets=[{"seat": "A-3-1", "holder": holder}])
    assert made.status_code == 201, made.text
    pay(client, made.json()["id"])
    ticket = wait_status(client, made.json()["id"], "ticketed")["tickets"][0]
    new_holder = {"name": "李四", "id_type": "passport", "id_number": "E12345678"}
    path = f"/api/tickets/{ticket['id']}/holder"
    refused = client.put(path, json=new_holder)
    assert refused.status_code == 403 and refused.json()["code"] == "step_up_required"
    proof = step_up(buyers_server, client, "holder")
    changed = client.put(path, json=new_holder, headers={"X-Step-Up": proof})
    assert changed.status_code == 200, changed.text
    again = client.put(path, json=new_holder | {"name": "王五"}, headers={"X-Step-Up": proof})
    assert again.status_code == 403 and again.json()["code"] == "step_up_required"
    skip(buyers_server, 61)
    late = step_up(buyers_server, client, "holder")
    skip(buyers_server, 301)
    expired = client.put(path, json=new_holder | {"name": "王五"}, headers={"X-Step-Up": late})
    assert expired.status_code == 403 and expired.json()["code"] == "step_up_required"


def test_payment_above_the_promoters_amount_needs_a_step_up(buyers_server: Server) -> None:
    concert = Concert(buyers_server)
    rule = concert.org.put(f"/api/events/{concert.event_id}/step-up", json={"above_cents": 30000})
    assert rule.status_code == 200, rule.text
    outsider, _ = sign_in(buyers_server)
    assert outsider.put(f"/api/events/{concert.event_id}/step-up", json={"above_cents": 1}).status_code == 401
    client, _ = sign_in(buyers_server)
    small = buy(concert, client, seats=["A-2-10"])  # 200.00 CNY: under the amount
    assert small["status"] == "ticketed"
    held = hold(client, concert.session_id, seats=["A-1-10", "A-1-9"]).json()  # VIP 2 x 500.00
    made = order(client, held["id"]).json()
    refused = client.post(f"/api/orders/{made['id']}/payments", json={"provider": "sandbox"})
    assert refused.status_code == 403 and refused.json()["code"] == "step_up_required"
    proof = step_up(buyers_server, client, "payment")
    started = client.post(
        f"/api/orders/{made['id']}/payments", json={"provider": "sandbox"}, headers={"X-Step-Up": proof}
    )
    assert started.status_code == 201, started.text


def test_a_new_phone_takes_a_bound_ticket_with_an_sms_step_up(buyers_server: Server) -> None:
    """Moving a ticket bound to one phone to another: the SMS (or passkey) step-up proof does
    what the e-mailed code does; a spent or invented proof does not."""
    concert = Concert(buyers_server)
    client, _ = sign_in(buyers_server)
    ticket = buy(concert, client, seats=["A-3-10"])["tickets"][0]
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    path = f"/api/tickets/{ticket['id']}/device-key"
    assert client.post(path, json={"public_key": public_b64(old)}).status_code == 200
    refused = client.post(path, json={"public_key": public_b64(new)})
    assert refused.status_code == 409 and refused.json()["code"] == "rebind_needs_step_up"
    invented = client.post(path, json={"public_key": public_b64(new)}, headers={"X-Step-Up": "made-up"})
    assert invented.status_code == 403 and invented.json()["code"] == "step_up_wrong"
    proof = step_up(buyers_server, client, "transfer")
    moved = client.post(path, json={"public_key": public_b64(new)}, headers={"X-Step-Up": proof})
    assert moved.status_code == 200, moved.text
    assert moved.json()["version"] == ticket["version"] + 2
    back = client.post(path, json={"public_key": public_b64(old)}, headers={"X-Step-Up": proof})
    assert back.status_code == 403  # a proof works once
