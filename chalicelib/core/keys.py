"""The camera bucket's key layout, and what a camera id may be.

The one source of the layout: ``INCOMING_PREFIX``, ``PROCESSED_PREFIX``, ``ENROLL_PREFIX`` and
``GALLERY_PREFIX`` are constants,
not settings, because the S3 trigger (``app.py``), the bucket's lifecycle rules
(``infra/template.yaml``), the IAM policies (``.chalice/policy-*.json``, the camera users of
``infra/cameras.py``) and the sandbox must all agree with the pipeline, and the static files
cannot read a variable. ``tests/infra/test_key_layout.py`` fails when any of them names
another prefix.

- ``incoming/<camera-id>/<file>``: a camera's photo, the only keys that trigger a scan;
  ``<file>`` may hold further ``/`` (the camera is the first segment, which is all IAM lets
  that camera write under).
- ``processed/dt=<day>/<scan-id>.json``: the decision's copy, one JSON object on one line
  (JSON lines), partitioned Hive-style by the scan's site-local day (its ``day``, the day
  the scans table, the report and an analyst's "in March" mean), which the record itself
  carries, so erasure finds the copy from the record. Outside ``incoming/``, so writing it
  never triggers the handler again. Versions before the partitions wrote
  ``processed/<scan-id>.json`` (``legacy_processed_key``), which erasure still deletes.
- ``enroll/<employee-id>/<file>``: the drop folder: a photo an HR system puts there is
  enrolled for that employee by its own handler, then deleted (never a scan).
- ``pending/<pending-id>``: a drop-folder photo held for an admin's approval (it would
  widen someone's access): never in the gallery until approved, deleted (every version)
  when approved or rejected, expiring after ``PENDING_DAYS`` as a backstop.
- ``gallery/<id>.snapshot``: the local engine's packed gallery (embeddings, never photos)
  that cold containers start from; one at a time, named by the faces table's manifest item.
- ``alerts/unrecorded/<scan-id>``: an empty marker, created only where none is (S3's
  conditional write), that security was alerted that scan ``<scan-id>`` could not be
  recorded: the one "already alerted" that lives outside the scans table, which is down.

A camera id names a door in alerts, reports and IAM policies (each camera may write only
its own prefix), so it is a defined, safe set: 1–64 letters, digits, ``-``, ``_`` and
``.``, not only dots. Anything else is refused before the photo is looked at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

INCOMING_PREFIX = "incoming/"
PROCESSED_PREFIX = "processed/"
ENROLL_PREFIX = "enroll/"
GALLERY_PREFIX = "gallery/"
# Drop-folder photos waiting for an admin (``pending/<pending-id>``); the lifecycle rule of
# ``infra/template.yaml`` expires them after PENDING_DAYS (held longer, nobody approved them).
PENDING_PREFIX = "pending/"
PENDING_DAYS = 14
PENDING_ID = re.compile(r"[0-9a-f]{32}")
# What door agents report (held open, forced open, …): ``door-events/<door>/<time>-<hex>.json``,
# each door's identity may put under its own folder only (``infra/doors.py``).
DOOR_EVENTS_PREFIX = "door-events/"
# Markers that an alert went out while the scans table could not say so (``unrecorded_alert_key``).
ALERTS_PREFIX = "alerts/"
# The processed copies' partition column (``processed/dt=YYYY-MM-DD/``), as the Glue table
# in ``infra/template.yaml`` declares it.
PARTITION_COLUMN = "dt"
# What a scan id and a day may be in a key: nothing that could name another folder.
SCAN_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

CAMERA_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
CAMERA_ID_RULE = "1–64 characters of A–Z, a–z, 0–9, '-', '_', '.' (not only dots)"
# Recorded in place of a camera id for keys that name none we accept; both fall outside
# CAMERA_ID, so no real camera can carry them.
NO_CAMERA = "(none)"
INVALID_CAMERA = "(invalid)"

# An employee id: what the API accepts in paths and bodies and the drop folder in keys.
EMPLOYEE_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
EMPLOYEE_ID_RULE = "1–64 characters of A–Z, a–z, 0–9, _ . : - (not only dots)"
# Audit targets that are not employees (the daily report's ledger, erasure jobs, gallery
# health jobs, consents, door events, the retention sweep, the gallery's model retirement): an
# employee of that id would share their partition (IAM refuses the API's audit writes for the
# first four, so they could not even be audited). tests/unit/test_reserved_ids.py finds every
# audit target in the code and fails on one that could be an employee id and is not here.
RESERVED_IDS = frozenset(
    {"daily-report", "erasure", "gallery-health", "consent", "door-events", "retention", "gallery"}
)


def employee_id_problem(value: str, called: str = "employee id") -> str | None:
    """Why ``value`` is no employee id (naming it ``called``), or None. Not only dots: ``.``
    and ``..`` are path segments that URLs, S3 keys and the CLI's request paths resolve away."""
    if not EMPLOYEE_ID.fullmatch(value) or value.strip(".") == "":
        return f"{called} must be {EMPLOYEE_ID_RULE}"
    if value in RESERVED_IDS:
        return f"{called} {value} is reserved"
    return None


def is_camera_id(value: str) -> bool:
    """Whether ``value`` is a camera id we accept."""
    return CAMERA_ID.fullmatch(value) is not None and value.strip(".") != ""


def door_events_folder(door_id: str) -> str:
    """Where door ``door_id``'s agent puts its events (``door/keys.py`` keeps the agent's copy)."""
    return f"{DOOR_EVENTS_PREFIX}{door_id}/"


_QUEUE_NAME_LIMIT = 80  # SQS: 1–80 of A–Z, a–z, 0–9, '-', '_'


def door_queue_name(stage: str, door_id: str) -> str:
    """The door's queue (``infra/doors.py`` makes it): ``facegate-<stage>-door-<id>-<digest>``.

    The digest of the id ends every name: SQS allows fewer characters than a door id ('.' is
    not one), so the readable part alone could name two doors' queues alike ("a.b", "a_b"; a
    long id cut short), and one door would read, and delete, the other's messages.
    ``ValueError`` for an id that is no door id (doors share the camera id rule)."""
    import hashlib

    if not is_camera_id(door_id):
        raise ValueError(f"door id must be {CAMERA_ID_RULE}")
    digest = hashlib.sha256(door_id.encode()).hexdigest()[:12]
    readable = f"facegate-{stage}-door-{door_id.replace('.', '_')}"
    return f"{readable[: _QUEUE_NAME_LIMIT - len(digest) - 1]}-{digest}"


@dataclass(frozen=True)
class CameraKey:
    """What a key says about its camera: the id to record, or why the key is refused."""

    camera_id: str
    problem: str | None = None


def pending_key(pending_id: str) -> str:
    """Where held photo ``pending_id`` is kept; ``ValueError`` for an id that is not one."""
    if not PENDING_ID.fullmatch(pending_id):
        raise ValueError(f"not a pending face id: {pending_id!r}")
    return f"{PENDING_PREFIX}{pending_id}"


def camera_key(camera_id: str, file_name: str) -> str:
    """Where camera ``camera_id`` puts a photo named ``file_name``."""
    return f"{INCOMING_PREFIX}{camera_id}/{file_name}"


def processed_key(scan_id: str, day: str) -> str:
    """Where the decision copy of scan ``scan_id``, of site-local ``day`` (YYYY-MM-DD), is
    written: ``processed/dt=<day>/<scan-id>.json``. ``ValueError`` for a scan id or a day
    that is not one (a ``/``, ``..`` or a newline would put the copy in another partition)."""
    return f"{PROCESSED_PREFIX}{PARTITION_COLUMN}={_checked_day(day)}/{_checked_scan_id(scan_id)}.json"


def unrecorded_alert_key(scan_id: str) -> str:
    """The marker that security heard scan ``scan_id`` could not be recorded (one alert per scan)."""
    return f"{ALERTS_PREFIX}unrecorded/{_checked_scan_id(scan_id)}"


def legacy_processed_key(scan_id: str) -> str:
    """Where versions before the partitioned layout wrote the copy of scan ``scan_id``."""
    return f"{PROCESSED_PREFIX}{_checked_scan_id(scan_id)}.json"


def _checked_scan_id(scan_id: str) -> str:
    if not SCAN_ID.fullmatch(scan_id):
        raise ValueError(f"not a scan id: {scan_id!r}")
    return scan_id


def _checked_day(day: str) -> str:
    if not DAY.fullmatch(day):
        raise ValueError(f"not a day (YYYY-MM-DD): {day!r}")
    try:
        date.fromisoformat(day)
    except ValueError:
        raise ValueError(f"not a calendar day: {day!r}") from None
    return day


def camera_of(key: str) -> CameraKey:
    """The camera of ``incoming/<camera-id>/<file>``, or the reason the key is refused."""
    layout = f"{INCOMING_PREFIX}<camera-id>/<file>"
    if not key.startswith(INCOMING_PREFIX):
        return CameraKey(NO_CAMERA, f"key is not {layout}")
    camera, _, name = key[len(INCOMING_PREFIX) :].partition("/")
    if not camera or not name or name.endswith("/"):
        return CameraKey(NO_CAMERA, f"key is not {layout}")
    if not is_camera_id(camera):
        return CameraKey(INVALID_CAMERA, f"camera id is not {CAMERA_ID_RULE}")
    return CameraKey(camera)


@dataclass(frozen=True)
class EnrollKey:
    """What a drop-folder key says: the employee id, or why the key is refused."""

    employee_id: str | None
    file_name: str = ""
    problem: str | None = None


def enroll_key(employee_id: str, file_name: str) -> str:
    """Where an HR system drops a photo named ``file_name`` of employee ``employee_id``."""
    return f"{ENROLL_PREFIX}{employee_id}/{file_name}"


def enrollment_of(key: str) -> EnrollKey:
    """The employee of ``enroll/<employee-id>/<file>`` (exactly one level), or why not."""
    layout = f"{ENROLL_PREFIX}<employee-id>/<file>"
    if not key.startswith(ENROLL_PREFIX):
        return EnrollKey(None, problem=f"key is not {layout}")
    parts = key[len(ENROLL_PREFIX) :].split("/")
    if len(parts) != 2 or not parts[0] or not parts[1]:
        return EnrollKey(None, problem=f"key is not {layout}")
    employee_id, file_name = parts
    problem = employee_id_problem(employee_id)
    if problem is not None:
        return EnrollKey(None, file_name, problem)
    return EnrollKey(employee_id, file_name)
