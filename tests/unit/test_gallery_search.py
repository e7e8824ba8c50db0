"""The local engine's 1:N search agrees with a plain per-employee nearest-face search."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from chalicelib.engines.local import closest_two, load_gallery, similarity
from chalicelib.ports import StoredFace
from tests.fakes import InMemoryFaceStore


def gallery_of(vectors: np.ndarray, owners: list[str]) -> tuple[InMemoryFaceStore, object]:
    store = InMemoryFaceStore()
    for number, (vector, owner) in enumerate(zip(vectors, owners, strict=True)):
        store.put(StoredFace(owner, f"f{number}", struct.pack("<128f", *vector), ""))
    return store, load_gallery(store, "v1")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_best_and_runner_up_match_a_brute_force_search(seed: int) -> None:
    random = np.random.default_rng(seed)
    vectors = random.normal(0, 0.1, (600, 128)).astype(np.float32)
    owners = [f"E{int(n) % 40:02d}" for n in random.integers(0, 1000, 600)]
    _, gallery = gallery_of(vectors, owners)
    probe = vectors[17] + random.normal(0, 0.01, 128).astype(np.float32)

    nearest: dict[str, float] = {}
    for vector, owner in zip(vectors, owners, strict=True):
        distance = float(np.linalg.norm(vector - probe))
        nearest[owner] = min(distance, nearest.get(owner, np.inf))
    ranked = sorted(nearest.items(), key=lambda item: item[1])

    best, runner_up = closest_two(gallery, probe)  # type: ignore[arg-type]
    assert best.employee_id == owners[17] == ranked[0][0]
    assert best.similarity == pytest.approx(similarity(ranked[0][1]), abs=0.02)
    assert runner_up is not None and runner_up.employee_id == ranked[1][0]
    assert runner_up.similarity == pytest.approx(similarity(ranked[1][1]), abs=0.02)


def test_one_employee_has_no_runner_up() -> None:
    vectors = np.ones((3, 128), dtype=np.float32)
    _, gallery = gallery_of(vectors, ["E1", "E1", "E1"])
    best, runner_up = closest_two(gallery, vectors[0])  # type: ignore[arg-type]
    assert best.employee_id == "E1" and best.similarity == 100.0 and runner_up is None
