"""GPIO feedback on gpiozero's MockFactory: which pins go high, in what pattern, for how long."""

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


def settle(feedback: Feedback, seconds: float = 0.6) -> None:
    time.sleep(seconds)


def test_admit_lights_green_and_pulses_turnstile_once(factory: MockFactory) -> None:
    feedback = make(factory)
    feedback.show(Verdict.OK)
    assert factory.pin(17).state and factory.pin(24).state and not factory.pin(27).state
    settle(feedback)
    assert not factory.pin(17).state and not factory.pin(24).state  # back to rest
    [green] = pulses(factory, 17)
    [turnstile] = pulses(factory, 24)
    assert green == pytest.approx(0.3, abs=0.1)
    assert turnstile == pytest.approx(0.15, abs=0.1)
    assert pulses(factory, 27) == [] and pulses(factory, 23) == []
    feedback.close()


def test_refusal_red_and_two_beeps_no_turnstile(factory: MockFactory) -> None:
    feedback = make(factory)
    feedback.show(Verdict.ALREADY_USED)
    settle(feedback)
    assert len(pulses(factory, 27)) == 1
    beeps = pulses(factory, 23)
    assert len(beeps) == REFUSAL_BEEPS and all(b == pytest.approx(BEEP_ON, abs=0.08) for b in beeps)
    assert pulses(factory, 24) == [] and pulses(factory, 17) == []
    feedback.close()


def test_hold_is_amber_until_the_next_verdict(factory: MockFactory) -> None:
    feedback = make(factory)
    feedback.show(Verdict.IDENTITY_REQUIRED)
    settle(feedback, 0.4)
    assert factory.pin(22).state  # still on: the lane is held
    feedback.show(Verdict.OK)
    assert not factory.pin(22).state and factory.pin(17).state
    settle(feedback)
    assert len(pulses(factory, 24)) == 1
    feedback.close()


def test_exit_is_green_without_turnstile(factory: MockFactory) -> None:
    feedback = make(factory)
    feedback.show(Verdict.EXIT_OK)
    settle(feedback)
    assert len(pulses(factory, 17)) == 1 and pulses(factory, 24) == []
    feedback.close()


def test_active_low_relay(factory: MockFactory) -> None:
    feedback = make(factory, turnstile_active_high=False)
    assert factory.pin(24).state  # relay boards that are active-low rest with the pin high
    feedback.show(Verdict.OK)
    assert not factory.pin(24).state
    settle(feedback)
    assert factory.pin(24).state
    feedback.close()
