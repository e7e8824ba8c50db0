"""The door contact and exit button on gpiozero's mock pins: each edge becomes a call with the
monotonic time, for either wiring, and the pins are let go on close or a failed start."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from gpiozero.pins.mock import MockFactory

from door.inputs import GpioDoorInputs
from door.locks import GpioRelayLock
from door.ports import DoorEvent, DoorEventKind, HardwareFailed
from door.watch import DoorWatch, WatchSettings

CONTACT, EXIT = 17, 27


class Calls:
    def __init__(self) -> None:
        self.door: list[tuple[float, bool]] = []
        self.exits: list[float] = []

    def door_changed(self, now: float, is_open: bool) -> None:
        self.door.append((now, is_open))

    def exit_pressed(self, now: float) -> None:
        self.exits.append(now)


@pytest.fixture
def factory() -> Iterator[MockFactory]:
    factory = MockFactory()
    yield factory
    factory.close()


def inputs(factory: MockFactory, calls: Calls, **wiring: str) -> GpioDoorInputs:
    return GpioDoorInputs(
        CONTACT,
        EXIT,
        on_door_changed=calls.door_changed,
        on_exit_pressed=calls.exit_pressed,
        pin_factory=factory,
        **wiring,  # type: ignore[arg-type]
    )


def test_a_normally_closed_contact_is_open_when_its_circuit_breaks(factory: MockFactory) -> None:
    calls = Calls()
    door = inputs(factory, calls)
    contact = factory.pin(CONTACT)
    assert door.is_open  # nothing wired: the pull-up holds the pin high
    contact.drive_low()
    assert not door.is_open
    before = time.monotonic()
    contact.drive_high()
    contact.drive_low()
    after = time.monotonic()
    assert [is_open for _, is_open in calls.door] == [False, True, False]
    assert all(before <= now <= after for now, _ in calls.door[1:])
    door.close()


def test_a_normally_open_contact_is_open_when_its_circuit_closes(factory: MockFactory) -> None:
    calls = Calls()
    door = inputs(factory, calls, contact_open_when="low")
    assert not door.is_open
    factory.pin(CONTACT).drive_low()
    assert door.is_open
    factory.pin(CONTACT).drive_high()
    assert [is_open for _, is_open in calls.door] == [True, False]
    door.close()


def test_the_exit_button_reports_presses_not_releases(factory: MockFactory) -> None:
    calls = Calls()
    door = inputs(factory, calls)
    button = factory.pin(EXIT)
    before = time.monotonic()
    button.drive_low()
    button.drive_high()
    button.drive_low()
    assert len(calls.exits) == 2
    assert before <= calls.exits[0] <= time.monotonic()
    assert calls.door == []
    door.close()


def test_a_button_that_closes_on_release_can_be_wired_the_other_way(factory: MockFactory) -> None:
    calls = Calls()
    door = inputs(factory, calls, exit_pressed_when="high")
    button = factory.pin(EXIT)
    button.drive_low()
    assert calls.exits == []
    button.drive_high()
    assert len(calls.exits) == 1
    door.close()


def test_a_door_without_an_exit_button(factory: MockFactory) -> None:
    calls = Calls()
    door = GpioDoorInputs(
        CONTACT,
        None,
        on_door_changed=calls.door_changed,
        on_exit_pressed=calls.exit_pressed,
        pin_factory=factory,
    )
    factory.pin(CONTACT).drive_low()
    assert calls.door and not calls.door[0][1]
    door.close()


def test_close_lets_the_pins_go(factory: MockFactory) -> None:
    calls = Calls()
    inputs(factory, calls).close()
    inputs(factory, calls).close()  # the same pins again


def test_a_pin_in_use_is_hardware_failed_and_the_other_pin_is_let_go(factory: MockFactory) -> None:
    relay = GpioRelayLock(EXIT, pin_factory=factory)
    calls = Calls()
    with pytest.raises(HardwareFailed, match=r"door inputs on pins 17, 27: GPIOPinInUse"):
        inputs(factory, calls)
    relay.close()
    inputs(factory, calls).close()  # the contact's pin was let go when the start failed


@pytest.mark.parametrize(("exit_pressed", "expected"), [(True, []), (False, [DoorEventKind.FORCED_OPEN])])
def test_the_inputs_feed_a_door_watch(
    factory: MockFactory, exit_pressed: bool, expected: list[DoorEventKind]
) -> None:
    watch = DoorWatch("front", WatchSettings(debounce_seconds=0), now=time.monotonic())
    events: list[DoorEvent] = []
    door = GpioDoorInputs(
        CONTACT,
        EXIT,
        on_door_changed=lambda now, is_open: events.extend(watch.door_changed(now, is_open)),
        on_exit_pressed=watch.exit_pressed,
        pin_factory=factory,
    )
    contact = factory.pin(CONTACT)
    contact.drive_low()  # the door is closed
    if exit_pressed:
        factory.pin(EXIT).drive_low()
    contact.drive_high()  # and opens
    assert [event.kind for event in events] == expected
    assert watch.state.is_open
    door.close()
