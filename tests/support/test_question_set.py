"""The bot's question set (tests/data/support_questions.json) through the database-backed path
the API uses: at least 85 % top-1 correct (answer, hand-over or refusal), and no answer that
contains another buyer's data. The same run as ``bench/support_bot.py``, without timing limits
(the machine is shared; the benchmark reports the times)."""

from __future__ import annotations

from pathlib import Path

from bench.support_bot import build_world, context, evaluate, load_questions
from box_office.support.bot import _INTENTS
from box_office.support.faq_template import TEMPLATE


def test_the_question_set_is_big_bilingual_and_labelled() -> None:
    questions = load_questions()
    assert len(questions) >= 150
    assert {q["lang"] for q in questions} == {"zh", "en"}
    kinds = {q["expect"].split(":")[0] for q in questions}
    assert kinds == {"faq", "intent", "handover", "refuse"}
    topics = {e["topic"] for e in TEMPLATE}
    intents = {name for name, _ in _INTENTS}
    for q in questions:
        kind, _, name = q["expect"].partition(":")
        assert name in (topics if kind == "faq" else intents if kind == "intent" else {""}), q


def test_accuracy_at_least_85_percent_and_no_leak(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    try:
        world = build_world(ctx)
        result = evaluate(ctx, world, load_questions())
    finally:
        ctx.db.dispose()
    assert result["leaks"] == []
    assert result["accuracy"] >= 0.85, result["misses"]
    # every group on its own, so a strong group cannot hide a broken one
    for kind, (ok, n) in result["by_kind"].items():
        assert ok / n >= 0.8, (kind, ok, n)
    # the questions written after tuning hold up too (measured 45/55 when they were added)
    ok, n = result["by_set"]["holdout"]
    assert n >= 50 and ok / n >= 0.75
