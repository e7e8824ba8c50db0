"""A ``FaceStore`` in process memory: for benchmarks, tests and one-process tools.

Not in chalicelib: a Lambda container would hold a gallery of its own (the DynamoDB store
is the one every container shares), so it is never deployed.
"""

from __future__ import annotations

from collections.abc import Sequence

from chalicelib.ports import StoredFace


class InMemoryFaceStore:
    """The local engine's gallery in a dict; every change moves the version counter."""

    def __init__(self) -> None:
        self.faces: dict[tuple[str, str], StoredFace] = {}
        self._version = 0

    def put(self, face: StoredFace) -> None:
        """Store one face and move the version counter."""
        self.faces[(face.employee_id, face.face_id)] = face
        self._version += 1

    def delete(self, employee_id: str, face_ids: Sequence[str] | None = None) -> list[str]:
        """Delete the given faces (all of the employee's when None); return the ids deleted."""
        doomed = [
            key for key in self.faces if key[0] == employee_id and (face_ids is None or key[1] in face_ids)
        ]
        for key in doomed:
            del self.faces[key]
        self._version += 1
        return [face_id for _, face_id in doomed]

    def of_employee(self, employee_id: str) -> list[StoredFace]:
        """The faces of one employee."""
        return [face for (owner, _), face in self.faces.items() if owner == employee_id]

    def version(self) -> str:
        """The version counter, as a string token."""
        return str(self._version)

    def load(self, consistent: bool = False) -> list[StoredFace]:
        """Every stored face (always consistent: one process, one dict)."""
        return list(self.faces.values())
