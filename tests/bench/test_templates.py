"""The enrollment-template comparison: its arithmetic, and today's variant on real photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.accuracy import embed_dataset, verification
from bench.dataset import build
from bench.templates import Enrolled, compare, evaluate
from chalicelib.core.config import Policy
from chalicelib.engines.dlib_model import DlibModel


def _vector(first: float) -> np.ndarray:
    vector = np.zeros(128, dtype=np.float32)
    vector[0] = first
    return vector


def test_a_probe_scores_against_the_nearest_template_of_each_photo() -> None:
    # Similarity 100·(1 − d/2.5): d 0.25 → 90, 0.5 → 80, 1.0 → 60.
    a1 = Enrolled("a", "1", _vector(0.0), {"v": [_vector(0.0), _vector(0.4)]}, {"v": 0.2})
    a2 = Enrolled("a", "2", _vector(0.25), {"v": [_vector(0.25)]}, {"v": 0.2})
    b1 = Enrolled("b", "1", _vector(1.0), {"v": [_vector(1.0), _vector(0.9)]}, {"v": 0.4})
    figures = compare([a1, a2, b1], "v", Policy())
    # a2's probe (0.25) meets a1's second template (0.4) at d 0.15: 94; the hardest pair is
    # a1's probe against a2's one template (d 0.25: 90).
    assert figures["hardest_genuine"] == 90.0
    # b1's probe (1.0) against a1's second template (0.4), d 0.6: 76 (its first: 60).
    assert figures["nearest_stranger"] == 76.0
    assert figures["genuine_pairs"] == 2 and figures["impostor_pairs"] == 4
    assert figures["vectors_per_photo"] == 5 / 3
    # The door: a1 and a2 find each other (b is a stranger, its only photo the probe).
    assert (figures["members_identified"], figures["members"]) == (2, 2)
    assert (figures["strangers_let_in"], figures["strangers"]) == (0, 1)


@pytest.mark.slow(
    reason="the old model (dlib, on the CPU) embeds the 15 dataset photos for each study: about 15 s"
)
def test_todays_variant_reproduces_bench_accuracy_on_the_test_photos(photos: Path, tmp_path: Path) -> None:
    dataset = build(photos, tmp_path / "dataset")
    result = evaluate(dataset, jitters=[], repeats=1)
    today, mirrored = result["variants"]["a plain (today)"], result["variants"]["b plain + mirrored"]
    samples, _ = embed_dataset(dataset, DlibModel())  # the templates study is dlib's
    spread = verification(samples, DlibModel())
    assert today["hardest_genuine"] == spread["genuine_similarity"]["min"]
    assert today["nearest_stranger"] == spread["impostor_similarity"]["max"]
    assert (today["gallery_size_factor"], mirrored["gallery_size_factor"]) == (1, 2)
    assert today["enroll_time_ratio"] == 1.0 < mirrored["enroll_time_ratio"]
    # Plain probes against a superset of templates: a nearest face can only come closer.
    assert mirrored["hardest_genuine"] >= today["hardest_genuine"]
    assert mirrored["nearest_stranger"] >= today["nearest_stranger"]
