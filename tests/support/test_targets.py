"""Response-time targets as staff see them: a request nobody answered in time shows as
overdue and comes first; an answer clears it. The clock is the context's, moved by the test."""

from __future__ import annotations

from pathlib import Path

from bench.support_bot import build_world, context
from box_office.store.models import Event
from box_office.support import desk


def test_a_missed_target_shows_first_and_an_answer_clears_it(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    now = [1_900_000_000.0]
    ctx.clock = lambda: now[0]
    try:
        world = build_world(ctx)
        with ctx.db.read() as db:
            event = db.get(Event, world.event_id)
            assert event is not None
            organiser = event.organiser_id
        refund = desk.open_request(
            ctx, world.buyer_a, category="refund", message="退票", order_id=world.order_a, lang="zh"
        )
        now[0] += 3600
        other = desk.open_request(
            ctx, world.buyer_b, category="other", message="hello", order_id=world.order_b
        )
        listed = desk.staff_requests(ctx, organiser)
        assert [r["overdue"] for r in listed] == [False, False]
        assert [r["id"] for r in listed] == [refund["id"], other["id"]]  # the refund is due sooner

        now[0] += 3 * 3600 + 1  # 4 h and a second after the refund request: its target is missed
        listed = desk.staff_requests(ctx, organiser)
        assert [(r["id"], r["overdue"]) for r in listed] == [(refund["id"], True), (other["id"], False)]
        assert listed[0]["seconds_left"] < 0
        assert desk.buyer_request(ctx, world.buyer_a, refund["id"])["overdue"] is True

        answered = desk.staff_reply(ctx, organiser, refund["id"], message="已为您处理")
        assert answered["overdue"] is False and answered["status"] == "waiting_buyer"
        now[0] += 100 * 3600  # waiting for the buyer: no target runs
        assert desk.staff_request(ctx, organiser, refund["id"])["overdue"] is False
        assert desk.staff_request(ctx, organiser, other["id"])["overdue"] is True
    finally:
        ctx.db.dispose()
