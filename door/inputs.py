"""The door contact and the exit (REX) button on GPIO pins, through gpiozero.

Thin on purpose: each edge becomes a call with ``time.monotonic()``; judging the door
(debounce, forced or held open) is ``door.watch.DoorWatch``'s. So gpiozero's own bounce
filter is off: the watch must see every report to date a change from its first one.
The callbacks run on gpiozero's thread, not the caller's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal

from door.ports import HardwareFailed

Level = Literal["high", "low"]


class GpioDoorInputs:
    """A door contact and an exit button, each switching its pin to ground (internal pull-up).

    ``contact_open_when``: the pin level that means the door is open. "high" for the usual
    normally-closed contact (closed door, closed circuit, pin pulled to ground; an open door
    or a cut wire breaks the circuit and the pull-up takes the pin high), "low" for a
    normally-open one. ``exit_pressed_when``: likewise for the button ("low" for the usual
    normally-open button).
    """

    def __init__(
        self,
        contact_pin: int | str,
        exit_pin: int | str | None,
        *,
        on_door_changed: Callable[[float, bool], object],
        on_exit_pressed: Callable[[float], object],
        contact_open_when: Level = "high",
        exit_pressed_when: Level = "low",
        pin_factory: object | None = None,
    ) -> None:
        try:
            from gpiozero import DigitalInputDevice
        except ImportError as error:
            raise HardwareFailed(f"door inputs: gpiozero is not installed ({error})") from error
        self._on_door_changed = on_door_changed
        self._on_exit_pressed = on_exit_pressed
        self._contact_open_when_grounded = contact_open_when == "low"
        self._devices: list[Any] = []
        try:
            # With the pull-up, gpiozero's "active" is the pin pulled low: the circuit closed.
            self._contact = DigitalInputDevice(contact_pin, pull_up=True, pin_factory=pin_factory)
            self._devices.append(self._contact)
            self._contact.when_activated = self._contact_grounded
            self._contact.when_deactivated = self._contact_released
            if exit_pin is not None:
                button = DigitalInputDevice(exit_pin, pull_up=True, pin_factory=pin_factory)
                self._devices.append(button)
                if exit_pressed_when == "low":
                    button.when_activated = self._exit_pressed
                else:
                    button.when_deactivated = self._exit_pressed
        except Exception as error:  # gpiozero's errors, or its pin library's
            self.close()
            raise HardwareFailed(
                f"door inputs on pins {contact_pin}, {exit_pin}: {type(error).__name__}: {error}"
            ) from error

    @property
    def is_open(self) -> bool:
        """Whether the contact says the door is open now (for the watch's start)."""
        grounded = bool(self._contact.is_active)
        return grounded == self._contact_open_when_grounded

    def close(self) -> None:
        """Release the pins; no more callbacks."""
        for device in self._devices:
            device.close()
        self._devices.clear()

    def _contact_grounded(self) -> None:
        self._on_door_changed(time.monotonic(), self._contact_open_when_grounded)

    def _contact_released(self) -> None:
        self._on_door_changed(time.monotonic(), not self._contact_open_when_grounded)

    def _exit_pressed(self) -> None:
        self._on_exit_pressed(time.monotonic())
