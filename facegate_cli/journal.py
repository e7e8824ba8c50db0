"""The import journal: what ``facegate import`` has finished, one JSON line per step.

Appended and fsynced as each step ends, so a run killed at any moment leaves a journal
that a rerun trusts: done steps are skipped, everything else is tried again. Lines:

    {"step": "journal", "stage": …, "api_url": …, "user_pool_id": …}   (the first line)
    {"step": "employee", "employee_id": …, "outcome": "created" | "exists" | "refused" | "failed", "reason"?}
    {"step": "photo", "employee_id": …, "photo": …, "sha256": …,
     "outcome": "started" | "enrolled" | "refused" | "failed", "face_id"?, "reason"?, "before"?}
    {"step": "reenroll", "employee_id": …}   (the employee's faces were all of the engine's
     old model: the photos enrolled before this line are not done, those after it are)
    {"step": "consent", "employee_id": …, "outcome": "current" | "refused" | "failed", "reason"?}
     (for the record only: a rerun asks the API whether the consent is current)

The first line names the stage the journal is of: its steps are done on that stage only, so
``facegate import`` refuses the journal for another. ``started`` is written before a photo is
sent, with ``before``: the employee's face ids on the server just then. A ``started`` with no
outcome after it is an enrollment the server may have made without the journal hearing of
it (the run died mid-request); the rerun takes a face that appeared since ``before`` for it,
and sends the photo again when there is none.
Each line also carries ``at`` (UTC, ISO 8601). A torn last line (a crash mid-write) is ignored.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DONE_EMPLOYEE = frozenset({"created", "exists"})
STAGE_KEYS = ("stage", "api_url", "user_pool_id")


@dataclass
class JournalState:
    """What earlier runs finished, read from the journal."""

    employees: set[str] = field(default_factory=set)  # created or found existing
    photos: dict[tuple[str, str], str] = field(default_factory=dict)  # (employee, sha256) → face id
    # started, never finished → the employee's faces before it was sent (None: not recorded)
    pending: dict[tuple[str, str], frozenset[str] | None] = field(default_factory=dict)
    stage: dict[str, str] | None = None  # the first line: which stage the steps were done on
    lines: int = 0

    def face_ids(self, employee_id: str) -> set[str]:
        return {face for (owner, _), face in self.photos.items() if owner == employee_id}

    def forget_photos_of(self, employees: set[str]) -> None:
        """Treat these employees' enrolled photos as not done (to enroll them again: the
        engine's model changed since, and their faces are all of the old one)."""
        self.photos = {key: face for key, face in self.photos.items() if key[0] not in employees}

    def reenroll(self, journal: Journal, employees: set[str]) -> None:
        """Forget these employees' done photos, in this state and, by a ``reenroll`` line, in
        the journal: a run that stops midway leaves the rest of their photos still to do."""
        for employee_id in sorted(employees):
            journal.append(step="reenroll", employee_id=employee_id)
        self.forget_photos_of(employees)


def read(path: Path) -> JournalState:
    """The state the journal at ``path`` records (empty when there is none yet)."""
    state = JournalState()
    if not path.exists():
        return state
    for raw in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(entry, dict):
            continue
        state.lines += 1
        if entry.get("step") == "journal" and state.lines == 1:
            state.stage = {key: str(entry.get(key)) for key in STAGE_KEYS}
        _apply(state, entry)
    return state


def _apply(state: JournalState, entry: dict[str, Any]) -> None:
    employee, outcome = str(entry.get("employee_id", "")), entry.get("outcome")
    if entry.get("step") == "employee" and outcome in DONE_EMPLOYEE:
        state.employees.add(employee)
    elif entry.get("step") == "reenroll":
        state.forget_photos_of({employee})
    elif entry.get("step") == "photo":
        key = (employee, str(entry.get("sha256", "")))
        if outcome == "started":
            before = entry.get("before")
            state.pending[key] = frozenset(map(str, before)) if isinstance(before, list) else None
            return
        state.pending.pop(key, None)
        if outcome == "enrolled":
            state.photos[key] = str(entry.get("face_id", ""))


class Journal:
    """Appends lines to the journal file, durably, from any thread; a new file starts with
    the ``stage`` line (``{"stage", "api_url", "user_pool_id"}``) when one is given."""

    def __init__(self, path: Path, stage: dict[str, str] | None = None) -> None:
        self.path = path
        self._stage = stage
        self._lock = threading.Lock()

    def append(self, **entry: Any) -> None:
        line = json.dumps({"at": datetime.now(UTC).isoformat(timespec="seconds"), **entry}) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as file:
                if self._stage is not None and file.tell() == 0:
                    file.write(json.dumps({"step": "journal", **self._stage}) + "\n")
                file.write(line)
                file.flush()
                os.fsync(file.fileno())
