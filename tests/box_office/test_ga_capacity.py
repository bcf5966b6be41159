"""General-admission capacity at its edge, over HTTP on SQLite and PostgreSQL.

The ledger's rule is ``held + sold + quantity <= capacity``; the database's CHECK constraint
is only the last line. A request that does not fit must be answered 409 ``sold_out`` with how
many places are left, never 500 (as it was with the rule planted as ``held + sold <
capacity``: the UPDATE went through and the constraint raised)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.box_office.conftest import Server
from tests.box_office.helpers import Concert, buy, grid, hold


def _floor(server: Server, concert: Concert) -> dict[str, Any]:
    (area,) = server.client().get(f"/api/sessions/{concert.session_id}").json()["ga"]
    assert isinstance(area, dict)
    return area


def _ask(buyer: httpx.Client, concert: Concert, quantity: int) -> httpx.Response:
    return hold(buyer, concert.session_id, ga=[{"area": "FLOOR", "quantity": quantity}])


def test_two_places_asked_when_one_is_left_is_409_sold_out(server: Server) -> None:
    concert = Concert(server, layout=grid(ga=3))
    first, second = concert.buyer(), concert.buyer()
    assert _ask(first, concert, 2).status_code == 201  # 1 of 3 left, held not sold
    refused = _ask(second, concert, 2)
    assert refused.status_code == 409, refused.text
    assert refused.json() == {"detail": "only 1 places left in FLOOR", "code": "sold_out"}
    assert _floor(server, concert)["held"] == 2
    last = _ask(second, concert, 1)  # exactly the last place still fits
    assert last.status_code == 201, last.text
    assert _ask(concert.buyer(), concert, 1).json()["code"] == "sold_out"
    assert _floor(server, concert)["held"] == 3


def test_sold_places_count_against_capacity(server: Server) -> None:
    concert = Concert(server, layout=grid(ga=3))
    buy(concert, concert.buyer(), ga=[{"area": "FLOOR", "quantity": 2}])
    area = _floor(server, concert)
    assert (area["sold"], area["held"]) == (2, 0)
    refused = _ask(concert.buyer(), concert, 2)
    assert refused.status_code == 409 and refused.json()["code"] == "sold_out", refused.text
    assert "only 1 places left" in refused.json()["detail"]
    assert _ask(concert.buyer(), concert, 1).status_code == 201


def test_more_than_the_whole_floor_is_409_not_500(server: Server) -> None:
    concert = Concert(server, layout=grid(ga=3))
    refused = _ask(concert.buyer(), concert, 4)
    assert refused.status_code == 409, refused.text
    assert refused.json() == {"detail": "only 3 places left in FLOOR", "code": "sold_out"}
    assert _floor(server, concert)["held"] == 0
