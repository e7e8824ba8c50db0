"""The packed gallery snapshot: every face of the gallery as one object a cold container
reads in one GET, instead of a Scan of the faces table.

Layout: ``FGS2``, a 4-byte little-endian header length, a UTF-8 JSON header (the heads,
the employees, the face ids, the model ids), the owner of each row (int32), the model of
each row (uint8, an index into the model ids) and the rows (float16: half the bytes of
float32; the similarities it changes are measured in ``bench.gallery``). A snapshot of the
first format (``FGS1``, before rows had models) is refused like any other unreadable one.
Unpacking checks every size and index against the header: a snapshot that does not add
up is refused (``SnapshotUnreadable``) and the caller reads the whole gallery instead.
"""

from __future__ import annotations

import json
import struct

from chalicelib.core.errors import SnapshotUnreadable
from chalicelib.core.ports import PackedSnapshot
from chalicelib.engines.gallery import EMBEDDING_DIMS, Gallery

MAGIC = b"FGS2"
ROW_DTYPE = "<f2"


def pack(gallery: Gallery) -> PackedSnapshot:
    """``gallery`` as one object, labelled with its heads."""
    import numpy as np

    used = sorted({int(owner) for owner in gallery.owners})
    renumber = np.zeros(max(len(gallery.employee_ids), 1), dtype=np.int32)
    renumber[used] = np.arange(len(used), dtype=np.int32)
    header = {
        "heads": list(gallery.heads),
        "employee_ids": [gallery.employee_ids[owner] for owner in used],
        "face_ids": gallery.face_ids,
        "model_ids": gallery.model_ids,
    }
    head = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")
    owners = renumber[gallery.owners].astype("<i4").tobytes()
    models = gallery.models.astype(np.uint8).tobytes()
    rows = gallery.matrix.astype(ROW_DTYPE).tobytes()
    return PackedSnapshot(gallery.heads, MAGIC + struct.pack("<I", len(head)) + head + owners + models + rows)


def _strings(value: object) -> list[str]:
    """A header's list of ids: a JSON list of strings, nothing else (a string is not one)."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise TypeError("a list of ids that is not a list of strings")
    return value


def unpack(snapshot: PackedSnapshot) -> Gallery:
    """The gallery a ``pack`` wrote; ``SnapshotUnreadable`` for anything else."""
    import numpy as np

    data = snapshot.data
    if len(data) < 8 or data[:4] != MAGIC:
        raise SnapshotUnreadable("not a gallery snapshot")
    (length,) = struct.unpack("<I", data[4:8])
    try:
        header = json.loads(data[8 : 8 + length].decode("utf-8", "surrogatepass"))
        heads = tuple(int(seq) for seq in header["heads"])
        employee_ids, face_ids, model_ids = (
            _strings(header[key]) for key in ("employee_ids", "face_ids", "model_ids")
        )
    except (ValueError, KeyError, TypeError) as error:
        raise SnapshotUnreadable(f"unreadable header: {error}") from None
    if heads != snapshot.heads:
        raise SnapshotUnreadable("the snapshot's heads are not the ones it was published with")
    count = len(face_ids)
    start = 8 + length
    expected = start + count * 5 + count * EMBEDDING_DIMS * 2
    if len(data) != expected:
        raise SnapshotUnreadable(f"{len(data)} bytes for {count} faces, expected {expected}")
    owners = np.frombuffer(data, dtype="<i4", count=count, offset=start)
    if count and (owners.min() < 0 or owners.max() >= len(employee_ids)):
        raise SnapshotUnreadable("a row names no employee")
    models = np.frombuffer(data, dtype=np.uint8, count=count, offset=start + count * 4)
    rows = np.frombuffer(data, dtype=ROW_DTYPE, count=count * EMBEDDING_DIMS, offset=start + count * 5)
    matrix = rows.astype(np.float32).reshape(count, EMBEDDING_DIMS)
    if not np.isfinite(matrix).all():
        raise SnapshotUnreadable("a row is not finite")
    try:
        return Gallery.of_arrays(heads, employee_ids, owners, matrix, face_ids, model_ids, models)
    except ValueError as error:
        raise SnapshotUnreadable(str(error)) from None
