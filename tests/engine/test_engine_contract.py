"""One contract for every FaceEngine: the local engine on real photos, Rekognition stubbed.

Each scenario states what the service would answer (the local harness ignores that,
its model answers for itself) and then pins the same behaviour on both engines.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol

import pytest

from chalicelib.config import Policy
from chalicelib.engines.local import LocalEngine
from chalicelib.engines.rekognition import RekognitionEngine
from chalicelib.errors import EnrollmentError
from chalicelib.models import Employee, NormalisedImage, Status
from chalicelib.ports import FaceEngine
from chalicelib.recognition import decide
from sandbox.rekognition_shapes import COLLECTION, StubbedRekognition
from tests.fakes import InMemoryFaceStore

Photo = Callable[[str], NormalisedImage]
POLICY = Policy()
PEOPLE = {"EMP001": Employee("EMP001", "Avery Stone"), "EMP002": Employee("EMP002", "Jordan Lee")}


class Harness(Protocol):
    @property
    def engine(self) -> FaceEngine: ...  # read-only, so each harness may hold its own engine type

    def expect_enrollment(self, employee_id: str, photo: str) -> None: ...
    def expect_search(self, photo: str, matches: list[tuple[str, float]]) -> None: ...
    def expect_removal(self, employee_id: str) -> None: ...
    def done(self) -> None: ...


class LocalHarness:
    def __init__(self) -> None:
        self.engine = LocalEngine(InMemoryFaceStore(), POLICY)

    def expect_enrollment(self, employee_id: str, photo: str) -> None:
        pass

    def expect_search(self, photo: str, matches: list[tuple[str, float]]) -> None:
        pass

    def expect_removal(self, employee_id: str) -> None:
        pass

    def done(self) -> None:
        pass


class RekognitionHarness:
    def __init__(self) -> None:
        self.service = StubbedRekognition()
        self.engine = RekognitionEngine(self.service.client, COLLECTION, POLICY)
        self.faces: dict[str, list[str]] = {}

    def expect_enrollment(self, employee_id: str, photo: str) -> None:
        self.faces.setdefault(employee_id, []).append(self.service.expect_enrollment(employee_id, photo))

    def expect_search(self, photo: str, matches: list[tuple[str, float]]) -> None:
        self.service.expect_search(photo, matches)

    def expect_removal(self, employee_id: str) -> None:
        self.service.expect_removal(employee_id, self.faces.pop(employee_id))

    def done(self) -> None:
        self.service.stubber.assert_no_pending_responses()


@pytest.fixture(params=["local", "rekognition"])
def harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    built: Harness = LocalHarness() if request.param == "local" else RekognitionHarness()
    yield built
    built.done()


def enroll_two(harness: Harness, photo: Photo) -> None:
    for employee_id, name in [("EMP001", "obama.jpg"), ("EMP002", "biden.jpg")]:
        harness.expect_enrollment(employee_id, name)
        record = harness.engine.add_face(employee_id, photo(name))
        assert record.employee_id == employee_id and record.engine == harness.engine.name


def status_of(harness: Harness, image: NormalisedImage) -> Status:
    result = harness.engine.search(image)
    return decide(result, PEOPLE.get(result.best.employee_id) if result.best else None, POLICY).status


def test_an_enrolled_person_in_a_new_photo_is_authorized(harness: Harness, photo: Photo) -> None:
    enroll_two(harness, photo)
    harness.expect_search("obama2.jpg", [("EMP001", 99.1)])
    result = harness.engine.search(photo("obama2.jpg"))
    assert len(result.faces) == 1
    assert result.best is not None and result.best.employee_id == "EMP001"
    assert result.best.similarity >= POLICY.match_threshold
    assert result.runner_up is None or result.runner_up.employee_id != "EMP001"
    harness.expect_search("obama2.jpg", [("EMP001", 99.1)])
    assert status_of(harness, photo("obama2.jpg")) is Status.AUTHORIZED


def test_a_stranger_is_unknown(harness: Harness, photo: Photo) -> None:
    enroll_two(harness, photo)
    harness.expect_search("astronaut.png", [])
    assert status_of(harness, photo("astronaut.png")) is Status.UNKNOWN


def test_a_photo_without_a_face_reports_no_faces(harness: Harness, photo: Photo) -> None:
    enroll_two(harness, photo)
    harness.expect_search("camera.png", [])
    result = harness.engine.search(photo("camera.png"))
    assert result.faces == [] and result.best is None


def test_a_group_reports_every_face_largest_first(harness: Harness, photo: Photo) -> None:
    enroll_two(harness, photo)
    harness.expect_search("group.jpg", [])
    result = harness.engine.search(photo("group.jpg"))
    assert len(result.faces) == 6
    areas = [face.box.width * face.box.height for face in result.faces]
    assert areas == sorted(areas, reverse=True)
    assert all(face.size_px >= POLICY.min_face_px for face in result.faces)
    harness.expect_search("group.jpg", [])
    assert status_of(harness, photo("group.jpg")) is Status.MULTIPLE_FACES


@pytest.mark.parametrize(("name", "reason"), [("camera.png", "no face"), ("group.jpg", "6 faces")])
def test_enrollment_refuses_unusable_photos(harness: Harness, photo: Photo, name: str, reason: str) -> None:
    harness.expect_enrollment("EMP009", name)
    with pytest.raises(EnrollmentError, match=reason):
        harness.engine.add_face("EMP009", photo(name))


def test_a_removed_employee_is_no_longer_found(harness: Harness, photo: Photo) -> None:
    enroll_two(harness, photo)
    harness.expect_removal("EMP001")
    harness.engine.remove_faces("EMP001")
    harness.expect_search("obama2.jpg", [])
    result = harness.engine.search(photo("obama2.jpg"))
    assert result.best is None or result.best.employee_id != "EMP001"
    harness.expect_search("obama2.jpg", [])
    assert status_of(harness, photo("obama2.jpg")) is Status.UNKNOWN
