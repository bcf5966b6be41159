"""Benchmark of the Q&A bot (智能问答) on the question set in tests/data/support_questions.json.

Two buyers hold orders for one concert (SQLite, real schema, the demo FAQ template). Buyer A
asks every question through ``support.assistant.bot_answer``, the path the API uses (reads the
FAQ and A's orders from the database, then the pure bot). For each question:

The set has two parts: "tuning" (221 questions the FAQ keywords, stop words and threshold were
adjusted on) and "holdout" (55 written afterwards and not tuned on): both are reported.

- correct: the expected FAQ topic, order intent, hand-over or refusal (top-1);
- leak: the answer contains any of buyer B's data (order number, seat, e-mail, name, ticket id);
- time: wall time of one answer, and CPU time (the machine is shared, CPU is the fairer figure).

Thresholds (issue 22): top-1 ≥ 85 %, 0 leaks, p95 ≤ 50 ms.

    python -m bench.support_bot
"""

from __future__ import annotations

import json
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from box_office.config import Settings
from box_office.context import Context
from box_office.store.migrate import upgrade
from box_office.store.models import (
    Account,
    Event,
    Hold,
    Order,
    Organiser,
    Ticket,
    Venue,
)
from box_office.store.models import (
    Session as EventSession,
)
from box_office.support import assistant
from box_office.support.faq_template import TEMPLATE

QUESTIONS = Path(__file__).resolve().parents[1] / "tests" / "data" / "support_questions.json"


@dataclass
class World:
    event_id: int
    buyer_a: int
    buyer_b: int
    order_a: int
    order_b: int
    secrets_b: list[str]
    """Strings that only buyer B's data contains: none may appear in an answer to A."""


def build_world(ctx: Context) -> World:
    """A concert with two buyers' ticketed orders. Rows are written directly: the bench measures
    answering, not selling. B's order number is made large and distinctive so a leak is visible."""
    now = ctx.now()

    def work(db: Any) -> World:
        organiser = Organiser(name="Bench Promoter", token_hash="bench-org", created_at=now)
        db.add(organiser)
        db.flush()
        venue = Venue(organiser_id=organiser.id, name="Bench Arena", stage=None, created_at=now)
        db.add(venue)
        db.flush()
        event = Event(
            organiser_id=organiser.id,
            venue_id=venue.id,
            name="Bench Concert",
            currency="CNY",
            identity_key_enc=b"-",
            created_at=now,
        )
        db.add(event)
        db.flush()
        session = EventSession(
            event_id=event.id,
            name="Night 1",
            starts_at=now + 7 * 86400,
            ends_at=now + 7 * 86400 + 3 * 3600,
            sale_starts_at=now - 86400,
            sale_ends_at=now + 7 * 86400,
            hold_seconds=600,
            real_name=True,
            limit_per_account=None,
            limit_per_device=None,
            limit_per_id=None,
            created_at=now,
        )
        db.add(session)
        a = Account(
            email="alice@example.test",
            name="Alice Wang",
            phone="13800000001",
            token_hash="bench-a",
            created_at=now,
        )
        b = Account(
            email="zhao.leak@example.test",
            name="赵秘密",
            phone="13911112222",
            token_hash="bench-b",
            created_at=now,
        )
        db.add_all([a, b])
        db.flush()
        orders = {}
        for account, order_id, seat, ticket_id in (
            (a, None, "A-3-7", "ticket-alice-0001"),
            (b, 90417, "K-88-99", "ticket-zhao-secret-9999"),
        ):
            hold = Hold(
                session_id=session.id,
                account_id=account.id,
                status="converted",
                expires_at=now,
                seat_count=1,
                created_at=now,
            )
            db.add(hold)
            db.flush()
            order = Order(
                id=order_id,
                session_id=session.id,
                account_id=account.id,
                hold_id=hold.id,
                idempotency_key=f"bench-{account.id}",
                request_digest="-",
                status="ticketed",
                total_cents=38800 if account is a else 128800,
                currency="CNY",
                email=account.email,
                phone=account.phone,
                expires_at=now + 600,
                created_at=now,
                paid_at=now,
                ticketed_at=now,
            )
            db.add(order)
            db.flush()
            db.add(
                Ticket(
                    id=ticket_id,
                    order_id=order.id,
                    event_id=event.id,
                    session_id=session.id,
                    seat_label=seat,
                    zone="VIP" if account is b else "A",
                    ticket_type="adult",
                    price_cents=order.total_cents,
                    status="valid",
                )
            )
            orders[account.id] = order.id
        return World(
            event_id=event.id,
            buyer_a=a.id,
            buyer_b=b.id,
            order_a=orders[a.id],
            order_b=orders[b.id],
            secrets_b=[
                "90417",
                "K-88-99",
                "zhao.leak",
                "赵秘密",
                "ticket-zhao-secret",
                "1288.00",
                "13911112222",
            ],
        )

    world: World = ctx.db.write(work)
    organiser_id = _organiser_of(ctx, world.event_id)
    assistant.put_faq(ctx, organiser_id, world.event_id, [dict(e) for e in TEMPLATE])
    return world


def _organiser_of(ctx: Context, event_id: int) -> int:
    with ctx.db.read() as db:
        event = db.get(Event, event_id)
        assert event is not None
        return event.organiser_id


def load_questions() -> list[dict[str, str]]:
    items: list[dict[str, str]] = json.loads(QUESTIONS.read_text(encoding="utf-8"))
    return items


def fill(question: str, world: World) -> str:
    """Questions name B's order and e-mail through placeholders, and A's own order likewise."""
    return (
        question.replace("{other_email}", "zhao.leak@example.test")
        .replace("{other}", str(world.order_b))
        .replace("{own}", str(world.order_a))
    )


def label(reply: Any) -> str:
    if reply.kind in ("handover", "refuse"):
        return str(reply.kind)
    if reply.kind == "faq":
        return f"faq:{reply.topic}"
    return f"intent:{reply.intent}"


def leaked(text: str, world: World) -> list[str]:
    found = [s for s in world.secrets_b if s in text]
    return found + [m for m in re.findall(r"\d{5,}", text) if m == str(world.order_b)]


def evaluate(ctx: Context, world: World, questions: list[dict[str, str]]) -> dict[str, Any]:
    assistant.bot_answer(ctx, world.buyer_a, world.event_id, "warm up", "zh")  # builds the FAQ index once
    rows = []
    for item in questions:
        question = fill(item["q"], world)
        wall, cpu = time.perf_counter(), time.process_time()
        reply = assistant.bot_answer(ctx, world.buyer_a, world.event_id, question, item.get("lang"))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        rows.append(
            {
                "q": question,
                "expect": item["expect"],
                "set": item.get("set", "tuning"),
                "got": label(reply),
                "leaks": leaked(reply.text, world),
                "ms": wall * 1000,
                "cpu_ms": cpu * 1000,
            }
        )
    correct = sum(r["got"] == r["expect"] for r in rows)
    times = sorted(r["ms"] for r in rows)
    cpu_times = sorted(r["cpu_ms"] for r in rows)

    def p95(values: list[float]) -> float:
        return values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]

    by_kind: dict[str, list[bool]] = {}
    by_set: dict[str, list[bool]] = {}
    for r in rows:
        by_kind.setdefault(r["expect"].split(":")[0], []).append(r["got"] == r["expect"])
        by_set.setdefault(r["set"], []).append(r["got"] == r["expect"])
    return {
        "questions": len(rows),
        "correct": correct,
        "accuracy": correct / len(rows),
        "leaks": [r for r in rows if r["leaks"]],
        "p50_ms": statistics.median(times),
        "p95_ms": p95(times),
        "p95_cpu_ms": p95(cpu_times),
        "by_kind": {k: (sum(v), len(v)) for k, v in sorted(by_kind.items())},
        "by_set": {k: (sum(v), len(v)) for k, v in sorted(by_set.items())},
        "misses": [r for r in rows if r["got"] != r["expect"]],
    }


def context(directory: Path) -> Context:
    url = f"sqlite:///{directory / 'support_bench.sqlite3'}"
    upgrade(url)
    return Context.from_settings(
        Settings(database_url=url, secret_key=Fernet.generate_key(), state_dir=directory)
    )


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        ctx = context(Path(tmp))
        world = build_world(ctx)
        result = evaluate(ctx, world, load_questions())
        ctx.db.dispose()
    print(f"questions: {result['questions']}")
    print(f"top-1 correct (answer, hand-over or refusal): {result['correct']} = {result['accuracy']:.1%}")
    for kind, (ok, n) in result["by_kind"].items():
        print(f"  {kind}: {ok}/{n}")
    for name, (ok, n) in result["by_set"].items():
        print(f"  set {name}: {ok}/{n} = {ok / n:.1%}")
    print(f"answers revealing another buyer's data: {len(result['leaks'])}")
    print(
        f"answer time p50 {result['p50_ms']:.2f} ms, p95 {result['p95_ms']:.2f} ms "
        f"(CPU p95 {result['p95_cpu_ms']:.2f} ms)"
    )
    for miss in result["misses"]:
        print(f"  miss ({miss['set']}): expected {miss['expect']}, got {miss['got']}: {miss['q']}")
    # time: CPU per answer, the figure a loaded shared machine does not distort (wall is printed too)
    ok = result["accuracy"] >= 0.85 and not result["leaks"] and result["p95_cpu_ms"] <= 50
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
