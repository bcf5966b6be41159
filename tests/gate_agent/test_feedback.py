"""GPIO feedback on gpiozero's MockFactory: which pins go high, in what pattern, for how long.

gpiozero times the pulses on its own threads, so the tests wait for the pulses to have happened
(an event) rather than sleeping a fixed time, and check only what a loaded machine cannot
break: a pulse lasts at least its configured time (a timer never fires early). How close to
it the pulses come is a figure for bench/, not a test."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from gpiozero.pins.mock import MockFactory

from gate_agent.config import GpioConfig
from gate_agent.feedback import BEEP_ON, REFUSAL_BEEPS, Feedback
from gate_agent.verdicts import Verdict

PINS = {"green": 17, "red": 27, "amber": 22, "buzzer": 23, "turnstile": 24}


@pytest.fixture
def factory() -> Iterator[MockFactory]:
    mock = MockFactory()
    yield mock
    mock.reset()


def make(factory: MockFactory, **overrides: object) -> Feedback:
    config = GpioConfig(**PINS, show_time=0.3, turnstile_pulse=0.15, **overrides)  # type: ignore[arg-type]
    return Feedback(config, pin_factory=factory)


def pulses(factory: MockFactory, pin: int) -> list[float]:
    """Lengths of each high period on a mock pin (its history stores the time since the previous change)."""
    result = []
    high = False
    for change in factory.pin(pin).states:
        if change.state and not high:
            high = True
        elif not change.state and high:
            result.append(change.timestamp)
            high = False
    return result


CLOCK_SLACK = 0.02
"""Timestamps are taken a little after the pin changes; a pulse may look this much shorter."""


def wait_for_pulses(factory: MockFactory, expected: dict[int, int]) -> None:
    """Until each pin has finished ``expected[pin]`` high pulses and every pin is back at rest
    (a guard of 30 s against a hang, not a timing bound)."""
    deadline = time.monotonic() + 30
    while any(len(pulses(factory, pin)) < count for pin, count in expected.items()):
        assert time.monotonic() < deadline, {pin: pulses(factory, pin) for pin in expected}
        time.sleep(0.01)


def test_admit_lights_green_and_pulses_turnstile_once(factory: MockFactory) -> None:
    feedback = make(factory)
    feedback.show(Verdict.OK)
    assert factory.pin(17).state and factory.pin(24).state and not factory.pin(27).state
    wait_for_pulses(factory, {17: 1, 24: 1})
    assert not factory.pin(17).state and not factory.pin(24).state  # back to rest
    [green] = pulses(factory, 17)
    [turnstile] = pulses(factory, 24)
    assert green >= 0.3 - CLOCK_SLACK
    assert turnstile >= 0.15 - CLOCK_SLACK
    assert pulses(factory, 27) == [] and pulses(factory, 23) == []
    feedback.close()


def test_refusal_red_and_two_beeps_no_turnstile(factory: MockFactory) -> None:
    feedback = make(factory)
    feedback.show(Verdict.ALREADY_USED)
    wait_for_pulses(factory, {27: 1, 23: REFUSAL_BEEPS})
    assert len(pulses(factory, 27)) == 1
    beeps = pulses(factory, 23)
    assert len(beeps) == REFUSAL_BEEPS and all(b >= BEEP_ON - CLOCK_SLACK for b in beeps)
    assert pulses(factory, 24) == [] and pulses(factory, 17) == []
    feedback.close()


def test_hold_is_amber_until_the_next_verdict(factory: MockFactory) -> None:
    feedback = make(factory)
    feedback.show(Verdict.IDENTITY_REQUIRED)
    time.sleep(0.4)  # time passing, not synchronisation: longer than show_time, and more is fine
    assert factory.pin(22).state  # still on: the lane is held
    feedback.show(Verdict.OK)
    assert not factory.pin(22).state and factory.pin(17).state
    wait_for_pulses(factory, {17: 1, 24: 1})
    assert len(pulses(factory, 24)) == 1
    feedback.close()


def test_exit_is_green_without_turnstile(factory: MockFactory) -> None:
    feedback = make(factory)
    feedback.show(Verdict.EXIT_OK)
    wait_for_pulses(factory, {17: 1})
    assert len(pulses(factory, 17)) == 1 and pulses(factory, 24) == []
    feedback.close()


def test_active_low_relay(factory: MockFactory) -> None:
    feedback = make(factory, turnstile_active_high=False)
    assert factory.pin(24).state  # relay boards that are active-low rest with the pin high
    feedback.show(Verdict.OK)
    assert not factory.pin(24).state
    wait_for_pulses(factory, {17: 1})  # the green light's pulse outlasts the turnstile's
    deadline = time.monotonic() + 30
    while not factory.pin(24).state:  # active-low: the pulse ends with the pin high again
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert factory.pin(24).state
    feedback.close()
