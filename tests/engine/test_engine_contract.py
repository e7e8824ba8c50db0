"""One contract for every FaceEngine, on the same real photos: the local engine, and the
unmodified Rekognition engine talking to the local Rekognition endpoint.

The endpoint (``sandbox.rekognition``) computes faces and similarities with the bundled
model behind Rekognition's API, so both engines really look at the photos; each decides
with its own policy (its own match threshold), and both must reach the same decisions.
The Stubber stays in ``test_rekognition_engine.py``, for the exact request parameters.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.dataset import build
from chalicelib.core.config import ImageLimits, Policy
from chalicelib.core.errors import DuplicateFace, EnrollmentError
from chalicelib.core.models import Employee, NormalisedImage, Status
from chalicelib.core.ports import ErasureEngine
from chalicelib.engines.local import LocalEngine
from chalicelib.engines.rekognition import RekognitionEngine
from chalicelib.scanning.imaging import normalise
from chalicelib.scanning.recognition import confusable_at, decide
from sandbox.rekognition import RekognitionEndpoint
from tests.fakes import InMemoryFaceStore

Photo = Callable[[str], NormalisedImage]
PEOPLE = {"EMP001": Employee("EMP001", "Avery Stone"), "EMP002": Employee("EMP002", "Jordan Lee")}


@dataclass(frozen=True)
class Harness:
    engine: ErasureEngine
    policy: Policy  # the engine's own: the engines' similarities are not one scale


@pytest.fixture(scope="module")
def rekognition_endpoint() -> Iterator[RekognitionEndpoint]:
    with RekognitionEndpoint(port=0) as endpoint:
        yield endpoint


@pytest.fixture(params=["local", "rekognition"])
def harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    policy = Policy.for_engine(request.param)
    if request.param == "local":
        yield Harness(LocalEngine(InMemoryFaceStore(), policy), policy)
        return

    endpoint: RekognitionEndpoint = request.getfixturevalue("rekognition_endpoint")
    client = endpoint.client()
    collection = f"contract-{uuid.uuid4().hex[:12]}"  # a fresh collection per test
    client.create_collection(CollectionId=collection)
    yield Harness(RekognitionEngine(client, collection, policy), policy)
    client.delete_collection(CollectionId=collection)


def enroll_two(harness: Harness, photo: Photo) -> None:
    for employee_id, name in [("EMP001", "obama.jpg"), ("EMP002", "biden.jpg")]:
        record = harness.engine.add_face(employee_id, photo(name))
        assert record.employee_id == employee_id and record.engine == harness.engine.name


def status_of(harness: Harness, image: NormalisedImage) -> Status:
    result = harness.engine.search(image)
    return decide(result, PEOPLE.get(result.best.employee_id) if result.best else None, harness.policy).status


def test_an_enrolled_person_in_a_new_photo_is_authorized(harness: Harness, photo: Photo) -> None:
    enroll_two(harness, photo)
    result = harness.engine.search(photo("obama2.jpg"))
    assert len(result.faces) == 1
    assert result.best is not None and result.best.employee_id == "EMP001"
    assert result.best.similarity >= harness.policy.match_threshold
    assert result.runner_up is None or result.runner_up.employee_id != "EMP001"
    assert status_of(harness, photo("obama2.jpg")) is Status.AUTHORIZED


def test_a_stranger_is_unknown(harness: Harness, photo: Photo) -> None:
    enroll_two(harness, photo)
    assert status_of(harness, photo("astronaut.png")) is Status.UNKNOWN


def test_a_photo_without_a_face_reports_no_faces(harness: Harness, photo: Photo) -> None:
    enroll_two(harness, photo)
    result = harness.engine.search(photo("coffee.png"))
    assert result.faces == [] and result.best is None
    assert status_of(harness, photo("coffee.png")) is Status.NO_FACE


def test_a_group_reports_every_face_largest_first(harness: Harness, photo: Photo) -> None:
    enroll_two(harness, photo)
    result = harness.engine.search(photo("group.jpg"))
    assert len(result.faces) == 6
    areas = [face.box.width * face.box.height for face in result.faces]
    assert areas == sorted(areas, reverse=True)
    assert all(face.size_px >= harness.policy.min_face_px for face in result.faces)
    assert status_of(harness, photo("group.jpg")) is Status.MULTIPLE_FACES


@pytest.mark.parametrize(("name", "reason"), [("coffee.png", "no face"), ("group.jpg", "6 faces")])
def test_enrollment_refuses_unusable_photos(harness: Harness, photo: Photo, name: str, reason: str) -> None:
    with pytest.raises(EnrollmentError, match=reason):
        harness.engine.add_face("EMP009", photo(name))
    assert harness.engine.list_faces("EMP009") == []  # nothing of the refused photo is kept


def test_a_second_photo_of_an_enrolled_person_joins_them(harness: Harness, photo: Photo) -> None:
    enroll_two(harness, photo)
    harness.engine.add_face("EMP001", photo("obama3.jpg"))
    assert len(harness.engine.list_faces("EMP001")) == 2
    assert status_of(harness, photo("obama2.jpg")) is Status.AUTHORIZED


def test_a_removed_employee_is_no_longer_found(harness: Harness, photo: Photo) -> None:
    enroll_two(harness, photo)
    harness.engine.remove_faces("EMP001")
    assert harness.engine.list_faces("EMP001") == []
    result = harness.engine.search(photo("obama2.jpg"))
    assert result.best is None or result.best.employee_id != "EMP001"
    assert status_of(harness, photo("obama2.jpg")) is Status.UNKNOWN


def test_the_enrolled_person_is_found_in_a_photo_for_erasure(harness: Harness, photo: Photo) -> None:
    enroll_two(harness, photo)
    assert harness.engine.shows_employee(photo("obama2.jpg"), "EMP001")
    assert not harness.engine.shows_employee(photo("astronaut.png"), "EMP001")


def test_an_enrolled_face_is_refused_for_another_employee(harness: Harness, photo: Photo) -> None:
    guard = confusable_at(harness.policy)
    for employee_id, name in [("EMP001", "obama.jpg"), ("EMP002", "biden.jpg")]:
        harness.engine.add_face(employee_id, photo(name), refuse_at=guard)  # different people pass
    with pytest.raises(DuplicateFace, match="matches employee EMP001") as refused:
        harness.engine.add_face("EMP003", photo("obama2.jpg"), refuse_at=guard)
    assert refused.value.other_employee_id == "EMP001" and refused.value.similarity >= guard
    assert harness.engine.list_faces("EMP003") == []  # nothing of the refused photo is kept
    assert status_of(harness, photo("obama2.jpg")) is Status.AUTHORIZED  # EMP001 still gets in
    harness.engine.add_face("EMP001", photo("obama3.jpg"), refuse_at=guard)  # their own: allowed
    assert len(harness.engine.list_faces("EMP001")) == 2
    assert harness.engine.gallery_health(harness.policy).faces == 3  # the refused face is not counted


def test_an_allowed_look_alike_passes_the_guard_and_nobody_else_does(harness: Harness, photo: Photo) -> None:
    """Issue 28: the admin's override names one pair: EMP003 (Obama's "twin") may resemble
    EMP001 once allowed, and is still refused for resembling anyone else (EMP002 here)."""
    guard = confusable_at(harness.policy)
    for employee_id, name in [("EMP001", "obama.jpg"), ("EMP002", "biden.jpg")]:
        harness.engine.add_face(employee_id, photo(name), refuse_at=guard)
    with pytest.raises(DuplicateFace, match="matches employee EMP002"):  # another pair allowed
        harness.engine.add_face("EMP003", photo("biden.jpg"), refuse_at=guard, allow=frozenset({"EMP001"}))
    harness.engine.add_face("EMP003", photo("obama2.jpg"), refuse_at=guard, allow=frozenset({"EMP001"}))
    assert len(harness.engine.list_faces("EMP003")) == 1


def test_gallery_health_lists_close_pairs_and_single_photos(harness: Harness, photo: Photo) -> None:
    enroll_two(harness, photo)
    harness.engine.add_face("EMP001", photo("obama3.jpg"))
    healthy = harness.engine.gallery_health(harness.policy)
    assert (healthy.employees, healthy.faces, healthy.single_photo) == (2, 3, ["EMP002"])
    assert (healthy.close_pairs, healthy.outlier_faces) == ([], [])
    policy = harness.policy
    assert (healthy.threshold, healthy.margin) == (policy.match_threshold, policy.match_margin)

    harness.engine.add_face("EMP003", photo("obama2.jpg"))  # no guard: what a gallery from before it holds
    health = harness.engine.gallery_health(harness.policy)
    assert (health.employees, health.faces, health.single_photo) == (3, 4, ["EMP002", "EMP003"])
    assert [pair.employee_ids for pair in health.close_pairs] == [("EMP001", "EMP003")]
    assert health.close_pairs[0].similarity >= confusable_at(harness.policy)
    assert health.outlier_faces == []


def test_the_health_jobs_slices_add_up_to_the_whole_gallerys_health(harness: Harness, photo: Photo) -> None:
    """The gallery health job's engine side: a census, then slices of one face each, merged as
    the job merges them, say what the one-pass report says (close pairs, single photos)."""
    enroll_two(harness, photo)
    harness.engine.add_face("EMP001", photo("obama3.jpg"))
    harness.engine.add_face("EMP003", photo("obama2.jpg"))  # no guard: a look-alike pair
    census = harness.engine.health_census(harness.policy)
    assert (census.faces, census.face_counts) == (4, {"EMP001": 2, "EMP002": 1, "EMP003": 1})
    pairs: dict[tuple[str, str], float] = {}
    outliers = []
    for start in range(census.faces):
        part = harness.engine.health_slice(harness.policy, start, start + 1)
        for ids, score in part.pairs.items():
            pairs[ids] = max(pairs.get(ids, 0.0), score)
        outliers += part.outliers
    whole = harness.engine.gallery_health(harness.policy)
    assert [pair.employee_ids for pair in whole.close_pairs] == list(pairs) == [("EMP001", "EMP003")]
    assert whole.close_pairs[0].similarity == round(pairs[("EMP001", "EMP003")], 2)
    assert whole.outlier_faces == outliers == []


def test_the_guard_refuses_no_one_of_the_dataset_of_different_people(
    harness: Harness, photos: Path, tmp_path: Path
) -> None:
    """Eleven people, fifteen photos (bench/dataset.py): every photo enrolls under the guard."""
    guard = confusable_at(harness.policy)
    dataset = build(photos, tmp_path / "dataset")
    for folder in sorted(p for p in dataset.iterdir() if p.is_dir()):
        for file in sorted(folder.iterdir()):
            image = normalise(file.read_bytes(), ImageLimits())
            harness.engine.add_face(folder.name, image, refuse_at=guard)
    health = harness.engine.gallery_health(harness.policy)
    assert (health.employees, health.faces, health.close_pairs, health.outlier_faces) == (11, 15, [], [])
