"""Where a processed copy goes: its scan's day partition and nowhere else, whatever the camera,
the key or a stored record say."""

from __future__ import annotations

import re

import pytest

from chalicelib.core.keys import PROCESSED_PREFIX, legacy_processed_key, processed_key
from chalicelib.core.models import Scan
from tests.unit.test_pipeline import World

SCAN_ID = "0123456789abcdef0123456789abcdef"


def test_a_copy_is_filed_under_its_day() -> None:
    assert processed_key(SCAN_ID, "2026-03-31") == f"processed/dt=2026-03-31/{SCAN_ID}.json"
    assert legacy_processed_key(SCAN_ID) == f"processed/{SCAN_ID}.json"


@pytest.mark.parametrize(
    "day",
    [
        "2026-03-31/../../incoming/front-door",
        "../2026-03-31",
        "2026-03-31/",
        "2026-03-31\n",
        "dt=2026-03-31",
        "2026-3-31",
        "20260331",  # ISO too, to Python 3.11's date.fromisoformat
        "2026-02-30",
        "２０２６-03-31",  # full-width digits
        "",
    ],
)
def test_a_day_that_is_not_one_is_refused(day: str) -> None:
    with pytest.raises(ValueError, match="day"):
        processed_key(SCAN_ID, day)


@pytest.mark.parametrize("scan_id", ["../x", "a/b", "x.json", "..", "", "a\nb", "a" * 65, "dt=2026-03-31"])
def test_a_scan_id_that_could_name_another_folder_is_refused(scan_id: str) -> None:
    with pytest.raises(ValueError, match="scan id"):
        processed_key(scan_id, "2026-03-31")
    with pytest.raises(ValueError, match="scan id"):
        legacy_processed_key(scan_id)


@pytest.mark.parametrize(
    "key",
    [
        "incoming/../processed/dt=2099-01-01/evil.jpg",
        "incoming/front-door/../../processed/dt=2099-01-01/evil.jpg",
        "incoming/dt=2099-01-01/a.jpg",
        "incoming/front-door/dt=2099-01-01/a.jpg",
        "incoming/front-door/a\nb.jpg",
        "incoming/front door/a.jpg",
        "incoming/front-door/%2F..%2Fa.jpg",
    ],
)
def test_an_odd_camera_id_or_key_cannot_move_the_copy(key: str) -> None:
    world = World()
    scan = world.process(world.upload(key=key))
    [(bucket, copy)] = world.images.json_documents
    assert re.fullmatch(rf"{PROCESSED_PREFIX}dt=2026-03-08/[0-9a-f]{{32}}\.json", copy)
    assert isinstance(scan, Scan) and copy == processed_key(scan.scan_id, "2026-03-08")
    assert world.images.json_documents[(bucket, copy)]["object_key"] == key  # data, never a path
