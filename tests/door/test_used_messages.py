"""The door's memory of used message ids: a replay is refused across restarts, and whatever
is torn, corrupt, full or malformed keeps the door shut rather than letting a replay through."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from door.used_messages import HEADER, UsedMessages

START = 1_800_000_000.0


class Clock:
    """A wall clock the test moves by hand."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "used-messages"


def memory(path: Path, clock: Clock, max_entries: int = 10_000) -> UsedMessages:
    return UsedMessages(path, max_entries, clock=clock)


def claims(path: Path) -> list[str]:
    """The file's claim lines, after its header."""
    header, *lines = path.read_text().splitlines()
    assert header + "\n" == HEADER.decode()
    return lines


def test_the_first_claim_is_true_and_a_replay_false(path: Path, clock: Clock) -> None:
    used = memory(path, clock)
    assert used.claim("scan-1", START + 65)
    assert not used.claim("scan-1", START + 65)
    assert used.claim("scan-2", START + 65)


def test_a_claim_survives_a_restart(path: Path, clock: Clock) -> None:
    memory(path, clock).claim("scan-1", START + 65)  # not closed: as after a power cut
    again = memory(path, clock)
    assert not again.claim("scan-1", START + 65)
    assert again.quarantine_until == 0
    assert path.read_bytes() == HEADER + f"{START + 65!r} scan-1\n".encode()


def test_a_file_of_an_older_agent_without_the_header_is_read_as_it_is(path: Path, clock: Clock) -> None:
    path.write_text(f"{START + 65!r} scan-1\n")
    used = memory(path, clock)
    assert not used.claim("scan-1", START + 65)
    assert used.quarantine_until == 0
    assert claims(path) == [f"{START + 65!r} scan-1"]


def test_an_expired_id_is_forgotten_and_may_be_claimed_again(path: Path, clock: Clock) -> None:
    used = memory(path, clock)
    assert used.claim("cmd:1", START + 10)
    clock.now = START + 10
    assert used.claim("cmd:1", START + 75)
    assert not memory(path, clock).claim("cmd:1", START + 75)


def test_a_claim_that_expired_already_is_refused(path: Path, clock: Clock) -> None:
    assert not memory(path, clock).claim("scan-1", START - 1)


@pytest.mark.parametrize("tail", [b"1800000065.0 scan-", b"\x00" * 512, b"18000000"])
def test_a_torn_last_line_keeps_the_rest_and_quarantines(path: Path, clock: Clock, tail: bytes) -> None:
    path.write_bytes(HEADER + f"{START + 65!r} scan-1\n".encode() + tail)
    used = memory(path, clock)
    assert not used.claim("scan-1", START + 65)
    # A claim torn by a power cut, or a whole one that lost its newline: "scan-9" may have
    # been that line, used already.
    assert used.quarantine_until == START + 65
    assert not used.claim("scan-9", START + 60)
    assert used.claim("scan-2", START + 66)
    assert claims(path)[0] == f"{START + 65!r} scan-1" and claims(path)[-1] == f"{START + 66!r} scan-2"
    assert list(path.parent.glob("*.corrupt-*")) == []  # what a power cut leaves is not corrupt


def test_a_claim_that_lost_only_its_newline_is_still_refused_after_a_restart(
    path: Path, clock: Clock
) -> None:
    assert memory(path, clock).claim("scan-1", START + 65)
    path.write_bytes(path.read_bytes()[:-1])
    again = memory(path, clock)
    assert not again.claim("scan-1", START + 65)
    assert again.quarantine_until == START + 65


@pytest.mark.parametrize("loss", ["emptied", "deleted"])
def test_a_memory_emptied_or_deleted_after_it_was_made_quarantines(
    path: Path, clock: Clock, loss: str
) -> None:
    assert memory(path, clock).claim("scan-1", START + 65)
    if loss == "emptied":
        path.write_bytes(b"")
    else:
        path.unlink()
    again = memory(path, clock)
    assert not again.claim("scan-1", START + 65)
    assert again.quarantine_until == START + 65
    assert again.claim("scan-2", START + 66)


def test_a_first_start_is_no_quarantine_and_leaves_its_marker(path: Path, clock: Clock) -> None:
    used = memory(path, clock)
    assert used.quarantine_until == 0
    assert path.read_bytes() == HEADER
    assert path.with_name("used-messages.created").exists()
    assert memory(path, clock).quarantine_until == 0  # a memory with nothing in it yet is no loss


def test_garbage_lines_keep_the_ids_around_them_and_quarantine(path: Path, clock: Clock) -> None:
    path.write_bytes(
        b"hello\n"
        + f"{START + 65!r} scan-1\n".encode()
        + b"\x00\x00\x00\nnan scan-2\n1800000065.0 two words\n\xff\xfe 1\n"
        + f"{START + 65!r} scan-3\n".encode()
    )
    used = memory(path, clock)
    assert not used.claim("scan-1", START + 200)
    assert not used.claim("scan-3", START + 200)
    assert used.quarantine_until == START + 65
    assert len(list(path.parent.glob("used-messages.corrupt-*"))) == 1


def test_a_corrupt_file_is_moved_aside_and_live_expiries_are_refused(path: Path, clock: Clock) -> None:
    path.write_bytes(b"\x89PNG\r\n\x1a\n not our file \xff\n")
    used = memory(path, clock)
    assert [aside.name for aside in path.parent.glob("*.corrupt-*")] == [f"used-messages.corrupt-{START:.0f}"]
    # A message made before the start could have been claimed in the lost file.
    assert not used.claim("scan-1", START + 60)
    assert not used.claim("scan-2", START + 65)
    # One made after the start could not.
    assert used.claim("scan-3", START + 66)
    clock.now = START + 30
    assert used.claim("scan-4", START + 90)


def test_an_unreadable_memory_quarantines_and_never_crashes(path: Path, clock: Clock) -> None:
    path.mkdir()  # reading it fails as an unreadable file does
    used = memory(path, clock)
    assert not used.claim("scan-1", START + 65)
    clock.now = START + 66
    assert used.claim("scan-1", START + 120)
    assert path.is_file()


def test_a_memory_full_of_live_ids_refuses_rather_than_forgets(
    path: Path, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    used = memory(path, clock, max_entries=3)
    assert used.claim("a", START + 10)
    assert used.claim("b", START + 60)
    assert used.claim("c", START + 60)
    assert not used.claim("d", START + 60)
    assert "memory full" in caplog.text
    assert not used.claim("a", START + 60)  # still remembered: nothing unexpired was dropped
    clock.now = START + 10  # "a" expired: its room is free
    assert used.claim("d", START + 70)
    assert not used.claim("b", START + 70)


@pytest.mark.parametrize(
    "message_id", ["scan-1\n1900000000.0 scan-2", "scan 1", "", "x" * 129, "a/b", "scan-1\n", "é"]
)
def test_malformed_ids_are_refused_and_never_reach_the_file(
    path: Path, clock: Clock, message_id: str
) -> None:
    used = memory(path, clock)
    assert not used.claim(message_id, START + 65)
    assert path.read_bytes() == HEADER
    assert used.claim("scan-2", START + 65)  # what a smuggled line would have blocked


def test_a_claim_that_cannot_be_written_is_refused(path: Path, clock: Clock) -> None:
    used = memory(path, clock)
    path.unlink()
    path.mkdir()  # the file cannot be opened for writing any more
    assert not used.claim("scan-1", START + 65)
    path.rmdir()
    assert used.claim("scan-1", START + 65)  # not remembered by the failed attempt


def test_compaction_drops_expired_lines_and_keeps_live_ids(path: Path, clock: Clock) -> None:
    used = memory(path, clock, max_entries=4)
    for number in range(20):
        clock.now = START + number
        assert used.claim(f"scan-{number}", START + number + 3)
        assert len(claims(path)) <= 8
    assert not path.with_name("used-messages.tmp").exists()
    again = memory(path, clock)
    assert sorted(line.split()[1] for line in claims(path)) == ["scan-17", "scan-18", "scan-19"]
    for number in (17, 18, 19):
        assert not again.claim(f"scan-{number}", START + 100)


def test_concurrent_claims_of_one_id_give_exactly_one_true(path: Path, clock: Clock) -> None:
    used = memory(path, clock)
    start = threading.Barrier(8)
    answers: list[bool] = []

    def claim() -> None:
        start.wait()
        answers.append(used.claim("scan-1", START + 65))

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [False] * 7 + [True]
    assert path.read_text().count("scan-1") == 1
