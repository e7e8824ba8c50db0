"""A ``FaceStore`` in process memory: for benchmarks, tests and one-process tools.

Not in chalicelib: a Lambda container would hold a gallery of its own (the DynamoDB store
is the one every container shares), so it is never deployed. Its change log has one shard.
"""

from __future__ import annotations

from collections.abc import Sequence

from chalicelib.core.ports import FaceChange, Heads, StoredFace


class InMemoryFaceStore:
    """The local engine's gallery in a dict, with every change in a list."""

    def __init__(self) -> None:
        self.faces: dict[tuple[str, str], StoredFace] = {}
        self.log: list[FaceChange] = []
        self.forgotten = 0  # changes at the log's start that expired (``forget``)

    def put(self, face: StoredFace) -> None:
        """Store one face and log it."""
        self.faces[(face.employee_id, face.face_id)] = face
        self._logged(face.employee_id, [face.face_id], added=True)

    def delete(self, employee_id: str, face_ids: Sequence[str] | None = None) -> list[str]:
        """Delete the given faces (all of the employee's when None); return the ids deleted."""
        doomed = [
            key for key in self.faces if key[0] == employee_id and (face_ids is None or key[1] in face_ids)
        ]
        for key in doomed:
            del self.faces[key]
        if doomed:
            self._logged(employee_id, [face_id for _, face_id in doomed], added=False)
        return [face_id for _, face_id in doomed]

    def of_employee(self, employee_id: str) -> list[StoredFace]:
        """The faces of one employee."""
        return [face for (owner, _), face in self.faces.items() if owner == employee_id]

    def heads(self) -> Heads:
        """How many changes were logged."""
        return (len(self.log),)

    def changes(self, after: Heads, upto: Heads) -> list[FaceChange] | None:
        """The changes after ``after`` up to ``upto``; None if some expired, or going back."""
        if len(after) != 1 or len(upto) != 1 or upto[0] < after[0] or after[0] < self.forgotten:
            return None
        return self.log[after[0] : upto[0]]

    def faces_of(self, keys: Sequence[tuple[str, str]]) -> list[StoredFace]:
        """The stored faces of these keys that still exist."""
        return [self.faces[key] for key in keys if key in self.faces]

    def load(self, consistent: bool = False) -> list[StoredFace]:
        """Every stored face (always consistent: one process, one dict)."""
        return list(self.faces.values())

    def forget(self, changes: int) -> None:
        """Let the log's first ``changes`` entries expire (as DynamoDB's TTL would)."""
        self.forgotten = max(self.forgotten, changes)

    def _logged(self, employee_id: str, face_ids: list[str], added: bool) -> None:
        self.log.append(FaceChange(0, len(self.log) + 1, employee_id, tuple(face_ids), added))
