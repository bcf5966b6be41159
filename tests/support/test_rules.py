"""The desk's pure rules: statuses and the response-time targets."""

from __future__ import annotations

import pytest

from box_office.support import rules


def test_a_new_refund_request_is_due_in_four_hours_and_other_in_a_day() -> None:
    assert rules.opened("refund", 1000.0).reply_due_at == 1000.0 + 4 * 3600
    assert rules.opened("other", 1000.0).reply_due_at == 1000.0 + 24 * 3600
    assert rules.opened("entry", 0.0).status == rules.OPEN


def test_overdue_only_while_open_and_past_due() -> None:
    assert rules.overdue(rules.OPEN, 100.0, 100.5)
    assert not rules.overdue(rules.OPEN, 100.0, 100.0)
    assert not rules.overdue(rules.WAITING_BUYER, 100.0, 500.0)
    assert not rules.overdue(rules.SOLVED, None, 500.0)
    assert rules.seconds_left(rules.OPEN, 100.0, 40.0) == 60.0
    assert rules.seconds_left(rules.WAITING_BUYER, None, 40.0) is None


def test_staff_reply_waits_for_the_buyer_and_stops_the_clock() -> None:
    step = rules.after_staff_message(rules.OPEN, None, 50.0)
    assert (step.status, step.reply_due_at, step.first_reply) == (rules.WAITING_BUYER, None, True)
    solved = rules.after_staff_message(rules.OPEN, rules.SOLVED, 50.0)
    assert (solved.status, solved.solved_at) == (rules.SOLVED, 50.0)
    kept_open = rules.after_staff_message(rules.OPEN, rules.OPEN, 50.0)
    assert kept_open.reply_due_at == 50.0 + rules.FOLLOW_UP_TARGET


def test_a_buyer_message_reopens_and_a_running_target_is_not_pushed_back() -> None:
    reopened = rules.after_buyer_message(rules.SOLVED, None, 10.0)
    assert (reopened.status, reopened.reply_due_at) == (rules.OPEN, 10.0 + rules.FOLLOW_UP_TARGET)
    again = rules.after_buyer_message(rules.OPEN, 99.0, 10.0)
    assert again.reply_due_at == 99.0


@pytest.mark.parametrize("bad", ["", "   ", "x" * (rules.MAX_MESSAGE + 1)])
def test_empty_or_long_messages_are_refused(bad: str) -> None:
    with pytest.raises(rules.SupportRuleError):
        rules.check_message(bad)


def test_unknown_category_and_status_are_refused() -> None:
    with pytest.raises(rules.SupportRuleError):
        rules.check_category("lost_property")
    with pytest.raises(rules.SupportRuleError):
        rules.set_status(rules.OPEN, "closed", None, 0.0)
