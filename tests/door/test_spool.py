"""The offline spool: photos come back oldest first across restarts, the byte and age bounds
drop the oldest with a count, and nothing half-written or hostile is ever handed out."""

from __future__ import annotations

from pathlib import Path

import pytest

from door.spool import Spool, SpooledPhoto, SpoolRefused

NOW = 1_800_000_000.0


class Clock:
    """A wall clock the test moves by hand."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def drain(spool: Spool) -> list[tuple[str, bytes]]:
    sent: list[tuple[str, bytes]] = []
    while (item := spool.oldest()) is not None:
        sent.append((item.name, item.read()))
        spool.done(item)
    return sent


def test_photos_come_back_oldest_first_across_a_restart(tmp_path: Path) -> None:
    clock = Clock()
    spool = Spool(tmp_path, clock=clock)
    spool.put("front-door", "b.jpg", b"second", NOW - 5)
    spool.put("front-door", "a.jpg", b"first", NOW - 9)
    spool.put("front-door", "c.jpg", b"third", NOW - 5)  # the same time: the order put
    again = Spool(tmp_path, clock=clock)
    again.put("front-door", "d.jpg", b"fourth", NOW - 5)  # numbered after what it found
    oldest = again.oldest()
    assert oldest is not None
    assert (oldest.camera_id, oldest.name, oldest.taken_at, oldest.size) == (
        "front-door",
        "a.jpg",
        NOW - 9,
        5,
    )
    assert drain(again) == [
        ("a.jpg", b"first"),
        ("b.jpg", b"second"),
        ("c.jpg", b"third"),
        ("d.jpg", b"fourth"),
    ]
    assert list(tmp_path.iterdir()) == []
    assert (again.count, again.size_bytes, again.dropped) == (0, 0, 0)


def test_a_full_spool_drops_the_oldest_with_a_count(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    spool = Spool(tmp_path, max_bytes=250, clock=Clock())
    for number in range(3):
        spool.put("cam", f"{number}.jpg", bytes(100), NOW - 10 + number)
    assert spool.dropped == 1
    assert "spool full: dropped 1 oldest photos" in caplog.text
    assert [name for name, _ in drain(spool)] == ["1.jpg", "2.jpg"]


def test_photos_older_than_the_age_bound_are_dropped_when_seen(tmp_path: Path) -> None:
    clock = Clock()
    spool = Spool(tmp_path, max_age_seconds=3600, clock=clock)
    spool.put("cam", "old.jpg", b"x", NOW - 3000)
    spool.put("cam", "new.jpg", b"y", NOW - 10)
    clock.now = NOW + 601
    assert spool.oldest() == SpooledPhoto(
        tmp_path / spool_file(tmp_path, "new.jpg"), "cam", "new.jpg", NOW - 10, 1
    )
    assert spool.dropped == 1
    clock.now = NOW + 3600
    restarted = Spool(tmp_path, max_age_seconds=3600, clock=clock)
    assert (restarted.count, restarted.dropped) == (0, 1)
    assert list(tmp_path.iterdir()) == []


def spool_file(folder: Path, name: str) -> str:
    (found,) = [path.name for path in folder.iterdir() if path.name.endswith(f"+{name}")]
    return found


def test_a_photo_larger_than_the_spool_is_refused_and_keeps_the_rest(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=100, clock=Clock())
    spool.put("cam", "kept.jpg", bytes(60), NOW)
    with pytest.raises(SpoolRefused, match="larger than the whole spool"):
        spool.put("cam", "huge.jpg", bytes(101), NOW)
    assert (spool.refused, spool.dropped, spool.count) == (1, 0, 1)
    assert [name for name, _ in drain(spool)] == ["kept.jpg"]


def test_temp_files_are_removed_and_unknown_names_ignored_at_start(tmp_path: Path) -> None:
    (tmp_path / ".tmp-0123abcd").write_bytes(b"\xff\xd8 half a photo")
    (tmp_path / "notes.txt").write_text("someone else's")
    (tmp_path / "00000000001800000000-0000000001+cam").mkdir()  # our pattern's prefix, not a photo
    spool = Spool(tmp_path, clock=Clock())
    assert spool.oldest() is None
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "00000000001800000000-0000000001+cam",
        "notes.txt",
    ]


@pytest.mark.parametrize(
    ("camera_id", "name"),
    [
        ("../etc", "a.jpg"),
        ("..", "a.jpg"),
        ("a+b", "a.jpg"),
        ("a/b", "a.jpg"),
        ("", "a.jpg"),
        ("x" * 65, "a.jpg"),
        ("front-door\n", "a.jpg"),
        ("front-door", "../../x.jpg"),
        ("front-door", "a+b.jpg"),
        ("front-door", ".."),
    ],
)
def test_hostile_camera_ids_and_names_are_refused(tmp_path: Path, camera_id: str, name: str) -> None:
    spool = Spool(tmp_path / "spool", clock=Clock())
    with pytest.raises(SpoolRefused):
        spool.put(camera_id, name, b"photo", NOW)
    assert spool.refused == 1
    assert list(tmp_path.rglob("*")) == [tmp_path / "spool"]


@pytest.mark.parametrize("taken_at", [float("nan"), float("inf"), -1.0])
def test_a_time_that_is_not_one_is_refused(tmp_path: Path, taken_at: float) -> None:
    with pytest.raises(SpoolRefused, match="not a time"):
        Spool(tmp_path, clock=Clock()).put("cam", "a.jpg", b"photo", taken_at)
