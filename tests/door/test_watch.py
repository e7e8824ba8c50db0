"""The door watch: legitimate, forced and held-open openings, the alarm's end, and a contact
that bounces, all at explicit times (monotonic seconds; the wall clock is the same plus an epoch)."""

from __future__ import annotations

from typing import Any

import pytest

from door.ports import DoorEvent, DoorEventKind
from door.watch import DoorState, DoorWatch, WatchSettings

EPOCH = 1_770_000_000.0  # the wall clock at monotonic 0
FORCED, HELD, CLOSED = DoorEventKind.FORCED_OPEN, DoorEventKind.HELD_OPEN, DoorEventKind.CLOSED
FAULT = DoorEventKind.CONTACT_FAULT


def at(monotonic: float) -> Any:
    """The wall-clock time of a monotonic moment, give or take a microsecond (a relative
    tolerance would allow minutes at the scale of epoch seconds)."""
    return pytest.approx(EPOCH + monotonic, abs=1e-6)


class Door:
    """A watch with a wall clock that follows the test's time."""

    def __init__(self, settings: WatchSettings | None = None, is_open: bool = False) -> None:
        self.now = 0.0
        self.watch = DoorWatch(
            "front", settings or WatchSettings(), now=0.0, is_open=is_open, wall=lambda: EPOCH + self.now
        )
        self.events: list[DoorEvent] = []

    def at(self, now: float) -> Door:
        self.now = now
        return self

    def change(self, now: float, is_open: bool) -> None:
        self.events += self.at(now).watch.door_changed(now, is_open)

    def tick(self, now: float) -> None:
        self.events += self.at(now).watch.tick(now)

    def kinds(self) -> list[DoorEventKind]:
        return [event.kind for event in self.events]


def test_an_opening_within_the_unlock_window_is_legitimate() -> None:
    door = Door()
    door.watch.unlocked(10.0, 5.0)
    door.change(12.0, True)
    door.tick(12.5)
    door.change(14.0, False)
    door.tick(20.0)
    assert door.events == []
    assert door.watch.state == DoorState(False, EPOCH + 14.0, None)


def test_an_opening_just_after_the_window_is_within_the_grace() -> None:
    door = Door()
    door.watch.unlocked(10.0, 5.0)
    door.change(15.8, True)
    door.tick(16.5)
    assert door.events == []


def test_an_opening_without_unlock_or_exit_is_forced_open_once_the_contact_settles() -> None:
    door = Door()
    door.change(100.0, True)
    assert door.events == []  # not settled yet: 0.2 s of debounce
    door.tick(100.1)
    assert door.events == []
    door.tick(100.2)
    [event] = door.events
    assert (event.kind, event.door_id) == (FORCED, "front")
    assert event.at == at(100.0)  # when it opened, not when it was seen
    assert door.watch.state == DoorState(True, at(100.0), FORCED)
    door.tick(101.0)
    door.tick(200.0)  # not held open: it is already an alarm, and not repeated
    assert door.kinds() == [FORCED]


def test_an_opening_after_the_window_and_its_grace_is_forced() -> None:
    door = Door()
    door.watch.unlocked(10.0, 5.0)
    door.change(16.5, True)
    door.tick(17.0)
    assert door.kinds() == [FORCED]


def test_an_opening_well_before_the_unlock_is_forced() -> None:
    door = Door()
    door.change(10.0, True)
    door.watch.unlocked(11.5, 5.0)
    door.tick(11.6)
    assert door.kinds() == [FORCED]


def test_an_opening_that_began_before_the_unlock_is_forced_though_it_settles_within_it() -> None:
    door = Door()
    for bounce in range(29):  # bounces from 10 s to 11.4 s, ends open
        door.change(10.0 + bounce / 20, bounce % 2 == 0)
    door.watch.unlocked(11.45, 5.0)
    door.tick(11.7)
    assert door.kinds() == [FORCED]


def test_an_unlock_reported_a_moment_after_the_contact_is_within_the_grace() -> None:
    door = Door()
    door.change(10.0, True)
    door.watch.unlocked(10.1, 5.0)
    door.tick(10.3)
    assert door.events == []


def test_an_opening_within_the_exit_window_is_legitimate_and_after_it_forced() -> None:
    door = Door()
    door.watch.exit_pressed(50.0)
    door.change(54.0, True)
    door.tick(54.5)
    door.change(56.0, False)
    door.tick(56.5)
    assert door.events == []
    door.change(60.0, True)  # 10 s after the press
    door.tick(60.5)
    assert door.kinds() == [FORCED]


def test_the_exit_window_is_a_setting() -> None:
    door = Door(WatchSettings(exit_window_seconds=2.0))
    door.watch.exit_pressed(50.0)
    door.change(53.0, True)
    door.tick(53.5)
    assert door.kinds() == [FORCED]


def test_a_legitimate_opening_held_open_is_reported_once_then_closed_with_its_duration() -> None:
    door = Door()
    door.watch.unlocked(0.0, 5.0)
    door.change(1.0, True)
    for tenth in range(2, 400):  # the agent ticks ten times a second
        door.tick(1.0 + tenth / 10)
    [held] = door.events
    assert held.kind == HELD
    assert held.at == at(31.0)
    assert door.watch.state.alarm == HELD
    door.change(45.0, False)
    door.tick(45.3)
    assert door.kinds() == [HELD, CLOSED]
    closed = door.events[-1]
    assert closed.at == at(45.0)
    assert closed.counts == {"open_seconds": 44}
    assert "open for 44 s" in closed.detail
    assert door.watch.state == DoorState(False, at(45.0), None)


def test_held_open_is_a_setting() -> None:
    door = Door(WatchSettings(held_open_seconds=10.0))
    door.watch.unlocked(0.0, 5.0)
    door.change(1.0, True)
    door.tick(10.9)
    assert door.events == []
    door.tick(11.0)
    assert door.kinds() == [HELD]


def test_a_door_closed_before_held_open_gives_nothing() -> None:
    door = Door()
    door.watch.unlocked(0.0, 5.0)
    door.change(1.0, True)
    door.change(30.9, False)
    door.tick(31.05)  # the close has not settled yet, but it began before held-open was due
    door.tick(31.2)
    assert door.events == []


def test_closing_after_forced_open_ends_the_alarm() -> None:
    door = Door()
    door.change(5.0, True)
    door.tick(5.5)
    door.change(8.0, False)
    door.tick(8.5)
    assert door.kinds() == [FORCED, CLOSED]
    assert door.events[-1].counts == {"open_seconds": 3}
    assert door.watch.state.alarm is None


def test_closing_after_a_legitimate_opening_is_no_event() -> None:
    door = Door()
    door.watch.exit_pressed(0.0)
    door.change(1.0, True)
    door.change(3.0, False)
    door.tick(4.0)
    assert door.events == []


def test_a_contact_that_chatters_then_stays_closed_gives_no_event() -> None:
    door = Door()
    for bounce in range(50):  # 50 reports in one second, open and closed in turn
        door.change(10.0 + bounce / 50, bounce % 2 == 0)
        door.tick(10.0 + bounce / 50 + 0.01)
    door.tick(11.0)
    door.tick(30.0)
    assert door.events == []
    assert door.watch.state.is_open is False


def test_a_contact_that_chatters_then_stays_open_gives_one_forced_open() -> None:
    door = Door()
    for bounce in range(51):  # ends open
        door.change(10.0 + bounce / 50, bounce % 2 == 0)
        door.tick(10.0 + bounce / 50 + 0.01)
    for tenth in range(1, 100):
        door.tick(11.0 + tenth / 10)
    [forced] = door.events
    assert forced.kind == FORCED
    assert forced.at == at(10.0)  # dated from the first bounce


def test_a_contact_that_chatters_for_long_gives_one_event_per_real_change() -> None:
    door = Door(WatchSettings(fault_seconds=30.0))
    moments = [10.0 + i * 0.05 for i in range(400)]  # 20 s of bouncing, every 50 ms
    for i, moment in enumerate(moments):
        door.change(moment, i % 2 == 0)
        door.tick(moment + 0.02)
    door.change(40.0, True)  # then really open, and settled
    door.tick(40.5)
    door.change(45.0, False)
    door.tick(45.5)
    assert door.kinds() == [FORCED, CLOSED]


def chatter(door: Door, start: float, flips: int, first_open: bool = True) -> None:
    """The contact flips every 0.1 s (twice as fast as the debounce), ``flips`` reports from
    ``start``, ticked in between: it ends where it began after an odd count."""
    for flip in range(flips):
        moment = start + flip / 10
        door.change(moment, (flip % 2 == 0) == first_open)
        door.tick(moment + 0.05)


def test_a_door_forced_while_its_contact_chatters_is_a_contact_fault_then_forced_open() -> None:
    door = Door()
    chatter(door, start=100.0, flips=99)  # to 109.8 s
    assert door.events == []  # not yet a fault: 10 s by default
    chatter(door, start=109.9, flips=600, first_open=False)  # one more minute
    fault, forced = door.events
    assert (fault.kind, fault.at) == (FAULT, at(110.0))
    assert "not settled for 10 s" in fault.detail
    assert (forced.kind, forced.at) == (FORCED, at(100.0))  # the opening began with the chatter
    assert door.watch.state == DoorState(True, at(100.0), FORCED)
    assert door.kinds() == [FAULT, FORCED]  # once, however long it chatters on


def test_a_faulty_contact_that_settles_open_is_still_the_one_opening() -> None:
    door = Door()
    chatter(door, start=100.0, flips=151)  # ends open at 115 s
    door.tick(200.0)
    assert door.kinds() == [FAULT, FORCED]
    assert door.watch.state == DoorState(True, at(100.0), FORCED)


def test_a_faulty_contact_that_settles_closed_ends_the_alarm_and_the_fault() -> None:
    door = Door()
    chatter(door, start=100.0, flips=152)  # ends closed at 115.1 s
    door.tick(116.0)
    assert door.kinds() == [FAULT, FORCED, CLOSED]
    closed = door.events[-1]
    assert closed.at == at(115.1)  # its last report: closed and still since then
    assert closed.counts == {"open_seconds": 15}
    assert door.watch.state == DoorState(False, at(115.1), None)
    door.change(120.0, True)  # back to normal: a later opening is judged as usual, debounce included
    assert door.kinds() == [FAULT, FORCED, CLOSED]
    door.tick(120.2)
    assert door.kinds() == [FAULT, FORCED, CLOSED, FORCED]


def test_a_contact_fault_within_an_unlock_is_held_open_not_forced() -> None:
    door = Door(WatchSettings(held_open_seconds=30.0, fault_seconds=5.0))
    door.watch.unlocked(100.0, 5.0)
    chatter(door, start=101.0, flips=400)
    fault, held = door.events
    assert (fault.kind, fault.at) == (FAULT, at(106.0))
    assert (held.kind, held.at) == (HELD, at(131.0))  # open since 101 s, for 30 s


def test_the_contact_fault_time_is_a_setting() -> None:
    door = Door(WatchSettings(fault_seconds=3.0))
    chatter(door, start=100.0, flips=30)
    assert door.events == []
    door.tick(103.0)
    assert door.kinds() == [FAULT, FORCED]


def test_a_bounce_at_the_opening_of_a_legitimate_door_is_dated_from_its_start() -> None:
    door = Door()
    door.watch.unlocked(0.0, 3.0)
    for bounce in range(41):  # the contact bounces for 2 s from 3.5 s: it began within the grace
        door.change(3.5 + bounce / 20, bounce % 2 == 0)
    door.tick(6.0)
    assert door.events == []


def test_a_second_unlock_extends_the_window() -> None:
    door = Door()
    door.watch.unlocked(0.0, 5.0)
    door.watch.unlocked(4.0, 5.0)  # now until 9 s
    door.change(8.5, True)
    door.tick(9.0)
    assert door.events == []


def test_a_second_unlock_keeps_the_start_of_the_window() -> None:
    door = Door()
    door.watch.unlocked(0.0, 5.0)
    for bounce in range(43):  # the door begins to open at 2 s; the contact settles after 4.1 s
        door.change(2.0 + bounce / 20, bounce % 2 == 0)
    door.watch.unlocked(4.0, 5.0)
    door.tick(4.5)
    assert door.events == []


def test_a_shorter_unlock_does_not_cut_a_longer_one_short() -> None:
    door = Door()
    door.watch.unlocked(0.0, 10.0)
    door.watch.unlocked(2.0, 3.0)
    door.change(8.0, True)
    door.tick(8.5)
    assert door.events == []


def test_held_open_waits_while_the_lock_is_kept_released() -> None:
    door = Door(WatchSettings(held_open_seconds=10.0))
    door.watch.unlocked(0.0, 5.0)
    door.change(1.0, True)
    door.watch.unlocked(9.0, 5.0)  # people keep coming: released until 14 s
    door.tick(11.5)
    assert door.events == []
    door.tick(14.0)
    assert door.kinds() == [HELD]


def test_a_lock_ends_the_unlock_window() -> None:
    door = Door()
    door.watch.unlocked(0.0, 30.0)
    door.watch.locked(2.0)  # lockdown, or the relay refused
    door.change(2.5, True)
    door.tick(3.0)
    assert door.kinds() == [FORCED]


def test_a_door_found_open_at_start_is_not_forced_but_can_be_held_open() -> None:
    door = Door(is_open=True)
    door.tick(29.0)
    assert door.events == []
    assert door.watch.state == DoorState(True, EPOCH, None)
    door.tick(30.0)
    assert door.kinds() == [HELD]


def test_a_repeated_report_changes_nothing() -> None:
    door = Door()
    door.change(10.0, True)
    door.change(10.15, True)  # the same position again: not a new change, the debounce goes on
    door.tick(10.2)
    assert door.kinds() == [FORCED]


@pytest.mark.parametrize(
    "settings",
    [
        {"debounce_seconds": -1.0},
        {"held_open_seconds": 0.0},
        {"exit_window_seconds": float("nan")},
        {"fault_seconds": float("inf")},
        {"fault_seconds": 0.2, "debounce_seconds": 0.2},
    ],
)
def test_settings_that_make_no_sense_are_refused(settings: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        WatchSettings(**settings)


def test_an_unlock_of_no_sense_is_refused() -> None:
    with pytest.raises(ValueError):
        Door().watch.unlocked(0.0, float("inf"))
