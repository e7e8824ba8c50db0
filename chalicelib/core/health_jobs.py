"""The gallery health job's value objects: what an engine measures of a slice of its faces,
what it counts of the whole, and the job that adds slices up (``enrollment.gallery_health``).

Everything a job keeps is bounded: the lists it carries between invocations and the report
it ends with hold at most ``LISTED`` entries each (``KEPT_PAIRS`` close pairs while it runs),
and the report says how many it left out. A job record is one DynamoDB item (400 KB).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chalicelib.core.models import OutlierFace

# Each list of the report names at most this many (an API answer stays far under 10 MB).
LISTED = 500
# Close pairs kept while the job runs, best first: twice what the report lists, so the
# left-out count is exact until this many distinct pairs were found (then "at least").
KEPT_PAIRS = 2 * LISTED


@dataclass(frozen=True)
class HealthCensus:
    """The whole gallery counted, cheaply (one read of it): the faces a job walks, how many
    one slice takes, the faces per employee, who has faces of an old model only."""

    faces: int  # faces in the engine's walking order (the slices index it)
    slice_faces: int  # how many of them one slice compares with the gallery
    face_counts: dict[str, int]
    old_model_only: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class HealthPart:
    """What a slice of faces found against the whole gallery: close pairs (best per pair,
    the ids in sorted order) and the slice's outlier faces."""

    pairs: dict[tuple[str, str], float]
    outliers: list[OutlierFace]


@dataclass
class HealthJob:
    """A gallery health job, run in slices by the health worker; ids and scores only.

    Mutable: the worker adds a slice and saves it, conditional on ``faces_done`` being
    still what it read, so a redelivered or duplicated message never adds a slice twice.
    """

    job_id: str
    actor: str
    started_at: str  # UTC ISO-8601
    state: str = "QUEUED"  # QUEUED → RUNNING → DONE, or FAILED
    updated_at: str = ""
    finished_at: str | None = None
    faces_total: int | None = None  # known once the first invocation counted the gallery
    faces_done: int = 0
    slice_faces: int = 0
    pairs: list[tuple[str, str, float]] = field(default_factory=list)  # best first, ≤ KEPT_PAIRS
    pairs_overflowed: bool = False  # more than KEPT_PAIRS distinct pairs were found
    outliers: list[OutlierFace] = field(default_factory=list)  # lowest first, ≤ LISTED
    outliers_found: int = 0
    result: dict[str, Any] | None = None  # the report, once DONE
    attempts: int = 0
    error: str | None = None

    def add(self, part: HealthPart) -> None:
        """Merge a slice's findings, keeping the bounds."""
        best = {(a, b): score for a, b, score in self.pairs}
        for ids, score in part.pairs.items():
            best[ids] = max(best.get(ids, 0.0), float(score))
        ranked = sorted(best.items(), key=lambda item: (-item[1], item[0]))
        self.pairs_overflowed = self.pairs_overflowed or len(ranked) > KEPT_PAIRS
        self.pairs = [(a, b, score) for (a, b), score in ranked[:KEPT_PAIRS]]
        self.outliers_found += len(part.outliers)
        ordered = sorted(
            [*self.outliers, *part.outliers],
            key=lambda face: (face.similarity, face.employee_id, face.face_id),
        )
        self.outliers = ordered[:LISTED]

    def to_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "actor": self.actor,
            "started_at": self.started_at,
            "state": self.state,
            "updated_at": self.updated_at,
            "finished_at": self.finished_at,
            "faces_total": self.faces_total,
            "faces_done": self.faces_done,
            "slice_faces": self.slice_faces,
            "pairs": [[a, b, score] for a, b, score in self.pairs],
            "pairs_overflowed": self.pairs_overflowed,
            "outliers": [[face.employee_id, face.face_id, face.similarity] for face in self.outliers],
            "outliers_found": self.outliers_found,
            "result": self.result,
            "attempts": self.attempts,
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, item: dict[str, Any]) -> HealthJob:
        known = {name: item[name] for name in cls.__dataclass_fields__ if name in item}
        for name in ("faces_done", "slice_faces", "outliers_found", "attempts"):
            known[name] = int(known.get(name) or 0)
        if known.get("faces_total") is not None:
            known["faces_total"] = int(known["faces_total"])
        known["pairs"] = [(str(a), str(b), float(score)) for a, b, score in known.get("pairs") or []]
        known["outliers"] = [
            OutlierFace(str(employee), str(face), float(score))
            for employee, face, score in known.get("outliers") or []
        ]
        known["pairs_overflowed"] = bool(known.get("pairs_overflowed", False))
        return cls(**known)
