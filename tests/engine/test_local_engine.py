"""The bundled dlib engine on real photos: who matches, who does not, what it cannot use."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import ImageFilter

from chalicelib.config import ImageLimits, Policy
from chalicelib.engines.local import LocalEngine
from chalicelib.errors import EnrollmentError
from chalicelib.imaging import normalise
from chalicelib.models import Employee, NormalisedImage, Status
from chalicelib.recognition import decide
from tests.fakes import InMemoryFaceStore
from tests.images import encoded, jpeg_with_orientation, side_by_side

Photo = Callable[[str], NormalisedImage]
POLICY = Policy()
PEOPLE = {"EMP001": Employee("EMP001", "Avery Stone"), "EMP002": Employee("EMP002", "Jordan Lee")}


@pytest.fixture(scope="module")
def engine(photo: Photo) -> LocalEngine:
    """Two people enrolled: EMP001 from obama.jpg, EMP002 from biden.jpg."""
    engine = LocalEngine(InMemoryFaceStore(), POLICY)
    engine.add_face("EMP001", photo("obama.jpg"))
    engine.add_face("EMP002", photo("biden.jpg"))
    return engine


def decision_for(engine: LocalEngine, image: NormalisedImage, policy: Policy = POLICY) -> object:
    result = engine.search(image)
    return decide(result, PEOPLE.get(result.best.employee_id) if result.best else None, policy)


@pytest.mark.parametrize("probe", ["obama2.jpg", "obama3.jpg"])
def test_the_same_person_in_another_photo_is_authorized(
    engine: LocalEngine, photo: Photo, probe: str
) -> None:
    result = engine.search(photo(probe))
    assert result.best is not None and result.best.employee_id == "EMP001"
    assert result.best.similarity >= POLICY.match_threshold
    assert result.runner_up is not None and result.runner_up.employee_id == "EMP002"
    assert result.best.similarity - result.runner_up.similarity > 10
    assert decision_for(engine, photo(probe)).status is Status.AUTHORIZED  # type: ignore[attr-defined]


def test_the_other_enrolled_person_matches_themselves(engine: LocalEngine, photo: Photo) -> None:
    result = engine.search(photo("biden.jpg"))
    assert result.best is not None and result.best.employee_id == "EMP002"


def test_a_stranger_is_unknown(engine: LocalEngine, photo: Photo) -> None:
    result = engine.search(photo("astronaut.png"))
    assert len(result.faces) == 1
    assert result.best is not None and result.best.similarity < POLICY.match_threshold
    assert decision_for(engine, photo("astronaut.png")).status is Status.UNKNOWN  # type: ignore[attr-defined]


def test_a_photo_without_a_face_has_no_faces(engine: LocalEngine, photo: Photo) -> None:
    result = engine.search(photo("camera.png"))
    assert result.faces == [] and result.best is None


def test_a_group_photo_reports_every_face_largest_first(engine: LocalEngine, photo: Photo) -> None:
    result = engine.search(photo("group.jpg"))
    assert len(result.faces) == 6
    areas = [f.box.width * f.box.height for f in result.faces]
    assert areas == sorted(areas, reverse=True)
    assert decision_for(engine, photo("group.jpg")).status is Status.MULTIPLE_FACES  # type: ignore[attr-defined]


def test_a_blurred_face_is_too_blurred_to_trust(engine: LocalEngine, photo: Photo) -> None:
    blurred = NormalisedImage(photo("obama2.jpg").pixels.filter(ImageFilter.GaussianBlur(4)), "JPEG")
    result = engine.search(blurred)
    assert len(result.faces) == 1
    assert (
        result.faces[0].sharpness
        < POLICY.min_sharpness
        <= engine.search(photo("obama2.jpg")).faces[0].sharpness
    )
    decision = decision_for(engine, blurred)
    assert decision.status is Status.LOW_QUALITY  # type: ignore[attr-defined]
    assert "blurred" in decision.reason  # type: ignore[attr-defined]


def test_a_face_below_the_minimum_size_is_low_quality(engine: LocalEngine, photo: Photo) -> None:
    strict = Policy(min_face_px=400)  # obama2's face is about 300 px across
    decision = decision_for(engine, photo("obama2.jpg"), strict)
    assert decision.status is Status.LOW_QUALITY  # type: ignore[attr-defined]
    assert "too small" in decision.reason  # type: ignore[attr-defined]


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_an_exif_rotated_photo_is_recognised_upright(
    engine: LocalEngine, photo: Photo, orientation: int
) -> None:
    from PIL import Image

    upright = photo("obama2.jpg").pixels
    undo = {3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}
    stored = upright.transpose(undo[orientation])  # as a sideways camera would store it
    image = normalise(jpeg_with_orientation(stored, orientation), ImageLimits())
    assert image.pixels.size == upright.size
    assert decision_for(engine, image).status is Status.AUTHORIZED  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("name", "reason"),
    [("camera.png", "no face"), ("group.jpg", "6 faces")],
)
def test_enrollment_refuses_photos_that_would_enroll_badly(photo: Photo, name: str, reason: str) -> None:
    engine = LocalEngine(InMemoryFaceStore(), POLICY)
    with pytest.raises(EnrollmentError, match=reason):
        engine.add_face("EMP009", photo(name))


def test_several_photos_per_employee_and_a_new_enrollment_is_seen_at_once(photo: Photo) -> None:
    store = InMemoryFaceStore()
    container_a = LocalEngine(store, POLICY)
    container_b = LocalEngine(store, POLICY)
    assert container_a.search(photo("obama2.jpg")).best is None
    container_b.add_face("EMP001", photo("obama.jpg"))
    container_b.add_face("EMP001", photo("obama3.jpg"))
    assert len(store.faces) == 2
    result = container_a.search(photo("obama2.jpg"))
    assert result.best is not None and result.best.employee_id == "EMP001"
    assert result.runner_up is None  # the second photo of EMP001 is not a rival
    loads = store.loads
    container_a.search(photo("obama2.jpg"))
    assert store.loads == loads  # unchanged gallery: the cache answers


def test_removed_faces_are_no_longer_matched(photo: Photo) -> None:
    store = InMemoryFaceStore()
    engine = LocalEngine(store, POLICY)
    record = engine.add_face("EMP001", photo("obama.jpg"))
    assert record.engine == "local" and record.employee_id == "EMP001"
    engine.remove_faces("EMP001", [record.face_id])
    assert engine.search(photo("obama2.jpg")).best is None


def test_embedding_store_holds_no_image_bytes(photo: Photo) -> None:
    store = InMemoryFaceStore()
    LocalEngine(store, POLICY).add_face("EMP001", photo("obama.jpg"))
    [stored] = store.faces.values()
    assert len(stored.embedding) == 128 * 4
    assert encoded(photo("obama.jpg").pixels, "JPEG")[:64] not in stored.embedding


def test_erasure_finds_an_employee_who_is_not_the_largest_face(engine: LocalEngine, photos: Path) -> None:
    # obama2 (EMP001) beside biden (EMP002): search() looks only at the larger face.
    frame = normalise(side_by_side(photos / "biden.jpg", photos / "obama2.jpg"), ImageLimits())
    assert len(engine.search(frame).faces) == 2
    assert engine.shows_employee(frame, "EMP001") and engine.shows_employee(frame, "EMP002")
    assert not engine.shows_employee(frame, "EMP999")  # nobody enrolled under that id


def test_erasure_does_not_see_an_employee_in_someone_elses_photo(engine: LocalEngine, photo: Photo) -> None:
    assert not engine.shows_employee(photo("biden.jpg"), "EMP001")
    assert not engine.shows_employee(photo("astronaut.png"), "EMP001")
    assert engine.shows_employee(photo("obama2.jpg"), "EMP001")
