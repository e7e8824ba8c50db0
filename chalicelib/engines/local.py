"""The bundled engine: dlib's HOG detector, 5-point landmarks and 128-d ResNet embeddings.

No face leaves the account: embeddings live in our own DynamoDB table (``FaceStore``) so
every Lambda container sees one gallery, held per container and kept current by the
store's change log (``gallery_sync``). dlib and numpy are imported on first use, never at import
(``load_models`` is that first use when the camera function warms up in Lambda's init).
"""

from __future__ import annotations

import importlib.util
import math
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chalicelib.core.config import Policy
from chalicelib.core.errors import DuplicateFace, EnrollmentError
from chalicelib.core.models import (
    BoundingBox,
    DetectedFace,
    FaceRecord,
    GalleryHealth,
    Match,
    NormalisedImage,
    OutlierFace,
    SearchResult,
    gallery_health,
)
from chalicelib.core.observability import timed
from chalicelib.core.ports import FaceStore, GallerySnapshots, StoredFace
from chalicelib.engines.gallery import Gallery
from chalicelib.engines.gallery_sync import GallerySync
from chalicelib.scanning.recognition import confusable_at, quality_problem, worth_matching

if TYPE_CHECKING:
    import numpy as np

# dlib's HOG window is 80x80: faces much smaller than this are not found at a given scale.
HOG_WINDOW_PX = 80
CHIP_PX = 150
# Euclidean distance of dlib embeddings maps onto 0–100: 100·(1 − d/2.5), so the default
# threshold 80 is d = 0.5 (stricter than dlib's customary 0.6, as a door should be).
DISTANCE_AT_ZERO = 2.5
# Laplacian variance of a face chip maps onto 0–100 sharpness: 100·(1 − e^(−v/50)).
SHARPNESS_SCALE = 50.0
# gallery_health compares faces a block of rows at a time: at most this many distances
# (float32, 16 MB) at once, whatever the gallery's size.
HEALTH_BLOCK_CELLS = 4_000_000


class _Models:
    """dlib's three models, loaded once per process."""

    _lock = threading.Lock()
    _loaded: _Models | None = None
    # dlib's networks keep per-call state: one inference at a time per process
    # (a Lambda container runs one invocation at a time anyway; the sandbox does not).
    inference = threading.Lock()

    def __init__(self) -> None:
        import dlib

        folder = model_folder()
        self.detector = dlib.get_frontal_face_detector()
        self.landmarks = dlib.shape_predictor(str(folder / "shape_predictor_5_face_landmarks.dat"))
        self.embedder = dlib.face_recognition_model_v1(
            str(folder / "dlib_face_recognition_resnet_model_v1.dat")
        )

    @classmethod
    def get(cls) -> _Models:
        with cls._lock:
            if cls._loaded is None:
                cls._loaded = cls()
            return cls._loaded


@contextmanager
def _inference(models: _Models) -> Iterator[None]:
    """Hold the process's one inference lock; how long a scan waits for it is a stage."""
    with timed("inference lock wait"):
        models.inference.acquire()
    try:
        yield
    finally:
        models.inference.release()


def load_models() -> None:
    """Import numpy and dlib and load the three models now rather than at the first scan
    (once per process; ``wiring.warm_up`` calls it in the camera function's Lambda init)."""
    import numpy  # noqa: F401  (the first scan's other heavy import)

    _Models.get()


def model_folder() -> Path:
    """Where face-recognition-models put its weights, found without importing it.

    Importing the package pulls in ``pkg_resources``, which modern setuptools removed.
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("face-recognition-models is not installed: pip install face-recognition-models")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


@dataclass
class FaceChip:
    """One face ``LocalEngine.detect`` found: where it is, and its aligned chip for ``embed``."""

    detected: DetectedFace
    chip: Any  # 150x150 aligned RGB chip (numpy array)


class LocalEngine:
    """``FaceEngine`` on the bundled dlib models."""

    name = "local"

    def __init__(
        self,
        store: FaceStore,
        policy: Policy,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        snapshots: GallerySnapshots | None = None,
    ) -> None:
        self._store = store
        self._policy = policy
        self._clock = clock
        self.gallery = GallerySync(store, snapshots)
        # Held while the gallery is brought up to date and searched: a change applied in
        # place must never meet a search reading the same rows.
        self._gallery_lock = threading.Lock()

    def add_face(
        self, employee_id: str, image: NormalisedImage, *, refuse_at: float | None = None
    ) -> FaceRecord:
        """Enroll the one clear face in ``image``; refuse photos that would enroll badly,
        and (``refuse_at``) faces as close as that to another employee's."""
        faces = self.detect(image)
        if not faces:
            raise EnrollmentError("no face found in the photo")
        usable = [face for face in faces if quality_problem(face.detected, self._policy) is None]
        if len(usable) > 1:
            raise EnrollmentError(f"{len(usable)} faces in the photo: enroll a photo of one person")
        problem = quality_problem(faces[0].detected, self._policy)
        if problem is not None:
            raise EnrollmentError(problem)
        embedding = self.embed(faces[0])
        if refuse_at is not None:
            # Before writing, on the gallery as of now: refuses the common case without ever
            # storing the face. Not enough alone: see _recheck.
            with self._gallery_lock:
                _refuse_duplicate(self.gallery.current(), embedding, employee_id, refuse_at)
        stored = StoredFace(
            employee_id=employee_id,
            face_id=uuid.uuid4().hex,
            embedding=embedding.astype("<f4").tobytes(),
            created_at=self._clock().isoformat(timespec="seconds"),
        )
        self._store.put(stored)
        if refuse_at is not None:
            self._recheck(stored, embedding, refuse_at)
        return FaceRecord(employee_id, stored.face_id, self.name, stored.created_at)

    def _recheck(self, stored: StoredFace, embedding: np.ndarray, refuse_at: float) -> None:
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
                _refuse_duplicate(self.gallery.current(), embedding, stored.employee_id, refuse_at)
        except DuplicateFace:
            self._store.delete(stored.employee_id, [stored.face_id])
            raise

    def search(self, image: NormalisedImage) -> SearchResult:
        """Detect every face; embed the largest and find its two closest employees, unless
        the faces alone decide (several people, a blurred or small face: ~75 ms saved)."""
        faces = self.detect(image)
        detected = [face.detected for face in faces]
        if not worth_matching(detected, self._policy):
            return SearchResult(faces=detected)
        embedding = self.embed(faces[0])
        with self._gallery_lock:
            gallery = self.gallery.current()
            if not len(gallery):
                return SearchResult(faces=detected)
            with timed("search"):
                best, runner_up = closest_two(gallery, embedding)
        return SearchResult(faces=detected, best=best, runner_up=runner_up)

    def shows_employee(self, image: NormalisedImage, employee_id: str) -> bool:
        """Whether any face in ``image``, not just the largest, is the employee's (erasure)."""
        import numpy as np

        enrolled = self._store.of_employee(employee_id)
        if not enrolled:
            return False
        gallery = np.stack([np.frombuffer(face.embedding, dtype="<f4") for face in enrolled])
        for face in self.detect(image):
            distances = np.linalg.norm(gallery - self.embed(face), axis=1)
            if similarity(_distance(float(distances.min()) ** 2)) >= self._policy.match_threshold:
                return True
        return False

    def list_faces(self, employee_id: str) -> list[FaceRecord]:
        """The enrolled faces of an employee."""
        faces = self._store.of_employee(employee_id)
        return [FaceRecord(f.employee_id, f.face_id, self.name, f.created_at) for f in faces]

    def remove_faces(self, employee_id: str, face_ids: Sequence[str] | None = None) -> None:
        """Delete the employee's embeddings; every container sees it at its next scan."""
        self._store.delete(employee_id, face_ids)

    def gallery_health(self, policy: Policy) -> GalleryHealth:
        """Close pairs, single photos and outliers from the stored embeddings (``faces_health``)."""
        with self._gallery_lock:
            return faces_health(self.gallery.current(), policy)

    def detect(self, image: NormalisedImage) -> list[FaceChip]:
        """Every face in ``image``, largest first, detected at ``detection_scale`` (no embedding)."""
        import numpy as np

        models = _Models.get()
        pixels = np.asarray(image.pixels, dtype=np.uint8)
        # Detect on a downscaled copy; landmarks and embeddings use the full-size pixels.
        scale = detection_scale(image.width, image.height, self._policy)
        small = pixels
        if scale < 1.0:
            size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
            small = np.asarray(image.pixels.resize(size, resample=_bilinear()))
        with _inference(models), timed("detect"):
            return self._detect(image, pixels, small, scale, models)

    def _detect(
        self, image: NormalisedImage, pixels: Any, small: Any, scale: float, models: _Models
    ) -> list[FaceChip]:
        import dlib

        faces = []
        for rect in models.detector(small, 0):
            left = max(0, round(rect.left() / scale))
            top = max(0, round(rect.top() / scale))
            right = min(image.width, round((rect.right() + 1) / scale))
            bottom = min(image.height, round((rect.bottom() + 1) / scale))
            if right <= left or bottom <= top:
                continue
            shape = models.landmarks(pixels, dlib.rectangle(left, top, right - 1, bottom - 1))
            chip = dlib.get_face_chip(pixels, shape, size=CHIP_PX)
            box = BoundingBox(left, top, right - left, bottom - top)
            faces.append(FaceChip(DetectedFace(box=box, sharpness=_sharpness(chip)), chip))
        faces.sort(key=lambda face: face.detected.box.width * face.detected.box.height, reverse=True)
        return faces

    def embed(self, face: FaceChip) -> np.ndarray:
        """The 128-d float32 embedding of one face ``detect`` found."""
        import numpy as np

        models = _Models.get()
        with _inference(models), timed("embed"):
            descriptor = models.embedder.compute_face_descriptor(face.chip)
        return np.asarray(descriptor, dtype=np.float32)


def detection_scale(width: int, height: int, policy: Policy) -> float:
    """How far a frame is shrunk before the HOG detector sees it.

    No further than the smallest usable face still fills the detector's 80 px window,
    and, for large camera frames, down to ``policy.detect_max_side`` on the long side:
    then faces narrower than 80 × (long side ÷ that) px are not seen at all.
    """
    scale = min(1.0, HOG_WINDOW_PX / policy.min_face_px)
    if policy.detect_max_side:
        scale = min(scale, policy.detect_max_side / max(width, height))
    return scale


def _bilinear() -> Any:
    from PIL import Image

    return Image.Resampling.BILINEAR


def closest_two(gallery: Gallery, embedding: np.ndarray) -> tuple[Match, Match | None]:
    """The closest employee and the closest *other* employee (each by their nearest face).

    |g − e|² = |g|² − 2·g·e + |e|²: one matrix-vector product over the whole gallery, then
    two linear minimum searches; no sort, no per-face Python loop (100,000 faces ≈ 2 ms).
    """
    import numpy as np

    squared = gallery.square_norms - 2.0 * (gallery.matrix @ embedding) + float(embedding @ embedding)
    first = int(np.argmin(squared))
    best_owner = int(gallery.owners[first])
    best = Match(gallery.employee_ids[best_owner], similarity(_distance(squared[first])))
    others = np.where(gallery.owners == best_owner, np.inf, squared)
    second = int(np.argmin(others))
    if not np.isfinite(others[second]):
        return best, None  # every face is the best match's
    runner_up = Match(
        gallery.employee_ids[int(gallery.owners[second])], similarity(_distance(others[second]))
    )
    return best, runner_up


def nearest_other(gallery: Gallery, embedding: np.ndarray, employee_id: str) -> Match | None:
    """The closest employee other than ``employee_id`` (by their nearest face), if any."""
    import numpy as np

    if not len(gallery.owners):
        return None
    squared = gallery.square_norms - 2.0 * (gallery.matrix @ embedding) + float(embedding @ embedding)
    own = gallery.owner_index(employee_id)
    if own is not None:
        squared = np.where(gallery.owners == own, np.inf, squared)
    nearest = int(np.argmin(squared))
    if not np.isfinite(squared[nearest]):
        return None  # only the employee's own faces are enrolled
    return Match(gallery.employee_ids[int(gallery.owners[nearest])], similarity(_distance(squared[nearest])))


def _refuse_duplicate(gallery: Gallery, embedding: np.ndarray, employee_id: str, refuse_at: float) -> None:
    """DuplicateFace when another employee's face in ``gallery`` scores ``refuse_at`` or more."""
    other = nearest_other(gallery, embedding, employee_id)
    if other is not None and other.similarity >= refuse_at:
        raise DuplicateFace(other.employee_id, other.similarity)


def faces_health(gallery: Gallery, policy: Policy, block_cells: int = HEALTH_BLOCK_CELLS) -> GalleryHealth:
    """Every face against every other, a block of rows at a time (``block_cells`` distances).

    n faces cost n²·128 multiply-adds and n² distances in all, never more than one block
    of them in memory (a few times ``block_cells`` × 4 bytes with temporaries).
    """
    import numpy as np

    count = len(gallery.owners)
    counts = np.bincount(gallery.owners, minlength=len(gallery.employee_ids))
    face_counts = {employee: int(counts[n]) for n, employee in enumerate(gallery.employee_ids) if counts[n]}
    pairs: dict[tuple[str, str], float] = {}
    outliers: list[OutlierFace] = []
    rows = max(1, block_cells // max(1, count))
    for start in range(0, count, rows):
        _health_of_block(gallery, policy, start, min(count, start + rows), pairs, outliers)
    return gallery_health(policy.match_threshold, policy.match_margin, face_counts, pairs, outliers)


def _health_of_block(
    gallery: Gallery,
    policy: Policy,
    start: int,
    stop: int,
    pairs: dict[tuple[str, str], float],
    outliers: list[OutlierFace],
) -> None:
    """Rows ``start:stop`` against the whole gallery: close pairs (few) and outliers, added."""
    import numpy as np

    floor = confusable_at(policy)
    # A hair past the cut-off's distance, so that similarity()'s rounding decides at the edge.
    cut = (DISTANCE_AT_ZERO * (1.0 - floor / 100.0) + 1e-3) ** 2
    norms = gallery.square_norms
    squared = norms[start:stop, None] - 2.0 * (gallery.matrix[start:stop] @ gallery.matrix.T) + norms[None, :]
    squared[np.arange(stop - start), np.arange(start, stop)] = np.inf  # a face is not its own match
    same = gallery.owners[start:stop, None] == gallery.owners[None, :]
    for row, column in zip(*np.nonzero((squared <= cut) & ~same), strict=True):
        score = similarity(_distance(squared[row, column]))
        if score >= floor:
            first, second = sorted((int(gallery.owners[start + row]), int(gallery.owners[column])))
            ids = (gallery.employee_ids[first], gallery.employee_ids[second])
            pairs[ids] = max(pairs.get(ids, 0.0), score)
    own = np.where(same, squared, np.inf).min(axis=1)
    for row in np.nonzero(np.isfinite(own))[0]:  # rows whose employee has another face
        score = similarity(_distance(own[row]))
        if score < policy.match_threshold:
            employee = gallery.employee_ids[int(gallery.owners[start + row])]
            outliers.append(OutlierFace(employee, gallery.face_ids[start + row], score))


def _distance(squared: float) -> float:
    return math.sqrt(max(0.0, float(squared)))


def similarity(distance: float) -> float:
    """dlib embedding distance on facegate's 0–100 similarity scale."""
    return round(max(0.0, 100.0 * (1.0 - distance / DISTANCE_AT_ZERO)), 2)


def _sharpness(chip: Any) -> float:
    """Focus of a face chip: variance of its Laplacian, mapped onto 0–100."""
    import numpy as np

    rgb = chip.astype(np.float32)
    gray = 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]
    laplacian = gray[1:-1, :-2] + gray[1:-1, 2:] + gray[:-2, 1:-1] + gray[2:, 1:-1] - 4 * gray[1:-1, 1:-1]
    return round(100.0 * (1.0 - math.exp(-float(laplacian.var()) / SHARPNESS_SCALE)), 1)
