"""Runs an import plan against the API: employees, then their photos, several at a time.

One task per employee (create, then its photos one after another), so an employee has at
most one enrollment of ours in flight: a face that appeared since the employee's faces were
listed, just before the photo was sent, is then taken for that enrollment's.
Transient failures (5xx, 429, connection errors) are retried with backoff; what still
fails is counted and tried again by the next run.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from facegate_cli.client import ApiClient, ApiError, segment
from facegate_cli.journal import Journal, JournalState
from facegate_cli.roster import Person, Plan, Refusal

ATTEMPTS = 4  # one try and three retries: ~0.5 + 1 + 2 s of backoff at most, with jitter
BACKOFF_SECONDS = 0.5
TRANSIENT_ERRORS = (OSError, http.client.HTTPException)  # URLError, timeouts, resets


class Transient(Exception):
    """A request that kept failing transiently; rerunning the import tries it again."""


@dataclass
class Outcome:
    """What one run did; ``refused`` also holds what the roster itself refused."""

    created: int = 0
    existed: int = 0
    faces: int = 0
    skipped: int = 0
    failed: int = 0
    retries: int = 0
    retried: Counter[str] = field(default_factory=Counter)  # why requests were sent again
    refused: list[Refusal] = field(default_factory=list)
    failures: list[Refusal] = field(default_factory=list)
    enroll_seconds: list[float] = field(default_factory=list)

    def rows(self) -> list[dict[str, object]]:
        """The summary table: one row per kind of result."""
        rows: list[dict[str, object]] = [
            {"result": "employees created", "count": self.created},
            {"result": "employees already there", "count": self.existed},
            {"result": "faces added", "count": self.faces},
            {"result": "skipped as done", "count": self.skipped},
        ]
        for kind, count in sorted(Counter(refusal_kind(r.reason) for r in self.refused).items()):
            rows.append({"result": f"refused: {kind}", "count": count})
        rows.append({"result": "failed transiently (rerun)", "count": self.failed})
        rows.append({"result": "requests retried", "count": self.retries})
        return rows

    @property
    def ok(self) -> bool:
        return not self.refused and not self.failed


def refusal_kind(reason: str) -> str:
    """A refusal's reason without its particulars (counts, sizes, ids: they are in the CSV),
    so the summary has one row per kind: "N faces in the photo", "face too small"."""
    head = reason.split(":", 1)[0].split("(", 1)[0]
    return re.sub(r"\S*\d\S*", "N", head).strip()


class Importer:
    """Carries out a plan with ``workers`` threads sharing one ``ApiClient``."""

    def __init__(
        self,
        client: ApiClient,
        photos: Path,
        journal: Journal,
        done: JournalState,
        *,
        workers: int = 8,
        progress: Callable[[int], None] = lambda _: None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client, self._photos, self._journal, self._done = client, photos, journal, done
        self._workers, self._progress, self._sleep = workers, progress, sleep
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.outcome = Outcome()

    def run(self, plan: Plan) -> Outcome:
        """Import every person of ``plan``; an unexpected error stops the run and is raised."""
        self.outcome.refused.extend(plan.refused)
        with ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="import") as pool:
            futures = [pool.submit(self._guarded, person) for person in plan.people]
            try:
                for future in as_completed(futures):
                    future.result()
            except BaseException:
                self._stop.set()  # running tasks end after their current step
                for future in futures:
                    future.cancel()
                raise
        return self.outcome

    def _guarded(self, person: Person) -> None:
        try:
            self._person(person)
        except BaseException:
            self._stop.set()  # before this thread takes the next person
            raise

    def _person(self, person: Person) -> None:
        if self._stop.is_set():
            return
        created = self._employee(person)
        if created is None or (person.consent is not None and not self._consent(person, created)):
            return
        todo = []
        for name in person.photos:
            data = (self._photos / name).read_bytes()
            sha = hashlib.sha256(data).hexdigest()
            if (person.employee_id, sha) in self._done.photos:
                self._count("skipped")
            else:
                todo.append((name, sha, data))
        mine: set[str] = set()  # the faces this run enrolled for the employee
        for name, sha, data in todo:
            if self._stop.is_set():
                return
            # An employee this run created has only our faces: no need to ask.
            before = set(mine) if created else self._server_faces(person.employee_id)
            if before is None:
                entry = {"step": "photo", "employee_id": person.employee_id, "photo": name, "sha256": sha}
                self._failed(person, name, "the employee's faces could not be listed", entry=entry)
                continue
            self._photo(person, name, sha, data, before, mine)

    def _employee(self, person: Person) -> bool | None:
        """Create the employee unless done: True when this run created it, False when it
        was there already, None when its photos cannot go ahead."""
        employee_id = person.employee_id
        if employee_id in self._done.employees:
            self._count("skipped")
            return False
        try:
            self._call("POST", "/employees", person.body())
            outcome = "created"
        except ApiError as error:
            # 409 is "exists" unless the id is an erasure's tombstone (the API names the job):
            # that employee is being erased, not enrolled, and their photos must not follow.
            erasing = isinstance(error.body, dict) and "erasure_job_id" in error.body
            if error.status != 409 or erasing:
                self._refuse(person, "", error.message, step="employee")
                return None
            outcome = "exists"  # left as it is: the roster does not overwrite the directory
        except Transient as error:
            self._failed(person, "", str(error), step="employee")
            return None
        self._journal.append(step="employee", employee_id=employee_id, outcome=outcome)
        self._count("created" if outcome == "created" else "existed")
        return outcome == "created"

    def _consent(self, person: Person, created: bool) -> bool:
        """Record the row's consent unless the employee has a current one (a resumed run, a
        second roster); False when refused or failed (its photos are not sent: each would be
        refused for want of it). An employee this run created has none yet (a consent covers
        one creation of an id), so it is recorded without asking."""
        assert person.consent is not None
        path = f"/employees/{segment(person.employee_id)}/consent"
        method, reference = person.consent
        try:
            if created or not self._call("GET", path).get("current"):
                self._call("PUT", path, {"method": method, "reference": reference})
        except ApiError as error:
            self._refuse(person, "", f"consent: {error.message}", step="consent")
            return False
        except Transient as error:
            self._failed(person, "", f"consent: {error}", step="consent")
            return False
        self._journal.append(step="consent", employee_id=person.employee_id, outcome="current")
        return True

    def _photo(
        self, person: Person, name: str, sha: str, data: bytes, before: set[str], mine: set[str]
    ) -> None:
        """Enroll one photo; ``before``: the employee's faces on the server now."""
        employee_id, key = person.employee_id, (person.employee_id, sha)
        entry = {"step": "photo", "employee_id": employee_id, "photo": name, "sha256": sha}
        orphan = self._orphan(employee_id, key, before) if key in self._done.pending else None
        if orphan is not None:  # an earlier run's request landed; the journal never heard
            self._enrolled(entry, orphan, mine, recovered=True)
            return
        self._journal.append(**entry, outcome="started", before=sorted(before))
        body = {"image": base64.b64encode(data).decode()}
        started = time.monotonic()
        try:
            path = f"/employees/{segment(employee_id)}/faces"
            record = self._call("POST", path, body, recheck=(employee_id, before))
        except ApiError as error:
            self._refuse(person, name, error.message, entry=entry)
            return
        except Transient as error:
            self._failed(person, name, str(error), entry=entry)
            return
        with self._lock:
            self.outcome.enroll_seconds.append(time.monotonic() - started)
        self._enrolled(entry, str(record["face_id"]), mine, recovered="recovered" in record)

    def _enrolled(self, entry: dict[str, str], face_id: str, mine: set[str], recovered: bool) -> None:
        mine.add(face_id)
        with self._lock:
            self._done.photos[(entry["employee_id"], entry["sha256"])] = face_id
        extra = {"recovered": True} if recovered else {}
        self._journal.append(**entry, outcome="enrolled", face_id=face_id, **extra)
        self._count("faces")

    def _orphan(self, employee_id: str, key: tuple[str, str], now: set[str]) -> str | None:
        """A face that appeared since the unfinished enrollment ``key`` was sent and that no
        journal line accounts for; None when its ``started`` line recorded no ``before``."""
        before = self._done.pending.get(key)
        if before is None:
            return None
        unknown = sorted(now - before - self._done.face_ids(employee_id))
        return unknown[0] if unknown else None

    def _server_faces(self, employee_id: str) -> set[str] | None:
        try:
            answer = self._call("GET", f"/employees/{segment(employee_id)}/faces")
        except (ApiError, Transient):
            return None
        return {str(face["face_id"]) for face in answer.get("items", [])}

    def _call(
        self, method: str, path: str, body: object = None, recheck: tuple[str, set[str]] | None = None
    ) -> Any:
        """The request, retried on transient failures; ``Transient`` when it never got through.

        ``recheck`` (an enrollment): before sending again, list the employee's faces; a new
        one means the failed attempt did enroll, and is returned instead of enrolling twice.
        """
        for attempt in range(ATTEMPTS):
            try:
                return self._client.request(method, path, body=body)
            except ApiError as error:
                if error.status < 500 and error.status != 429:
                    raise
                problem = f"{error.status}: {error.message}"
            except TRANSIENT_ERRORS as error:
                problem = f"{type(error).__name__}: {error}"
            if attempt == ATTEMPTS - 1:
                break
            with self._lock:
                self.outcome.retries += 1
                self.outcome.retried[problem] += 1
            self._sleep(BACKOFF_SECONDS * 2**attempt * random.uniform(0.5, 1.5))
            if recheck is not None:
                employee_id, known = recheck
                now = self._server_faces(employee_id)
                new = sorted((now or set()) - known)
                if new:
                    return {"face_id": new[0], "recovered": True}
        raise Transient(problem)

    def _refuse(
        self, person: Person, photo: str, reason: str, step: str = "photo", entry: Any = None
    ) -> None:
        line = entry or {"step": step, "employee_id": person.employee_id}
        self._journal.append(**line, outcome="refused", reason=reason)
        with self._lock:
            self.outcome.refused.append(Refusal(person.line, person.employee_id, photo, reason))
        self._progress(1 + (len(person.photos) if step in ("employee", "consent") else 0))

    def _failed(
        self, person: Person, photo: str, reason: str, step: str = "photo", entry: Any = None
    ) -> None:
        line = entry or {"step": step, "employee_id": person.employee_id}
        self._journal.append(**line, outcome="failed", reason=reason)
        with self._lock:
            self.outcome.failed += 1
            self.outcome.failures.append(Refusal(person.line, person.employee_id, photo, f"failed: {reason}"))
        self._progress(1 + (len(person.photos) if step in ("employee", "consent") else 0))

    def _count(self, what: str) -> None:
        with self._lock:
            setattr(self.outcome, what, getattr(self.outcome, what) + 1)
        self._progress(1)
