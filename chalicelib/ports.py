"""The pipeline's ports: what it needs from storage and messaging, named for the role."""

from __future__ import annotations

from typing import Protocol

from chalicelib.models import Employee, Scan, Upload


class UploadTooLarge(ValueError):
    """The stored object is larger than we are willing to read."""


class ImageStore(Protocol):
    """The camera bucket."""

    def read(self, upload: Upload, max_bytes: int) -> bytes:
        """The upload's bytes; raise ``UploadTooLarge`` rather than read past ``max_bytes``."""
        ...

    def write_json(self, bucket: str, key: str, document: dict[str, object]) -> None:
        """Store a JSON document (the enriched result under ``processed/``)."""
        ...


class EmployeeDirectory(Protocol):
    """Who the enrolled people are and whether they may enter."""

    def get(self, employee_id: str) -> Employee | None:
        """The employee, or None when there is no such record."""
        ...

    def put(self, employee: Employee) -> None:
        """Create or replace an employee."""
        ...


class ScanLog(Protocol):
    """The door-event log: one record per camera object version."""

    def get(self, scan_id: str) -> Scan | None:
        """The recorded scan, or None."""
        ...

    def record(self, scan: Scan) -> bool:
        """Write ``scan`` unless its id exists; True when this call wrote it."""
        ...

    def set_notification(self, scan_id: str, state: str, *, expected: str) -> bool:
        """Move the scan's notification state from ``expected`` to ``state``; True if it moved."""
        ...


class Notifier(Protocol):
    """Announces decisions to the door controller and the security desk."""

    def publish(self, scan: Scan) -> None:
        """Publish one scan's outcome."""
        ...
