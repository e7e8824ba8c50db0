"""The local engine's 1:N search agrees with a plain per-employee nearest-face search, and
compares a probe only with the rows of its own model (dlib's scale here: the stored faces
are the default, the first model's)."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from chalicelib.core.config import Policy
from chalicelib.core.errors import DuplicateFace
from chalicelib.core.models import Match
from chalicelib.core.ports import FIRST_MODEL, StoredFace
from chalicelib.engines.dlib_model import DlibModel, similarity
from chalicelib.engines.face_health import faces_health
from chalicelib.engines.gallery import Gallery
from chalicelib.engines.gallery_search import (
    Probe,
    best_two,
    closest,
    refuse_duplicate,
    waiting_rows,
)
from chalicelib.engines.sface_model import SFaceModel
from tests.fakes import InMemoryFaceStore

DLIB = DlibModel()


def gallery_of(
    vectors: np.ndarray, owners: list[str], models: list[str] | None = None
) -> tuple[InMemoryFaceStore, Gallery]:
    store = InMemoryFaceStore()
    models = models or [FIRST_MODEL] * len(owners)
    for number, (vector, owner, model) in enumerate(zip(vectors, owners, models, strict=True)):
        store.put(StoredFace(owner, f"f{number}", struct.pack("<128f", *vector), "", model))
    return store, Gallery.of_faces(store.heads(), store.load())


def closest_two(gallery: Gallery, vector: np.ndarray) -> tuple[Match | None, Match | None]:
    matches = closest(gallery, Probe(DLIB, vector, gallery.rows_of(FIRST_MODEL)))
    return best_two(matches)


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

    best, runner_up = closest_two(gallery, probe)
    assert best is not None and best.employee_id == owners[17] == ranked[0][0]
    assert best.similarity == pytest.approx(similarity(ranked[0][1]), abs=0.02)
    assert runner_up is not None and runner_up.employee_id == ranked[1][0]
    assert runner_up.similarity == pytest.approx(similarity(ranked[1][1]), abs=0.02)


def test_one_employee_has_no_runner_up() -> None:
    vectors = np.ones((3, 128), dtype=np.float32)
    _, gallery = gallery_of(vectors, ["E1", "E1", "E1"])
    best, runner_up = closest_two(gallery, vectors[0])
    assert best is not None and best.employee_id == "E1" and best.similarity == 100.0 and runner_up is None


def brute_force_health(
    vectors: np.ndarray, owners: list[str], policy: Policy
) -> tuple[dict[tuple[str, str], float], dict[str, float]]:
    """Close pairs and outliers (by face id) from one distance at a time."""
    floor = policy.match_threshold - policy.match_margin
    pairs: dict[tuple[str, str], float] = {}
    own: dict[str, float] = {}
    for i, (vector, owner) in enumerate(zip(vectors, owners, strict=True)):
        for j, (other, other_owner) in enumerate(zip(vectors, owners, strict=True)):
            if i == j:
                continue
            score = similarity(float(np.linalg.norm(vector.astype(np.float64) - other)))
            if owner == other_owner:
                own[f"f{i}"] = max(score, own.get(f"f{i}", 0.0))
            elif score >= floor:
                ids = (min(owner, other_owner), max(owner, other_owner))
                pairs[ids] = max(score, pairs.get(ids, 0.0))
    return pairs, {face: score for face, score in own.items() if score < policy.match_threshold}


@pytest.mark.parametrize("block_cells", [1, 1000, 16_000_000])
def test_gallery_health_matches_a_brute_force_comparison_block_by_block(block_cells: int) -> None:
    random = np.random.default_rng(7)
    people = random.normal(0, 0.1, (40, 128)).astype(np.float32)  # d ≈ 1.6 apart: strangers
    vectors, owners = [], []
    for n in range(120):
        person = n % 40
        employee = f"E{person:02d}" if n < 100 else f"X{person:02d}"  # X: someone enrolled twice
        vectors.append(people[person] + random.normal(0, 0.02, 128).astype(np.float32))
        owners.append(employee)
    vectors.append(people[3] + random.normal(0, 0.1, 128).astype(np.float32))  # E99's second face
    owners.append("E99")
    vectors.append(people[5])
    owners.append("E99")
    matrix = np.stack(vectors)
    policy = Policy(match_threshold=80.0, match_margin=5.0)
    _, gallery = gallery_of(matrix, owners)

    health = faces_health(gallery, policy, SFaceModel(), {FIRST_MODEL: DLIB}, block_cells)
    pairs, outliers = brute_force_health(matrix, owners, policy)
    assert pairs and outliers  # the data has both
    assert [pair.employee_ids for pair in health.close_pairs] == sorted(pairs, key=lambda ids: -pairs[ids])
    for pair in health.close_pairs:
        assert pair.similarity == pytest.approx(pairs[pair.employee_ids], abs=0.02)
    assert {face.face_id: face.similarity for face in health.outlier_faces} == pytest.approx(
        outliers, abs=0.02
    )
    assert (health.employees, health.faces) == (len(set(owners)), len(owners))
    assert health.single_photo == sorted(o for o in set(owners) if owners.count(o) == 1)


def test_the_duplicate_guard_leaves_out_the_employees_own_faces() -> None:
    random = np.random.default_rng(3)
    vectors = random.normal(0, 0.1, (3, 128)).astype(np.float32)
    _, gallery = gallery_of(vectors, ["E1", "E1", "E2"])
    every_row = [Probe(DLIB, vectors[0], gallery.rows_of(FIRST_MODEL))]
    stranger = similarity(float(np.linalg.norm(vectors[0] - vectors[2])))
    with pytest.raises(DuplicateFace) as refused:
        refuse_duplicate(gallery, every_row, "E1", refuse_at=stranger)
    assert refused.value.other_employee_id == "E2"
    refuse_duplicate(gallery, every_row, "E1", refuse_at=stranger + 0.01)
    _, alone = gallery_of(vectors[:2], ["E1", "E1"])
    alone_rows = [Probe(DLIB, vectors[0], alone.rows_of(FIRST_MODEL))]
    refuse_duplicate(alone, alone_rows, "E1", refuse_at=0.0)  # only the employee's own faces
    with pytest.raises(DuplicateFace):
        refuse_duplicate(alone, alone_rows, "E2", refuse_at=0.0)


def test_a_probe_is_compared_only_with_rows_of_its_own_model() -> None:
    """Identical vectors under two models: the probe of one model never sees the other's row."""
    vector = np.full(128, 0.05, dtype=np.float32)
    _, gallery = gallery_of(np.stack([vector, vector]), ["OLD", "NEW"], [FIRST_MODEL, SFaceModel.model_id])
    matches = closest(gallery, Probe(DLIB, vector, gallery.rows_of(FIRST_MODEL)))
    assert [match.employee_id for match in matches] == ["OLD"]


def test_old_faces_wait_only_for_employees_without_a_face_of_the_current_model() -> None:
    random = np.random.default_rng(5)
    vectors = random.normal(0, 0.1, (4, 128)).astype(np.float32)
    owners = ["MOVED", "MOVED", "WAITING", "NEW"]
    models = [FIRST_MODEL, SFaceModel.model_id, FIRST_MODEL, SFaceModel.model_id]
    _, gallery = gallery_of(vectors, owners, models)
    waiting = waiting_rows(gallery, SFaceModel.model_id)
    assert list(waiting) == [FIRST_MODEL]
    assert [gallery.face_ids[row] for row in np.nonzero(waiting[FIRST_MODEL])[0]] == ["f2"]
    _, migrated = gallery_of(vectors[[1, 3]], ["MOVED", "NEW"], [SFaceModel.model_id] * 2)
    assert waiting_rows(migrated, SFaceModel.model_id) == {}


def test_matches_of_two_models_merge_into_the_best_and_the_best_other_employee() -> None:
    new, old = SFaceModel.model_id, FIRST_MODEL
    found = [Match("A", 90.0, new), Match("B", 70.0, old), Match("C", 85.0, new), Match("A", 60.0, old)]
    assert best_two(found) == (Match("A", 90.0, new), Match("C", 85.0, new))
    assert best_two([Match("A", 90.0, new), Match("A", 88.0, old)]) == (Match("A", 90.0, new), None)
    assert best_two([]) == (None, None)


def test_closest_names_the_model_that_scored_each_match() -> None:
    vector = np.full(128, 0.05, dtype=np.float32)
    _, gallery = gallery_of(np.stack([vector, vector * 2]), ["A", "B"])
    matches = closest(gallery, Probe(DLIB, vector, gallery.rows_of(FIRST_MODEL)))
    assert {match.model for match in matches} == {FIRST_MODEL}
