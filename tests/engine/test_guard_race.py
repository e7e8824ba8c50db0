"""The duplicate-face guard under concurrency: two enrollments of one face under two ids.

The check before the write and the write are not atomic; the re-check after the write is
what keeps the second id out. The interleavings are forced, never slept into: a store (or
endpoint) wrapper runs the other enrollment completely inside the first one's window.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import pytest

from chalicelib.core.config import Policy
from chalicelib.core.errors import DuplicateFace
from chalicelib.core.models import NormalisedImage
from chalicelib.core.ports import FaceChange, FaceStore, Heads, StoredFace
from chalicelib.engines.local import LocalEngine
from chalicelib.engines.rekognition import RekognitionEngine
from chalicelib.scanning.recognition import confusable_at
from tests.fakes import InMemoryFaceStore

Photo = Callable[[str], NormalisedImage]
POLICY = Policy()
GUARD = confusable_at(POLICY)


class BeforePut:
    """A ``FaceStore`` that runs ``hook`` once, right before its first put reaches ``store``."""

    def __init__(self, store: FaceStore, hook: Callable[[], object]) -> None:
        self._store = store
        self._hook: Callable[[], object] | None = hook

    def put(self, face: StoredFace) -> None:
        hook, self._hook = self._hook, None
        if hook is not None:
            hook()
        self._store.put(face)

    def delete(self, employee_id: str, face_ids: Sequence[str] | None = None) -> list[str]:
        return self._store.delete(employee_id, face_ids)

    def of_employee(self, employee_id: str) -> list[StoredFace]:
        return self._store.of_employee(employee_id)

    def heads(self) -> Heads:
        return self._store.heads()

    def changes(self, after: Heads, upto: Heads) -> list[FaceChange] | None:
        return self._store.changes(after, upto)

    def faces_of(self, keys: Sequence[tuple[str, str]]) -> list[StoredFace]:
        return self._store.faces_of(keys)

    def load(self, consistent: bool = False) -> list[StoredFace]:
        return self._store.load(consistent)


def owners(store: InMemoryFaceStore) -> list[str]:
    return sorted(employee_id for employee_id, _ in store.faces)


def test_a_twin_enrolled_between_the_check_and_the_put_is_refused_after_the_put(photo: Photo) -> None:
    # A (obama.jpg as EMP001) checks an empty gallery; before its put lands, B (obama2.jpg,
    # the same man, as EMP004) enrolls completely on another container. A's check passed
    # on a gallery without the twin: only the re-check after A's put can see B.
    store = InMemoryFaceStore()
    other_container = LocalEngine(store, POLICY)
    twin = other_container.add_face  # bound now: the hook runs inside A's add_face

    def enroll_twin() -> None:
        twin("EMP004", photo("obama2.jpg"), refuse_at=GUARD)

    engine = LocalEngine(BeforePut(store, enroll_twin), POLICY)
    with pytest.raises(DuplicateFace) as refused:
        engine.add_face("EMP001", photo("obama.jpg"), refuse_at=GUARD)
    assert refused.value.other_employee_id == "EMP004" and refused.value.similarity >= GUARD
    assert owners(store) == ["EMP004"]  # A's face deleted again, B's untouched
    assert store.head_reads >= 4  # each enrollment brought its gallery up to date before and after its put


def test_two_enrollments_that_both_pass_the_check_never_both_stay(photo: Photo) -> None:
    # The review's probe: both check before either writes (a barrier at the put), then the
    # re-checks run in whatever order the threads take. Either one stays or both are refused.
    store = InMemoryFaceStore()
    barrier = threading.Barrier(2)

    class AtTheBarrier(BeforePut):
        def put(self, face: StoredFace) -> None:
            barrier.wait(timeout=30)
            super().put(face)

    engine = LocalEngine(AtTheBarrier(store, lambda: None), POLICY)
    refusals: dict[str, DuplicateFace] = {}

    def enroll(employee_id: str, name: str) -> None:
        try:
            engine.add_face(employee_id, photo(name), refuse_at=GUARD)
        except DuplicateFace as error:
            refusals[employee_id] = error

    photo("obama.jpg"), photo("obama2.jpg")  # decoded once, outside the threads
    threads = [
        threading.Thread(target=enroll, args=("EMP001", "obama.jpg")),
        threading.Thread(target=enroll, args=("EMP004", "obama2.jpg")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    stayed = owners(store)
    assert len(stayed) <= 1
    assert set(refusals) | set(stayed) == {"EMP001", "EMP004"}
    for employee_id, error in refusals.items():
        assert error.other_employee_id == ({"EMP001", "EMP004"} - {employee_id}).pop()


def test_a_different_person_enrolled_in_the_window_is_no_reason_to_refuse(photo: Photo) -> None:
    store = InMemoryFaceStore()
    other_container = LocalEngine(store, POLICY)
    stranger = other_container.add_face

    engine = LocalEngine(
        BeforePut(store, lambda: stranger("EMP002", photo("biden.jpg"), refuse_at=GUARD)), POLICY
    )
    engine.add_face("EMP001", photo("obama.jpg"), refuse_at=GUARD)
    assert owners(store) == ["EMP001", "EMP002"]


def test_enrollments_and_scans_read_the_whole_gallery_once_then_only_its_changes(photo: Photo) -> None:
    store = InMemoryFaceStore()
    engine = LocalEngine(store, POLICY)
    engine.add_face("EMP001", photo("obama.jpg"), refuse_at=GUARD)
    engine.add_face("EMP002", photo("biden.jpg"), refuse_at=GUARD)
    engine.search(photo("obama2.jpg"))
    assert store.loads == 1  # the container's first look; every later one applied the log
    assert engine.gallery.changes_applied == 2


@pytest.mark.parametrize("before", ["search_faces", "create_user"])
def test_rekognition_a_twin_enrolled_inside_the_window_is_refused(photo: Photo, before: str) -> None:
    # A (obama.jpg as EMP001) is indexed and its SearchUsers found nobody; then, right
    # before A's SearchFaces or A's CreateUser, B (obama2.jpg as EMP004) enrolls completely
    # on another container. A's face is not associated yet, so B's SearchUsers finds nobody
    # either: only the face-level search sees A's face (by its ExternalImageId). On the
    # local endpoint; the engine under test is unmodified, only its client is wrapped.
    from sandbox.rekognition import RekognitionEndpoint

    endpoint = RekognitionEndpoint()
    try:
        client = endpoint.client()
        client.create_collection(CollectionId="faces")
        other_container = RekognitionEngine(endpoint.client(), "faces", POLICY)
        refusals: list[DuplicateFace] = []

        class TwinBefore:
            """The client, but B enrolls completely just before A's first ``before`` call."""

            pending = True

            def __getattr__(self, name: str) -> object:
                if name == before and self.pending:
                    self.pending = False
                    try:
                        other_container.add_face("EMP004", photo("obama2.jpg"), refuse_at=GUARD)
                    except DuplicateFace as error:
                        refusals.append(error)
                return getattr(client, name)

        engine = RekognitionEngine(TwinBefore(), "faces", POLICY)  # type: ignore[arg-type]
        calls = len(endpoint.calls)
        engine.add_face("EMP001", photo("obama.jpg"), refuse_at=GUARD)
        [refused] = refusals
        assert refused.other_employee_id == "EMP001" and refused.similarity >= GUARD
        collection = endpoint.service.collections["faces"]
        assert [face.user_id for face in collection.faces.values()] == ["EMP001"]
        twin = ["IndexFaces", "SearchUsers", "SearchFaces", "DeleteFaces"]  # found A's face
        a_before = ["IndexFaces", "SearchUsers"] + (["SearchFaces"] if before == "create_user" else [])
        a_after = ([] if before == "create_user" else ["SearchFaces"]) + ["CreateUser", "AssociateFaces"]
        assert endpoint.calls[calls:] == [*a_before, *twin, *a_after]
    finally:
        endpoint.stop()


def test_a_gallery_reloaded_for_a_scan_is_read_consistently(photo: Photo) -> None:
    # The version token is read consistently; an eventually consistent scan cached under it
    # could miss the face that changed it until the next enrollment anywhere.
    store = InMemoryFaceStore()
    LocalEngine(store, POLICY).add_face("EMP001", photo("obama.jpg"), refuse_at=GUARD)
    door = LocalEngine(store, POLICY)  # another container: nothing cached yet
    before = store.consistent_loads
    assert door.search(photo("obama2.jpg")).best is not None
    assert store.consistent_loads == before + 1
