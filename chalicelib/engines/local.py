"""The bundled engine: YuNet finds faces, SFace embeds them (``sface_model``).

No face leaves the account: embeddings live in our own DynamoDB table (``FaceStore``) so
every Lambda container sees one gallery, held per container and kept current by the
store's change log (``gallery_sync``). Every stored face carries its model's id, and a
probe is compared only with faces of the model that embedded it. Faces of the engine's
first model (dlib, ``dlib_model``) are still matched, by dlib, for employees who have no
face of the current model yet: a site upgrades without locking anyone out
(``facegate gallery migration``). The models' heavy imports happen on first use
(``load_models`` is that first use when the camera function warms up in Lambda's init).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from chalicelib.core.config import Policy
from chalicelib.core.errors import DuplicateFace, EnrollmentError, ModelUnavailable, OldModelStillNeeded
from chalicelib.core.health_jobs import HealthCensus, HealthPart
from chalicelib.core.models import (
    FaceRecord,
    GalleryHealth,
    NormalisedImage,
    SearchResult,
)
from chalicelib.core.observability import timed
from chalicelib.core.ports import FaceStore, GallerySnapshots, StoredFace
from chalicelib.engines import dlib_model
from chalicelib.engines.face_health import (
    HEALTH_SLICE_CELLS,
    faces_health,
    health_census,
    health_of_rows,
)
from chalicelib.engines.face_model import FaceChip, FaceModel, OldFaceModel
from chalicelib.engines.gallery import Gallery
from chalicelib.engines.gallery_search import Probe, best_two, closest, refuse_duplicate, waiting_rows
from chalicelib.engines.gallery_sync import GallerySync
from chalicelib.engines.sface_model import SFaceModel
from chalicelib.scanning.recognition import is_a_person, quality_problem, worth_matching

if TYPE_CHECKING:
    import numpy as np


log = logging.getLogger(__name__)


def load_models() -> None:
    """Import numpy and onnxruntime and load YuNet and SFace now rather than at the first
    scan (once per process; ``wiring.warm_up`` calls it in the camera function's init)."""
    import numpy  # noqa: F401  (the first scan's other heavy import)

    SFaceModel().load()


def old_models() -> list[OldFaceModel]:
    """The old models whose faces this installation can still match (dlib, if installed)."""
    return [dlib_model.DlibModel()] if dlib_model.installed() else []


class LocalEngine:
    """``FaceEngine`` on the bundled models: YuNet + SFace, and dlib's faces until migrated."""

    name = "local"

    def __init__(
        self,
        store: FaceStore,
        policy: Policy,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        snapshots: GallerySnapshots | None = None,
        model: FaceModel | None = None,
        old: Sequence[OldFaceModel] | None = None,
    ) -> None:
        self._store = store
        self._policy = policy
        self._clock = clock
        self.model: FaceModel = model or SFaceModel()
        self.old = {old_model.model_id: old_model for old_model in (old_models() if old is None else old)}
        self.gallery = GallerySync(store, snapshots)
        self._unmatched_models: set[str] = set()
        self.health_slice_cells = HEALTH_SLICE_CELLS  # a health job's slice: distances at most
        # Held while the gallery is brought up to date and searched: a change applied in
        # place must never meet a search reading the same rows.
        self._gallery_lock = threading.Lock()

    def add_face(
        self,
        employee_id: str,
        image: NormalisedImage,
        *,
        refuse_at: float | None = None,
        allow: frozenset[str] = frozenset(),
    ) -> FaceRecord:
        """Enroll the one clear face in ``image``; refuse photos that would enroll badly,
        and (``refuse_at``) faces as close as that to another employee's."""
        faces = self.detect(image)
        if not faces:
            raise EnrollmentError("no face found in the photo")
        people = [face for face in faces if is_a_person(face.detected, self._policy)]
        if len(people) > 1:
            raise EnrollmentError(f"{len(people)} faces in the photo: enroll a photo of one person")
        problem = quality_problem(faces[0].detected, self._policy)
        if problem is not None:
            raise EnrollmentError(problem)
        embedding = self.embed(faces[0])
        if refuse_at is not None:
            # Before writing, on the gallery as of now: refuses the common case without ever
            # storing the face. Not enough alone: see _recheck.
            with self._gallery_lock:
                gallery = self.gallery.current()
                refuse_duplicate(
                    gallery, self._probes(gallery, image, faces[0], embedding), employee_id, refuse_at, allow
                )
        stored = StoredFace(
            employee_id=employee_id,
            face_id=uuid.uuid4().hex,
            embedding=embedding.astype("<f4").tobytes(),
            created_at=self._clock().isoformat(timespec="seconds"),
            model=self.model.model_id,
        )
        self._store.put(stored)
        if refuse_at is not None:
            self._recheck(stored, image, faces[0], embedding, refuse_at, allow)
        return FaceRecord(employee_id, stored.face_id, self.name, stored.created_at)

    def _recheck(
        self,
        stored: StoredFace,
        image: NormalisedImage,
        face: FaceChip,
        embedding: np.ndarray,
        refuse_at: float,
        allow: frozenset[str] = frozenset(),
    ) -> None:
        """The duplicate guard again, after the put, on the gallery brought up to date by
        strongly consistent reads; a face refused now is deleted again (that face only) and
        DuplicateFace raised.

        Why it closes the race: the check before the put and the put are not atomic, so two
        enrollments A and B of one face under two ids can both pass it. Each re-check starts
        after its own put returned and reads the log's heads, then every change up to them
        and every face they add, all consistently (DynamoDB's item reads are linearizable,
        and each change is logged in the transaction that makes it). Say A's put committed
        first: B's re-check begins after B's put, so after A's, and sees A's face unless A
        already deleted it; so both cannot stay. Both may be refused (each sees the other
        before either deletes): fail-safe, and a second attempt enrolls one.
        """
        try:
            with self._gallery_lock:
                gallery = self.gallery.current()
                probes = self._probes(gallery, image, face, embedding)
                refuse_duplicate(gallery, probes, stored.employee_id, refuse_at, allow)
        except DuplicateFace:
            self._store.delete(stored.employee_id, [stored.face_id])
            raise

    def search(self, image: NormalisedImage) -> SearchResult:
        """Detect every face; embed the largest and find its two closest employees, unless
        the faces alone decide (several people, a blurred, small or turned face)."""
        faces = self.detect(image)
        detected = [face.detected for face in faces]
        if not worth_matching(detected, self._policy):
            return SearchResult(faces=detected)
        embedding = self.embed(faces[0])
        with self._gallery_lock:
            gallery = self.gallery.current()
            if not len(gallery):
                return SearchResult(faces=detected)
            probes = self._probes(gallery, image, faces[0], embedding)
            with timed("search"):
                found = [match for probe in probes for match in closest(gallery, probe)]
        best, runner_up = best_two(found)
        return SearchResult(faces=detected, best=best, runner_up=runner_up)

    def _probes(
        self, gallery: Gallery, image: NormalisedImage, face: FaceChip, embedding: np.ndarray
    ) -> list[Probe]:
        """The face as the current model sees it, against its rows; and as each old model
        sees it, against the rows of employees who have only that model's faces (embedded
        by the old model only when there are such rows and it is installed)."""
        probes = [Probe(self.model, embedding, gallery.rows_of(self.model.model_id))]
        for model_id, rows in waiting_rows(gallery, self.model.model_id).items():
            old_model = self.old.get(model_id)
            if old_model is not None:
                probes.append(Probe(old_model, old_model.embed_at(image, face.detected.box), rows))
            elif model_id not in self._unmatched_models:
                self._unmatched_models.add(model_id)  # said once per container
                log.warning(
                    "faces of %s are in the gallery but that model is not installed: employees with "
                    "only those faces are not matched (facegate gallery migration lists them)",
                    model_id,
                )
        return probes

    def shows_employee(self, image: NormalisedImage, employee_id: str) -> bool:
        """Whether any face in ``image``, not just the largest, is the employee's (erasure),
        by each model the employee has faces of; ``ModelUnavailable`` when one of those
        models is not installed (an erasure then fails visibly and is retried, rather than
        keep the photos it could not look at)."""
        import numpy as np

        enrolled = self._store.of_employee(employee_id)
        for face in self.detect(image) if enrolled else []:
            for model_id in sorted({stored.model for stored in enrolled}):
                if model_id == self.model.model_id:
                    vector, score = self.embed(face), self.model.score
                elif model_id in self.old:
                    old_model = self.old[model_id]
                    vector, score = old_model.embed_at(image, face.detected.box), old_model.score
                else:
                    raise ModelUnavailable(f"the employee's faces are of {model_id}, which is not installed")
                rows = np.stack(
                    [np.frombuffer(s.embedding, dtype="<f4") for s in enrolled if s.model == model_id]
                )
                if score(float(np.min(np.sum((rows - vector) ** 2, axis=1)))) >= self._policy.match_threshold:
                    return True
        return False

    def list_faces(self, employee_id: str) -> list[FaceRecord]:
        """The enrolled faces of an employee."""
        faces = self._store.of_employee(employee_id)
        return [FaceRecord(f.employee_id, f.face_id, self.name, f.created_at) for f in faces]

    def remove_faces(self, employee_id: str, face_ids: Sequence[str] | None = None) -> None:
        """Delete the employee's embeddings; every container sees it at its next scan."""
        self._store.delete(employee_id, face_ids)

    def retire_old_model(self) -> tuple[int, int]:
        """Remove every face of an old model, once every employee has a face of the current
        one (``OldModelStillNeeded`` before): (faces removed, employees they were of). After
        it, the old model's code is never run and its package can go."""
        with self._gallery_lock:
            gallery = self.gallery.current()
            waiting = waiting_rows(gallery, self.model.model_id)
            if waiting:
                employees = {
                    gallery.employee_ids[int(owner)]
                    for rows in waiting.values()
                    for owner in gallery.owners[rows]
                }
                raise OldModelStillNeeded(
                    f"{len(employees)} employee(s) still have only faces of the old model: enroll them "
                    "again first (facegate gallery migration lists them)"
                )
            old = ~gallery.rows_of(self.model.model_id)
            faces: dict[str, list[str]] = {}
            for row in old.nonzero()[0]:
                employee = gallery.employee_ids[int(gallery.owners[row])]
                faces.setdefault(employee, []).append(gallery.face_ids[row])
        for employee_id, face_ids in sorted(faces.items()):
            self._store.delete(employee_id, face_ids)
        return sum(len(ids) for ids in faces.values()), len(faces)

    def gallery_health(self, policy: Policy) -> GalleryHealth:
        """Close pairs, single photos and outliers from the stored embeddings (``faces_health``)."""
        with self._gallery_lock:
            return faces_health(self.gallery.current(), policy, self.model, self.old)

    def health_census(self, policy: Policy) -> HealthCensus:
        """The gallery's rows counted; a slice is as many rows as ``HEALTH_SLICE_CELLS`` allow."""
        with self._gallery_lock:
            return health_census(self.gallery.current(), self.model, self.health_slice_cells)

    def health_slice(self, policy: Policy, start: int, stop: int) -> HealthPart:
        """Rows ``start:stop`` of the current gallery against all of it (``health_of_rows``)."""
        with self._gallery_lock:
            return health_of_rows(self.gallery.current(), policy, self.model, self.old, start, stop)

    def detect(self, image: NormalisedImage) -> list[FaceChip]:
        """Every face in ``image``, largest first (no embedding)."""
        return self.model.detect(image, self._policy)

    def embed(self, face: FaceChip) -> np.ndarray:
        """The current model's embedding of one face ``detect`` found."""
        return self.model.embed(face)
