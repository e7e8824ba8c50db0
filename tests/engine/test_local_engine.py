"""The bundled engine (YuNet + SFace; dlib where named) on real photos: who matches, who
does not, what it cannot use."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image, ImageFilter

from chalicelib.core.config import ImageLimits, Policy
from chalicelib.core.errors import DuplicateFace, EnrollmentError
from chalicelib.core.models import Employee, NormalisedImage, Reason, Status
from chalicelib.engines.dlib_model import DlibModel, detection_scale
from chalicelib.engines.local import LocalEngine
from chalicelib.scanning.imaging import normalise
from chalicelib.scanning.recognition import decide
from tests.fakes import InMemoryFaceStore
from tests.images import jpeg_with_orientation, side_by_side

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
    result = engine.search(photo("coffee.png"))
    assert result.faces == [] and result.best is None


def test_a_face_turned_away_is_seen_and_low_quality(engine: LocalEngine, photo: Photo) -> None:
    """camera.png: a man at a camera, turned about 60 degrees (dlib's HOG saw no face); its
    face is 60 px wide, so the minimum size is lowered to let the turn decide."""
    [face] = engine.search(photo("camera.png")).faces
    assert face.turn > POLICY.max_turn_degrees and 60 < face.confidence <= 100
    small_ok = replace(POLICY, min_face_px=40)
    decision = decision_for(engine, photo("camera.png"), small_ok)
    assert decision.status is Status.LOW_QUALITY  # type: ignore[attr-defined]
    assert "turned too far" in decision.reason  # type: ignore[attr-defined]
    lenient = replace(small_ok, max_turn_degrees=80.0)
    assert decision_for(engine, photo("camera.png"), lenient).status is Status.UNKNOWN  # type: ignore[attr-defined]
    [front] = engine.search(photo("obama.jpg")).faces  # facing the camera: a few degrees at most
    assert front.turn < 10


def test_a_group_photo_reports_every_face_largest_first(engine: LocalEngine, photo: Photo) -> None:
    result = engine.search(photo("group.jpg"))
    assert len(result.faces) == 6
    areas = [f.box.width * f.box.height for f in result.faces]
    assert areas == sorted(areas, reverse=True)
    assert decision_for(engine, photo("group.jpg")).status is Status.MULTIPLE_FACES  # type: ignore[attr-defined]


def test_a_blurred_face_is_too_blurred_to_trust(engine: LocalEngine, photo: Photo) -> None:
    blurred = NormalisedImage(photo("obama2.jpg").pixels.filter(ImageFilter.GaussianBlur(6)), "JPEG")
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
    [("coffee.png", "no face"), ("group.jpg", "6 faces")],
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


def test_the_store_gets_the_faces_embedding_and_nothing_of_the_photo(photo: Photo) -> None:
    store = InMemoryFaceStore()
    engine = LocalEngine(store, POLICY)
    engine.add_face("EMP001", photo("obama.jpg"))
    [stored] = store.faces.values()
    # Exactly the 128 float32 of the face's embedding: no pixels, no face chip beside them.
    assert stored.embedding == engine.embed(engine.detect(photo("obama.jpg"))[0]).astype("<f4").tobytes()
    assert {name: len(str(value)) for name, value in vars(stored).items() if name != "embedding"} == {
        "employee_id": 6, "face_id": 32, "created_at": 25, "model": len(engine.model.model_id),
    }  # fmt: skip


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


def in_large_frame(photos: Path, face_scale: float, size: tuple[int, int] = (3840, 2160)) -> NormalisedImage:
    """obama2.jpg resized by ``face_scale`` on a grey 4K frame, as a wide door camera sees it."""
    portrait = Image.open(photos / "obama2.jpg").convert("RGB")
    portrait = portrait.resize((round(portrait.width * face_scale), round(portrait.height * face_scale)))
    frame = Image.new("RGB", size, (128, 128, 128))
    frame.paste(portrait, ((size[0] - portrait.width) // 2, (size[1] - portrait.height) // 2))
    return NormalisedImage(frame, "JPEG")


@pytest.fixture(scope="module")
def gallery(photo: Photo) -> InMemoryFaceStore:
    """EMP001 (obama.jpg) and EMP002 (biden.jpg), for engines of different policies to share."""
    store = InMemoryFaceStore()
    LocalEngine(store, POLICY).add_face("EMP001", photo("obama.jpg"))
    LocalEngine(store, POLICY).add_face("EMP002", photo("biden.jpg"))
    return store


@pytest.fixture(scope="module")
def dlib_gallery(photo: Photo) -> InMemoryFaceStore:
    """The same two employees, enrolled by the first model (dlib)."""
    store = InMemoryFaceStore()
    LocalEngine(store, POLICY, model=DlibModel()).add_face("EMP001", photo("obama.jpg"))
    LocalEngine(store, POLICY, model=DlibModel()).add_face("EMP002", photo("biden.jpg"))
    return store


def test_yunet_finds_a_face_too_small_for_hog_in_a_large_frame(
    gallery: InMemoryFaceStore, photos: Path
) -> None:
    frame = in_large_frame(photos, 0.5)  # the face ~150 px wide in a 4K frame: ~25 px at YuNet's 640
    assert LocalEngine(gallery, POLICY, model=DlibModel()).detect(frame) == []
    [face] = LocalEngine(gallery, POLICY).detect(frame)
    assert face.detected.box.width >= POLICY.min_face_px
    assert decision_for(LocalEngine(gallery, POLICY), frame).status is Status.AUTHORIZED  # type: ignore[attr-defined]


def test_dlib_detects_a_large_frame_at_the_reduced_size_with_the_same_decision(
    dlib_gallery: InMemoryFaceStore, photos: Path
) -> None:
    frame = in_large_frame(photos, 1.8)  # the face ~550 px wide: ~180 px at the 1280 px detection size
    shrunk = LocalEngine(dlib_gallery, POLICY, model=DlibModel())
    full = LocalEngine(dlib_gallery, replace(POLICY, detect_max_side=0), model=DlibModel())
    assert detection_scale(frame.width, frame.height, POLICY) == pytest.approx(1 / 3)
    [small_box] = [face.detected.box for face in shrunk.detect(frame)]
    [full_box] = [face.detected.box for face in full.detect(frame)]
    assert abs(small_box.width - full_box.width) < 0.15 * full_box.width  # one face, one place
    assert abs(small_box.left - full_box.left) < 0.15 * full_box.width
    at_small, at_full = decision_for(shrunk, frame), decision_for(full, frame)
    assert at_small.status is at_full.status is Status.AUTHORIZED  # type: ignore[attr-defined]
    assert at_small.employee_id == at_full.employee_id == "EMP001"  # type: ignore[attr-defined]


def test_dlib_sees_faces_too_small_for_the_reduced_size_only_when_zero_never_shrinks(
    dlib_gallery: InMemoryFaceStore, photos: Path
) -> None:
    frame = in_large_frame(photos, 0.5)  # the face ~150 px wide: ~50 px at 1/3, under the 80 px window
    assert LocalEngine(dlib_gallery, POLICY, model=DlibModel()).detect(frame) == []
    never_shrinks = LocalEngine(dlib_gallery, replace(POLICY, detect_max_side=0), model=DlibModel())
    [face] = never_shrinks.detect(frame)
    assert face.detected.box.width >= POLICY.min_face_px


def test_the_guard_keeps_the_first_employee_getting_in(photo: Photo) -> None:
    """The issue's case: obama2 enrolled as a second employee made the first one's scans
    ambiguous; refused, EMP001 is still authorized."""
    unguarded = LocalEngine(InMemoryFaceStore(), POLICY)
    unguarded.add_face("EMP001", photo("obama.jpg"))
    unguarded.add_face("EMP003", photo("obama2.jpg"))
    ambiguous = decision_for(unguarded, photo("obama3.jpg"))
    assert ambiguous.reason_code is Reason.AMBIGUOUS  # type: ignore[attr-defined]

    guarded = LocalEngine(InMemoryFaceStore(), POLICY)
    guarded.add_face("EMP001", photo("obama.jpg"), refuse_at=75.0)
    with pytest.raises(DuplicateFace) as refused:
        guarded.add_face("EMP003", photo("obama2.jpg"), refuse_at=75.0)
    assert refused.value.other_employee_id == "EMP001" and refused.value.similarity >= 75.0
    assert decision_for(guarded, photo("obama3.jpg")).status is Status.AUTHORIZED  # type: ignore[attr-defined]


def test_gallery_health_names_a_face_unlike_its_employees_others(photo: Photo) -> None:
    engine = LocalEngine(InMemoryFaceStore(), POLICY)
    engine.add_face("EMP001", photo("obama.jpg"))
    engine.add_face("EMP001", photo("obama3.jpg"))
    wrong = engine.add_face("EMP001", photo("biden.jpg"))  # someone else's photo, before the guard
    engine.add_face("EMP002", photo("biden.jpg"))
    health = engine.gallery_health(POLICY)
    assert [(face.employee_id, face.face_id) for face in health.outlier_faces] == [("EMP001", wrong.face_id)]
    assert health.outlier_faces[0].similarity < POLICY.match_threshold
    assert [pair.employee_ids for pair in health.close_pairs] == [("EMP001", "EMP002")]
    assert health.close_pairs[0].similarity > 95  # the same photo twice
    assert (health.employees, health.faces, health.single_photo) == (2, 4, ["EMP002"])


def test_a_tailgater_turned_away_keeps_the_door_shut(engine: LocalEngine, photos: Path) -> None:
    """The enrolled person beside someone looking aside (camera.png: turned ~60°, about
    105 px across here): two people, whatever way the second one looks."""
    frame = normalise(side_by_side(photos / "obama2.jpg", photos / "camera.png"), ImageLimits())
    result = engine.search(frame)
    turned = [face for face in result.faces if face.turn > POLICY.max_turn_degrees and face.size_px >= 80]
    assert turned and len(result.faces) >= 2
    assert decision_for(engine, frame).status is Status.MULTIPLE_FACES  # type: ignore[attr-defined]
