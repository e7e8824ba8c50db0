"""``bench.models`` on the test photos: what docs/PERFORMANCE.md says of the two models."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from bench import models


@pytest.fixture(scope="module")
def both() -> tuple[models.Dlib, models.SFace]:
    return models.Dlib(), models.SFace()


def test_sface_separates_the_labelled_people_further_than_dlib(
    both: tuple[models.Dlib, models.SFace], photos: Path
) -> None:
    figures: dict[str, dict[str, Any]] = {}
    old_model, new_model = both
    named: dict[str, models.Dlib | models.SFace] = {"old": old_model, "new": new_model}
    for key, model in named.items():
        found, notes = models.samples(model, photos)
        figures[key] = notes | models.verification(model, found)
        figures[key]["identification"] = models.identification(model, found)
    old, new = figures["old"], figures["new"]
    assert old["genuine_pairs"] == new["genuine_pairs"] == 8
    assert old["photos_without_face"] == ["camera.png"] and new["photos_without_face"] == []
    assert new["margin_over_median_gap"] > old["margin_over_median_gap"] > 0
    at_80 = {key: next(row for row in figures[key]["sweep"] if row["threshold"] == 80) for key in figures}
    assert (at_80["new"]["far"], at_80["new"]["frr"]) == (0, 0)  # the default threshold, mid-gap
    assert (at_80["old"]["far"], at_80["old"]["frr"]) == (0, 1)  # dlib refused one of the eight
    lead = {key: figures[key]["identification"]["margin_min"] for key in figures}
    assert lead["new"] > lead["old"] > 0


def test_yunet_finds_the_small_faces_hog_misses(both: tuple[models.Dlib, models.SFace], photos: Path) -> None:
    old, new = both
    small = [
        probe for probe in itertools.islice(models.probes(photos, new), 11) if probe.category == "small 30 px"
    ]
    recall = models.detection(iter(small), old, new)["small 30 px"]
    assert recall["faces"] == 1
    assert (recall["yunet"]["recall"], recall["hog_upsample0"]["recall"]) == (1.0, 0.0)
