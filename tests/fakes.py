"""In-memory fakes of facegate's ports, for pure tests. Each can be told to fail."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import replace

from chalicelib.engines.local import StoredFace
from chalicelib.models import Employee, FaceRecord, NormalisedImage, Scan, SearchResult, Upload
from chalicelib.ports import UploadTooLarge


class Failing:
    """Mixin: set ``fail_with`` to an exception and the next calls raise it."""

    fail_with: Exception | None = None

    def _maybe_fail(self) -> None:
        if self.fail_with is not None:
            raise self.fail_with


class InMemoryImageStore(Failing):
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}
        self.json_documents: dict[tuple[str, str], dict[str, object]] = {}
        self.write_fails_with: Exception | None = None

    def read(self, upload: Upload, max_bytes: int) -> bytes:
        self._maybe_fail()
        data = self.objects[(upload.bucket, upload.key)]
        if len(data) > max_bytes:
            raise UploadTooLarge(f"file too large: {len(data)} bytes, limit {max_bytes}")
        return data

    def write_json(self, bucket: str, key: str, document: dict[str, object]) -> None:
        if self.write_fails_with is not None:
            raise self.write_fails_with
        self.json_documents[(bucket, key)] = json.loads(json.dumps(document))


class InMemoryEmployeeDirectory(Failing):
    def __init__(self, *employees: Employee) -> None:
        self.employees = {e.employee_id: e for e in employees}

    def get(self, employee_id: str) -> Employee | None:
        self._maybe_fail()
        return self.employees.get(employee_id)

    def put(self, employee: Employee) -> None:
        self._maybe_fail()
        self.employees[employee.employee_id] = employee


class InMemoryScanLog(Failing):
    def __init__(self) -> None:
        self.scans: dict[str, Scan] = {}

    def get(self, scan_id: str) -> Scan | None:
        self._maybe_fail()
        return self.scans.get(scan_id)

    def record(self, scan: Scan) -> bool:
        self._maybe_fail()
        if scan.scan_id in self.scans:
            return False
        self.scans[scan.scan_id] = scan
        return True

    def set_notification(self, scan_id: str, state: str, *, expected: str) -> bool:
        self._maybe_fail()
        scan = self.scans.get(scan_id)
        if scan is None or scan.notification != expected:
            return False
        self.scans[scan_id] = replace(scan, notification=state)
        return True


class RecordingNotifier(Failing):
    def __init__(self) -> None:
        self.published: list[Scan] = []

    def publish(self, scan: Scan) -> None:
        self._maybe_fail()
        self.published.append(scan)


class ScriptedEngine(Failing):
    """A ``FaceEngine`` that answers every search with the result it was given."""

    name = "scripted"

    def __init__(self, result: SearchResult) -> None:
        self.result = result
        self.searches = 0

    def add_face(self, employee_id: str, image: NormalisedImage) -> FaceRecord:
        self._maybe_fail()
        return FaceRecord(employee_id, uuid.uuid4().hex, self.name, "2026-01-01T00:00:00+00:00")

    def search(self, image: NormalisedImage) -> SearchResult:
        self._maybe_fail()
        self.searches += 1
        return self.result

    def remove_faces(self, employee_id: str, face_ids: Sequence[str] | None = None) -> None:
        self._maybe_fail()


class InMemoryFaceStore(Failing):
    def __init__(self) -> None:
        self.faces: dict[tuple[str, str], StoredFace] = {}
        self._version = 0
        self.loads = 0

    def put(self, face: StoredFace) -> None:
        self._maybe_fail()
        self.faces[(face.employee_id, face.face_id)] = face
        self._version += 1

    def delete(self, employee_id: str, face_ids: Sequence[str] | None = None) -> list[str]:
        self._maybe_fail()
        doomed = [
            key for key in self.faces if key[0] == employee_id and (face_ids is None or key[1] in face_ids)
        ]
        for key in doomed:
            del self.faces[key]
        self._version += 1
        return [face_id for _, face_id in doomed]

    def version(self) -> str:
        self._maybe_fail()
        return str(self._version)

    def load(self) -> list[StoredFace]:
        self._maybe_fail()
        self.loads += 1
        return list(self.faces.values())
