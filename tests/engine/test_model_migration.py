"""A gallery enrolled by the first model (dlib), upgraded in place to YuNet + SFace: nobody
is locked out, and whoever could be is named by the gallery's health report."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from chalicelib.core.config import Policy
from chalicelib.core.models import Employee, NormalisedImage, Status
from chalicelib.core.ports import FIRST_MODEL
from chalicelib.engines.dlib_model import DlibModel
from chalicelib.engines.gallery_search import waiting_rows
from chalicelib.engines.local import LocalEngine
from chalicelib.engines.sface_model import MODEL_ID
from chalicelib.scanning.recognition import confusable_at, decide
from tests.fakes import InMemoryFaceStore

Photo = Callable[[str], NormalisedImage]
POLICY = Policy()
PEOPLE = {"EMP001": Employee("EMP001", "Avery Stone"), "EMP002": Employee("EMP002", "Jordan Lee")}


@pytest.fixture
def old_gallery(photo: Photo) -> InMemoryFaceStore:
    """EMP001 (obama.jpg) and EMP002 (biden.jpg) as the dlib engine enrolled them."""
    store = InMemoryFaceStore()
    before = LocalEngine(store, POLICY, model=DlibModel(), old=[])
    before.add_face("EMP001", photo("obama.jpg"))
    before.add_face("EMP002", photo("biden.jpg"))
    assert {face.model for face in store.faces.values()} == {FIRST_MODEL}
    return store


def status(engine: LocalEngine, image: NormalisedImage) -> tuple[Status, str | None]:
    result = engine.search(image)
    decision = decide(result, PEOPLE.get(result.best.employee_id) if result.best else None, POLICY)
    return decision.status, decision.employee_id


def test_after_the_upgrade_old_faces_still_open_the_door(
    old_gallery: InMemoryFaceStore, photo: Photo
) -> None:
    upgraded = LocalEngine(old_gallery, POLICY)
    assert upgraded.model.model_id == MODEL_ID
    assert status(upgraded, photo("obama2.jpg")) == (Status.AUTHORIZED, "EMP001")
    assert status(upgraded, photo("biden.jpg")) == (Status.AUTHORIZED, "EMP002")
    assert status(upgraded, photo("astronaut.png"))[0] is Status.UNKNOWN
    assert upgraded.gallery_health(POLICY).old_model_only == ["EMP001", "EMP002"]


def test_a_new_face_moves_the_employee_to_the_new_model_alone(
    old_gallery: InMemoryFaceStore, photo: Photo
) -> None:
    upgraded = LocalEngine(old_gallery, POLICY)
    upgraded.add_face(
        "EMP001", photo("obama.jpg"), refuse_at=confusable_at(POLICY)
    )  # own old face: no refusal
    assert upgraded.gallery_health(POLICY).old_model_only == ["EMP002"]
    result = upgraded.search(photo("obama3.jpg"))
    assert result.best is not None and result.best.employee_id == "EMP001"
    assert status(upgraded, photo("obama3.jpg")) == (Status.AUTHORIZED, "EMP001")
    assert status(upgraded, photo("biden.jpg")) == (Status.AUTHORIZED, "EMP002")  # still by dlib
    # EMP001's dlib face is no longer asked: only EMP002's rows wait for dlib.
    gallery = upgraded.gallery.current()
    waiting = waiting_rows(gallery, MODEL_ID)[FIRST_MODEL]
    assert {gallery.employee_ids[int(owner)] for owner in gallery.owners[waiting]} == {"EMP002"}
    without_dlib = LocalEngine(old_gallery, POLICY, old=[])
    assert status(without_dlib, photo("obama2.jpg")) == (Status.AUTHORIZED, "EMP001")


def test_the_duplicate_guard_also_guards_faces_still_of_the_old_model(
    old_gallery: InMemoryFaceStore, photo: Photo
) -> None:
    from chalicelib.core.errors import DuplicateFace

    upgraded = LocalEngine(old_gallery, POLICY)
    with pytest.raises(DuplicateFace) as refused:
        upgraded.add_face("EMP003", photo("obama2.jpg"), refuse_at=confusable_at(POLICY))
    assert refused.value.other_employee_id == "EMP001"


def test_without_the_old_model_installed_its_employees_are_refused_and_reported(
    old_gallery: InMemoryFaceStore, photo: Photo
) -> None:
    """Fail closed, never silently: not matched, named in the report, and an erasure that
    cannot look for them in photos fails (to be retried with dlib installed) instead of
    keeping those photos."""
    from chalicelib.core.errors import ModelUnavailable

    without_dlib = LocalEngine(old_gallery, POLICY, old=[])
    assert status(without_dlib, photo("obama2.jpg"))[0] is Status.UNKNOWN
    assert without_dlib.gallery_health(POLICY).old_model_only == ["EMP001", "EMP002"]
    with pytest.raises(ModelUnavailable, match="dlib-resnet-v1"):
        without_dlib.shows_employee(photo("obama2.jpg"), "EMP001")


def test_erasure_sees_the_employee_by_the_old_model_too(old_gallery: InMemoryFaceStore, photo: Photo) -> None:
    upgraded = LocalEngine(old_gallery, POLICY)
    assert upgraded.shows_employee(photo("obama2.jpg"), "EMP001")
    assert not upgraded.shows_employee(photo("biden.jpg"), "EMP001")


def test_a_look_alike_found_by_the_other_model_makes_the_scan_ambiguous(photo: Photo) -> None:
    """One face under two ids, one enrolled by each model (no guard): the two scales cannot
    be compared by the margin, so the door stays shut rather than pick one."""
    store = InMemoryFaceStore()
    LocalEngine(store, POLICY, model=DlibModel(), old=[]).add_face("EMP009", photo("obama2.jpg"))
    upgraded = LocalEngine(store, POLICY)
    upgraded.add_face("EMP001", photo("obama.jpg"))
    result = upgraded.search(photo("obama3.jpg"))
    assert result.best is not None and result.runner_up is not None
    assert {result.best.employee_id, result.runner_up.employee_id} == {"EMP001", "EMP009"}
    decision = decide(result, Employee(result.best.employee_id, "Avery Stone"), POLICY)
    assert decision.status is Status.UNKNOWN and "ambiguous" in (decision.reason or "")


def test_retiring_the_old_model_waits_for_everyone_then_removes_its_faces(
    old_gallery: InMemoryFaceStore, photo: Photo
) -> None:
    from chalicelib.core.errors import OldModelStillNeeded

    upgraded = LocalEngine(old_gallery, POLICY)
    upgraded.add_face("EMP001", photo("obama.jpg"))
    with pytest.raises(OldModelStillNeeded, match=r"^1 employee\(s\) still have only faces of the old model"):
        upgraded.retire_old_model()
    assert len(old_gallery.faces) == 3  # nothing removed
    upgraded.add_face("EMP002", photo("biden.jpg"))
    assert upgraded.retire_old_model() == (2, 2)
    assert {face.model for face in old_gallery.faces.values()} == {MODEL_ID}
    without_dlib = LocalEngine(old_gallery, POLICY, old=[])
    assert status(without_dlib, photo("obama2.jpg")) == (Status.AUTHORIZED, "EMP001")
    assert without_dlib.gallery_health(POLICY).old_model_only == []
    assert upgraded.retire_old_model() == (0, 0)
