"""The accuracy evaluation on the test photos: its arithmetic and its recommendation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from bench.accuracy import Sample, evaluate, recommend, verification
from bench.dataset import build


def test_far_and_frr_are_counted_per_threshold() -> None:
    def unit(x: float, y: float) -> np.ndarray:
        vector = np.zeros(128, dtype=np.float32)
        vector[:2] = x, y
        return vector

    first, second = unit(1.0, 0.0), unit(0.8, 0.6)  # cosine 0.8: similarity 95
    stranger = unit(0.1, -float(np.sqrt(0.99)))  # cosine 0.1 and −0.52: similarity 60 and 29
    samples = [Sample("a", "1", first), Sample("a", "2", second), Sample("b", "1", stranger)]
    rows = {row["threshold"]: row for row in verification(samples)["roc"]}
    assert rows[50.0] == {"threshold": 50.0, "far": 0.5, "frr": 0.0}  # one impostor pair passes
    assert rows[80.0] == {"threshold": 80.0, "far": 0.0, "frr": 0.0}
    assert rows[95.5] == {"threshold": 95.5, "far": 0.0, "frr": 1.0}


def test_the_test_photos_separate_people_and_the_default_threshold_lets_no_stranger_in(
    photos: Path, tmp_path: Path
) -> None:
    dataset = build(photos, tmp_path / "dataset")
    result = evaluate(dataset, tmp_path / "out")
    assert result["people"] == 11 and result["skipped_without_face"] == []
    verify = result["verification"]
    assert verify["genuine_pairs"] == 7
    assert verify["genuine_similarity"]["min"] > verify["impostor_similarity"]["max"]
    default = result["at_default_threshold"]
    assert default == {"threshold": 80.0, "far": 0.0, "frr": 0.0, "strangers_let_in": 0}
    threshold = result["recommended"]["threshold"]
    assert verify["impostor_similarity"]["max"] < threshold <= verify["genuine_similarity"]["min"]
    assert Image.open(result["plot"]).size == (720, 420)
    # Each engine through its own calls and decide(), at its own default threshold (the
    # Rekognition engine on the local endpoint: the bundled model's scores, not AWS's).
    for name, threshold in [("local", 80.0), ("rekognition", 99.0)]:
        figures = result["by_engine"][name]
        assert figures["threshold"] == threshold and figures["not_enrolled"] == []
        assert figures["strangers_let_in"] == 0, name
        assert figures["members_identified"] == figures["members"] > 0, name


def test_no_safe_threshold_recommends_the_strictest() -> None:
    verify = {
        "roc": [{"threshold": 50.0, "far": 0.5, "frr": 0.0}, {"threshold": 100.0, "far": 0.2, "frr": 1.0}]
    }
    identify = {"by_threshold": [{"false_accepts": 1}, {"false_accepts": 0}]}
    assert recommend(verify, identify)["threshold"] == 100.0
