"""The import journal: what ``facegate import`` has finished, one JSON line per step.

Appended and fsynced as each step ends, so a run killed at any moment leaves a journal
that a rerun trusts: done steps are skipped, everything else is tried again. Lines:

    {"step": "employee", "employee_id": …, "outcome": "created" | "exists" | "refused" | "failed", "reason"?}
    {"step": "photo", "employee_id": …, "photo": …, "sha256": …,
     "outcome": "started" | "enrolled" | "refused" | "failed", "face_id"?, "reason"?}

``started`` is written before a photo is sent: a ``started`` with no outcome after it is an
enrollment the server may have made without the journal hearing of it (the run died
mid-request); the rerun looks for a face it does not know before sending it again.
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


@dataclass
class JournalState:
    """What earlier runs finished, read from the journal."""

    employees: set[str] = field(default_factory=set)  # created or found existing
    photos: dict[tuple[str, str], str] = field(default_factory=dict)  # (employee, sha256) → face id
    pending: set[tuple[str, str]] = field(default_factory=set)  # started, never finished

    def face_ids(self, employee_id: str) -> set[str]:
        return {face for (owner, _), face in self.photos.items() if owner == employee_id}


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
        _apply(state, entry)
    return state


def _apply(state: JournalState, entry: dict[str, Any]) -> None:
    employee, outcome = str(entry.get("employee_id", "")), entry.get("outcome")
    if entry.get("step") == "employee" and outcome in DONE_EMPLOYEE:
        state.employees.add(employee)
    elif entry.get("step") == "photo":
        key = (employee, str(entry.get("sha256", "")))
        if outcome == "started":
            state.pending.add(key)
            return
        state.pending.discard(key)
        if outcome == "enrolled":
            state.photos[key] = str(entry.get("face_id", ""))


class Journal:
    """Appends lines to the journal file, durably, from any thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def append(self, **entry: Any) -> None:
        line = json.dumps({"at": datetime.now(UTC).isoformat(timespec="seconds"), **entry}) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as file:
                file.write(line)
                file.flush()
                os.fsync(file.fileno())
