"""Lights, buzzer and turnstile relay through gpiozero, driven by each verdict.

admit (``ok``): green light and one turnstile relay pulse. refusal: red light and a buzzer
pattern (two short beeps). hold (``identity_required``): amber light until the next verdict.
``exit_ok``: green light only (exits do not pulse the entry turnstile).
All outputs are optional (pins from ``[gpio]`` in the config); gpiozero's own background threads
time the pulses, so feedback never blocks the scan loop. Tests use gpiozero's MockFactory.
"""

from __future__ import annotations

import logging
from typing import Any

from gate_agent.config import GpioConfig
from gate_agent.verdicts import Verdict

log = logging.getLogger("gate_agent.feedback")
BEEP_ON = 0.12
BEEP_OFF = 0.08
REFUSAL_BEEPS = 2


class Feedback:
    """Owns the GPIO outputs; call :meth:`show` with each verdict and :meth:`close` on exit."""

    def __init__(self, config: GpioConfig, pin_factory: Any = None) -> None:
        from gpiozero import LED, Buzzer, DigitalOutputDevice

        if pin_factory is None and config.pin_factory:
            pin_factory = _factory(config.pin_factory)
        self.config = config

        def led(pin: int | None) -> Any:
            return None if pin is None else LED(pin, pin_factory=pin_factory)

        self.green = led(config.green)
        self.red = led(config.red)
        self.amber = led(config.amber)
        self.buzzer = None if config.buzzer is None else Buzzer(config.buzzer, pin_factory=pin_factory)
        self.turnstile = (
            None
            if config.turnstile is None
            else DigitalOutputDevice(
                config.turnstile, active_high=config.turnstile_active_high, initial_value=False,
                pin_factory=pin_factory,
            )
        )  # fmt: skip

    def _lights_off(self) -> None:
        for light in (self.green, self.red, self.amber):
            if light is not None:
                light.off()

    def show(self, verdict: Verdict) -> None:
        """Drive the outputs for one verdict (returns at once; pulses run in the background)."""
        self._lights_off()
        hold = self.config.show_time
        if verdict is Verdict.OK or verdict is Verdict.EXIT_OK:
            if self.green is not None:
                self.green.blink(on_time=hold, off_time=0, n=1, background=True)
            if verdict is Verdict.OK and self.turnstile is not None:
                self.turnstile.blink(on_time=self.config.turnstile_pulse, off_time=0, n=1, background=True)
        elif verdict is Verdict.IDENTITY_REQUIRED:
            if self.amber is not None:
                self.amber.on()  # stays on until the ID check ends with another verdict
        else:
            if self.red is not None:
                self.red.blink(on_time=hold, off_time=0, n=1, background=True)
            if self.buzzer is not None:
                self.buzzer.blink(on_time=BEEP_ON, off_time=BEEP_OFF, n=REFUSAL_BEEPS, background=True)

    def close(self) -> None:
        for device in (self.green, self.red, self.amber, self.buzzer, self.turnstile):
            if device is not None:
                device.close()


def _factory(name: str) -> Any:
    if name == "mock":
        from gpiozero.pins.mock import MockFactory

        return MockFactory()
    from gpiozero import Device

    Device.pin_factory = None  # let gpiozero pick by name through its environment variable
    import os

    os.environ["GPIOZERO_PIN_FACTORY"] = name
    return None
