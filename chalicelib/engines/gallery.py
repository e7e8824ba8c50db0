"""The local engine's gallery in memory: one matrix row per enrolled face, changed a row at
a time as the store's change log says (``gallery_sync``). Each row carries its model: a
search compares a probe only with rows of the model that embedded it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from chalicelib.core.ports import FaceChange, Heads, StoredFace

if TYPE_CHECKING:
    import numpy as np

EMBEDDING_DIMS = 128
MAX_MODELS = 256  # a row's model is one byte


class Gallery:
    """Every enrolled face as one matrix row, labelled with the heads it is current at.

    Rows are kept in arrays with room to grow; removing a face moves the last row into its
    place, so one change costs one row, whatever the gallery's size. The row left free is
    zeroed and an employee whose last face goes loses their id here (erasure reaches a warm
    container's memory too); enrolled again, they get a new index.
    """

    def __init__(self, heads: Heads, capacity: int = 0) -> None:
        import numpy as np

        self.heads = heads
        self._matrix = np.zeros((capacity, EMBEDDING_DIMS), dtype=np.float32)
        self._norms = np.zeros(capacity, dtype=np.float32)
        self._owners = np.zeros(capacity, dtype=np.int32)
        self._models = np.zeros(capacity, dtype=np.uint8)
        self.model_ids: list[str] = []  # index = a row's model code
        self._count = 0
        self.employee_ids: list[str] = []  # index = owner; "" for one whose faces all went
        self._employee_index: dict[str, int] = {}
        self._faces_of_owner: list[int] = []
        self.face_ids: list[str] = []  # per row
        self._row_of: dict[str, int] = {}

    @classmethod
    def of_faces(cls, heads: Heads, faces: Sequence[StoredFace]) -> Gallery:
        """A gallery of ``faces`` (a full read of the store)."""
        import numpy as np

        matrix = np.frombuffer(b"".join(face.embedding for face in faces), dtype="<f4")
        employees = sorted({face.employee_id for face in faces})
        index = {employee_id: number for number, employee_id in enumerate(employees)}
        owners = np.array([index[face.employee_id] for face in faces], dtype=np.int32)
        model_ids = sorted({face.model for face in faces})
        codes = {model: code for code, model in enumerate(model_ids)}
        models = np.array([codes[face.model] for face in faces], dtype=np.uint8)
        rows = matrix.reshape(len(faces), EMBEDDING_DIMS)
        return cls.of_arrays(heads, employees, owners, rows, [f.face_id for f in faces], model_ids, models)

    @classmethod
    def of_arrays(
        cls,
        heads: Heads,
        employee_ids: list[str],
        owners: np.ndarray,
        matrix: np.ndarray,
        face_ids: list[str],
        model_ids: list[str],
        models: np.ndarray,
    ) -> Gallery:
        """A gallery of rows already in arrays (a snapshot); ``owners`` index ``employee_ids``
        and ``models`` index ``model_ids``."""
        import numpy as np

        if len(model_ids) != len(set(model_ids)):
            raise ValueError("a model id appears twice")
        if len(model_ids) > MAX_MODELS:
            raise ValueError(f"more than {MAX_MODELS} models")
        if len(models) and int(np.max(models)) >= len(model_ids):
            raise ValueError("a row names no model")
        if len(face_ids) != len(set(face_ids)):
            raise ValueError("a face id appears twice")
        if len(employee_ids) != len(set(employee_ids)):
            raise ValueError("an employee id appears twice")
        gallery = cls(heads, capacity=0)
        gallery._matrix = _writable(matrix, np.float32)
        gallery._norms = np.einsum("ij,ij->i", gallery._matrix, gallery._matrix)
        gallery._owners = _writable(owners, np.int32)
        gallery._models = _writable(models, np.uint8)
        gallery.model_ids = list(model_ids)
        gallery._count = len(face_ids)
        gallery.employee_ids = list(employee_ids)
        gallery._employee_index = {employee_id: n for n, employee_id in enumerate(employee_ids)}
        gallery._faces_of_owner = [
            int(n) for n in np.bincount(gallery._owners, minlength=len(employee_ids))[: len(employee_ids)]
        ]
        gallery.face_ids = list(face_ids)
        gallery._row_of = {face_id: row for row, face_id in enumerate(face_ids)}
        return gallery

    def __len__(self) -> int:
        return self._count

    @property
    def matrix(self) -> np.ndarray:
        return self._matrix[: self._count]

    @property
    def square_norms(self) -> np.ndarray:
        """|row|² per row, for distances by one matrix-vector product."""
        return self._norms[: self._count]

    @property
    def owners(self) -> np.ndarray:
        """Per row: the index of its employee in ``employee_ids``."""
        return self._owners[: self._count]

    @property
    def models(self) -> np.ndarray:
        """Per row: the index of its model in ``model_ids``."""
        return self._models[: self._count]

    def rows_of(self, model_id: str) -> np.ndarray:
        """Which rows hold ``model_id``'s embeddings (a boolean per row)."""
        import numpy as np

        if model_id not in self.model_ids:
            return np.zeros(self._count, dtype=bool)
        rows: np.ndarray = self.models == self.model_ids.index(model_id)
        return rows

    def owner_index(self, employee_id: str) -> int | None:
        return self._employee_index.get(employee_id)

    def add(self, face: StoredFace) -> None:
        """Add one face (a face already here is left as it is: replaying a change is safe)."""
        import numpy as np

        if face.face_id in self._row_of:
            return
        if face.model not in self.model_ids and len(self.model_ids) >= MAX_MODELS:
            raise ValueError(f"more than {MAX_MODELS} models")
        if self._count == len(self._matrix):
            self._grow(max(16, len(self._matrix) * 3 // 2))
        owner = self._employee_index.get(face.employee_id)
        if owner is None:
            owner = self._employee_index[face.employee_id] = len(self.employee_ids)
            self.employee_ids.append(face.employee_id)
            self._faces_of_owner.append(0)
        self._faces_of_owner[owner] += 1
        row = self._count
        self._matrix[row] = np.frombuffer(face.embedding, dtype="<f4")
        self._norms[row] = float(self._matrix[row] @ self._matrix[row])
        self._owners[row] = owner
        if face.model not in self.model_ids:
            self.model_ids.append(face.model)
        self._models[row] = self.model_ids.index(face.model)
        self.face_ids.append(face.face_id)
        self._row_of[face.face_id] = row
        self._count += 1

    def remove(self, face_id: str) -> None:
        """Remove one face, if here: the last row takes its place."""
        row = self._row_of.pop(face_id, None)
        if row is None:
            return
        self._forget_one_face_of(int(self._owners[row]))
        last = self._count - 1
        if row != last:
            self._matrix[row] = self._matrix[last]
            self._norms[row] = self._norms[last]
            self._owners[row] = self._owners[last]
            self._models[row] = self._models[last]
            moved = self.face_ids[last]
            self.face_ids[row] = moved
            self._row_of[moved] = row
        self.face_ids.pop()
        self._matrix[last] = 0.0
        self._norms[last] = 0.0
        self._owners[last] = 0
        self._models[last] = 0
        self._count = last

    def _forget_one_face_of(self, owner: int) -> None:
        self._faces_of_owner[owner] -= 1
        if not self._faces_of_owner[owner]:
            del self._employee_index[self.employee_ids[owner]]
            self.employee_ids[owner] = ""

    def apply(self, changes: Sequence[FaceChange], added: dict[str, StoredFace]) -> None:
        """Apply logged changes in order; ``added``: the stored faces the additions name (a
        face deleted since is missing there and stays out)."""
        for change in changes:
            for face_id in change.face_ids:
                if not change.added:
                    self.remove(face_id)
                elif face_id in added:
                    self.add(added[face_id])

    def _grow(self, capacity: int) -> None:
        import numpy as np

        for name in ("_matrix", "_norms", "_owners", "_models"):
            old = getattr(self, name)
            new = np.zeros((capacity, *old.shape[1:]), dtype=old.dtype)
            new[: self._count] = old[: self._count]
            setattr(self, name, new)


def _writable(array: np.ndarray, dtype: type) -> np.ndarray:
    """``array`` as a contiguous array of ``dtype`` this gallery may change in place (a copy
    only when it is not one already: a buffer's view is read-only)."""
    import numpy as np

    if array.dtype == dtype and array.flags.c_contiguous and array.flags.writeable:
        return array
    return np.array(array, dtype=dtype, order="C")
