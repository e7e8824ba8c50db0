"""A TEST face engine for load runs: every image is one face, its embedding its pixels' hash.

Offline there are only a handful of real faces, and the real engines refuse the same face
twice, so 500 enrollments need 500 distinct "faces". This engine finds exactly one in any
image and derives a 128-float embedding from the pixel content (distinct images, distinct
embeddings), then stores it through the real ``DynamoFaceStore``, so the faces table and
its version item see exactly the writes a real enrollment makes. Never wired in by
``wiring``: a test injects it with ``monkeypatch`` for itself only.
"""

from __future__ import annotations

import hashlib
import struct
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from chalicelib.core.config import Policy
from chalicelib.core.health_jobs import HealthCensus, HealthPart
from chalicelib.core.models import FaceRecord, GalleryHealth, NormalisedImage, SearchResult, gallery_health
from chalicelib.core.ports import FaceStore


class SyntheticFaceEngine:
    """``FaceEngine`` over a real ``FaceStore``; ``search`` finds nobody (not used here)."""

    name = "synthetic-test"

    def __init__(self, store: FaceStore) -> None:
        self._store = store

    def add_face(
        self,
        employee_id: str,
        image: NormalisedImage,
        *,
        refuse_at: float | None = None,
        allow: frozenset[str] = frozenset(),
    ) -> FaceRecord:
        """``refuse_at`` is ignored: hashes are unlike each other by construction. (The local
        engine's guard also reads the gallery, a Scan whenever another write moved the version.)"""
        from chalicelib.core.ports import StoredFace

        stored = StoredFace(
            employee_id=employee_id,
            face_id=uuid.uuid4().hex,
            embedding=embedding_of(image),
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        self._store.put(stored)
        return FaceRecord(employee_id, stored.face_id, self.name, stored.created_at)

    def search(self, image: NormalisedImage) -> SearchResult:
        return SearchResult(faces=[])

    def list_faces(self, employee_id: str) -> list[FaceRecord]:
        faces = self._store.of_employee(employee_id)
        return [FaceRecord(f.employee_id, f.face_id, self.name, f.created_at) for f in faces]

    def gallery_health(self, policy: Policy) -> GalleryHealth:
        """Counts only (a rerun of the import asks who still has old-model faces: no one here)."""
        counts: dict[str, int] = {}
        for face in self._store.load():
            counts[face.employee_id] = counts.get(face.employee_id, 0) + 1
        return gallery_health(policy.match_threshold, policy.match_margin, counts, {}, [])

    def health_census(self, policy: Policy) -> HealthCensus:
        """Counts only; the whole gallery is one slice."""
        counts: dict[str, int] = {}
        for face in self._store.load():
            counts[face.employee_id] = counts.get(face.employee_id, 0) + 1
        return HealthCensus(sum(counts.values()), max(1, sum(counts.values())), counts)

    def health_slice(self, policy: Policy, start: int, stop: int) -> HealthPart:
        """Synthetic faces look alike to nobody."""
        return HealthPart({}, [])

    def remove_faces(self, employee_id: str, face_ids: Sequence[str] | None = None) -> None:
        self._store.delete(employee_id, face_ids)


def embedding_of(image: NormalisedImage) -> bytes:
    """128 float32 in [0, 1) from the SHA-512 chain of the pixels (the local engine's layout)."""
    seed = hashlib.sha512(image.pixels.tobytes()).digest()
    words: list[int] = []
    block = seed
    while len(words) < 128:
        words.extend(struct.unpack("<16I", block[:64]))
        block = hashlib.sha512(block).digest()
    return struct.pack("<128f", *(word / 2**32 for word in words[:128]))
