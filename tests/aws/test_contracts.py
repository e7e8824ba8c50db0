"""One contract per port, run against the in-memory fake and the DynamoDB adapter (moto)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from chalicelib import wiring
from chalicelib.access.documents import door_from, group_from, holiday_from, rule_from
from chalicelib.access.policy import (
    DEFAULT_RULE,
    AccessEntry,
    AccessGroup,
    AccessKey,
    Door,
    Effect,
    Lockdown,
    Rule,
    entry_key,
)
from chalicelib.access.ports import MAX_ACCESS_CHANGES, AccessStore
from chalicelib.aws.access import DynamoAccessStore
from chalicelib.aws.employees import DynamoEmployeeDirectory
from chalicelib.aws.erasures import DynamoErasureJobs
from chalicelib.aws.faces import DynamoFaceStore
from chalicelib.aws.scans import DynamoScanLog, scan_item
from chalicelib.core.errors import InvalidAccessDocument, NotFound
from chalicelib.core.models import BoundingBox, Decision, Employee, ErasureJob, Reason, Scan, Status
from chalicelib.core.ports import (
    DoorQueues,
    EmployeeDirectory,
    ErasureJobs,
    HealthJobs,
    Recorded,
    ScanLog,
    StoredFace,
)
from sandbox.stack import Stack
from tests.fakes import (
    InMemoryAccessStore,
    InMemoryDoorQueues,
    InMemoryEmployeeDirectory,
    InMemoryErasureJobs,
    InMemoryFaceStore,
    InMemoryHealthJobs,
    InMemoryScanLog,
)

Factory = Callable[[], object]


def _dynamo(kind: str) -> Callable[[Stack], object]:
    def build(stack: Stack) -> object:
        settings = stack.settings
        factories: dict[str, Factory] = {
            "scans": lambda: DynamoScanLog(wiring.table(settings.scans_table), settings.employees_table),
            "faces": lambda: DynamoFaceStore(wiring.table(settings.faces_table)),
            "employees": lambda: DynamoEmployeeDirectory(wiring.table(settings.employees_table)),
            "access": lambda: DynamoAccessStore(wiring.table(settings.access_table)),
        }
        return factories[kind]()

    return build


def adapter(request: pytest.FixtureRequest, fake: Factory, kind: str) -> object:
    if request.param == "in-memory":
        return fake()
    return _dynamo(kind)(request.getfixturevalue("stack"))


@pytest.fixture(params=["in-memory", "dynamodb"])
def scans_and_directory(request: pytest.FixtureRequest) -> tuple[ScanLog, EmployeeDirectory]:
    """A scan log and the directory its guard checks, both fakes or both DynamoDB."""
    if request.param == "in-memory":
        directory = InMemoryEmployeeDirectory()
        return InMemoryScanLog(directory), directory
    stack = request.getfixturevalue("stack")
    return _dynamo("scans")(stack), _dynamo("employees")(stack)  # type: ignore[return-value]


@pytest.fixture
def scan_log(scans_and_directory: tuple[ScanLog, EmployeeDirectory]) -> ScanLog:
    scan_log, directory = scans_and_directory
    directory.put(Employee("EMP001", "José Ñúñez <b>"))
    return scan_log


@pytest.fixture(params=["in-memory", "dynamodb"])
def face_store(request: pytest.FixtureRequest) -> InMemoryFaceStore:
    return adapter(request, InMemoryFaceStore, "faces")  # type: ignore[return-value]


@pytest.fixture(params=["in-memory", "dynamodb"])
def directory(request: pytest.FixtureRequest) -> EmployeeDirectory:
    return adapter(request, InMemoryEmployeeDirectory, "employees")  # type: ignore[return-value]


@pytest.fixture(params=["in-memory", "dynamodb"])
def access_store(request: pytest.FixtureRequest) -> AccessStore:
    return adapter(request, InMemoryAccessStore, "access")  # type: ignore[return-value]


def a_scan(scan_id: str = "s1", **decision: object) -> Scan:
    fields: dict[str, object] = {
        "status": Status.AUTHORIZED,
        "employee_id": "EMP001",
        "employee_name": "José Ñúñez <b>",
        "similarity": 91.25,
        "faces_in_frame": 1,
        "face_box": BoundingBox(1, 2, 300, 310),
        **decision,
    }
    return Scan(
        scan_id=scan_id,
        camera_id="front-door",
        object_key="incoming/front-door/a b.jpg",
        object_version="v1",
        captured_at="2026-03-08T14:29:59.500Z",
        processed_at="2026-03-08T14:30:00.100Z",
        day="2026-03-08",
        decision=Decision(**fields),  # type: ignore[arg-type]
        engine="local",
        expires_at=1775619000,
    )


class TestScanLogContract:
    def test_a_recorded_scan_reads_back_whole(self, scan_log: ScanLog) -> None:
        scan = a_scan()
        assert scan_log.record(scan) is Recorded.WRITTEN
        assert scan_log.get("s1") == scan

    def test_an_unmatched_scan_reads_back_with_its_empty_fields(self, scan_log: ScanLog) -> None:
        scan = a_scan(
            "s2",
            status=Status.REJECTED,
            employee_id=None,
            employee_name=None,
            similarity=None,
            faces_in_frame=0,
            face_box=None,
            reason="empty file",
            reason_code=Reason.UNUSABLE_IMAGE,
        )
        scan_log.record(scan)
        assert scan_log.get("s2") == scan

    def test_the_second_write_of_a_scan_id_is_refused(self, scan_log: ScanLog) -> None:
        assert scan_log.record(a_scan()) is Recorded.WRITTEN
        assert scan_log.record(a_scan(status=Status.ERROR)) is Recorded.DUPLICATE
        recorded = scan_log.get("s1")
        assert recorded is not None and recorded.status is Status.AUTHORIZED

    def test_a_scan_naming_an_employee_being_erased_is_refused(
        self, scans_and_directory: tuple[ScanLog, EmployeeDirectory]
    ) -> None:
        scan_log, directory = scans_and_directory
        directory.put(Employee("EMP001", "Jane"))
        directory.begin_erasure("EMP001", "job-1")
        assert scan_log.record(a_scan()) is Recorded.EMPLOYEE_GONE
        assert scan_log.get("s1") is None
        assert scan_log.record(a_scan(employee_id=None, employee_name=None)) is Recorded.WRITTEN

    def test_a_scan_naming_an_employee_without_a_record_is_refused(
        self, scans_and_directory: tuple[ScanLog, EmployeeDirectory]
    ) -> None:
        scan_log, _ = scans_and_directory
        assert scan_log.record(a_scan(employee_id="EMP404")) is Recorded.EMPLOYEE_GONE

    def test_a_duplicate_is_reported_as_such_even_for_an_erased_employee(
        self, scans_and_directory: tuple[ScanLog, EmployeeDirectory]
    ) -> None:
        scan_log, directory = scans_and_directory
        directory.put(Employee("EMP001", "Jane"))
        assert scan_log.record(a_scan()) is Recorded.WRITTEN
        directory.delete("EMP001")
        assert scan_log.record(a_scan()) is Recorded.DUPLICATE

    def test_missing_scan_is_none(self, scan_log: ScanLog) -> None:
        assert scan_log.get("nope") is None

    def test_notification_state_moves_only_from_the_expected_state(self, scan_log: ScanLog) -> None:
        scan_log.record(a_scan())
        assert scan_log.set_notification("s1", "FAILED", expected="PENDING") is True
        assert scan_log.set_notification("s1", "SENT", expected="PENDING") is False
        recorded = scan_log.get("s1")
        assert recorded is not None and recorded.notification == "FAILED"


def stored(employee_id: str, face_id: str, value: float = 0.5) -> StoredFace:
    import struct

    return StoredFace(
        employee_id, face_id, struct.pack("<128f", *([value] * 128)), "2026-03-08T00:00:00+00:00"
    )


class TestFaceStoreContract:
    def test_put_faces_load_back_with_their_bytes(self, face_store: InMemoryFaceStore) -> None:
        face_store.put(stored("EMP001", "f1", 0.25))
        face_store.put(stored("EMP001", "f2"))
        face_store.put(stored("EMP002", "f3"))
        loaded = sorted(face_store.load(), key=lambda f: f.face_id)
        assert [(f.employee_id, f.face_id) for f in loaded] == [
            ("EMP001", "f1"),
            ("EMP001", "f2"),
            ("EMP002", "f3"),
        ]
        assert loaded[0] == stored("EMP001", "f1", 0.25)

    def test_every_change_is_logged_in_order_and_moves_the_heads(self, face_store: InMemoryFaceStore) -> None:
        start = face_store.heads()
        face_store.put(stored("EMP001", "f1"))
        face_store.put(stored("EMP002", "f2"))
        face_store.put(stored("EMP001", "f3"))
        face_store.delete("EMP001", ["f1"])
        heads = face_store.heads()
        assert face_store.heads() == heads != start  # reading does not move them
        assert sum(heads) - sum(start) == 4
        changes = face_store.changes(start, heads)
        assert changes is not None
        mine = [(c.face_ids, c.added) for c in changes if c.employee_id == "EMP001"]
        assert mine == [(("f1",), True), (("f3",), True), (("f1",), False)]  # in order
        assert [(c.face_ids, c.added) for c in changes if c.employee_id == "EMP002"] == [(("f2",), True)]
        assert face_store.changes(heads, heads) == []

    def test_the_log_cannot_go_back(self, face_store: InMemoryFaceStore) -> None:
        start = face_store.heads()
        face_store.put(stored("EMP001", "f1"))
        assert face_store.changes(face_store.heads(), start) is None

    def test_faces_of_returns_the_faces_that_still_exist(self, face_store: InMemoryFaceStore) -> None:
        face_store.put(stored("EMP001", "f1", 0.25))
        face_store.put(stored("EMP001", "f2"))
        face_store.delete("EMP001", ["f2"])
        assert face_store.faces_of([("EMP001", "f1"), ("EMP001", "f2"), ("EMP009", "f1")]) == [
            stored("EMP001", "f1", 0.25)
        ]

    def test_a_delete_of_nothing_logs_nothing(self, face_store: InMemoryFaceStore) -> None:
        heads = face_store.heads()
        assert face_store.delete("EMP404") == []
        assert face_store.heads() == heads

    def test_delete_all_faces_of_one_employee(self, face_store: InMemoryFaceStore) -> None:
        for face_id in ("f1", "f2"):
            face_store.put(stored("EMP001", face_id))
        face_store.put(stored("EMP002", "f3"))
        assert sorted(face_store.delete("EMP001")) == ["f1", "f2"]
        assert [f.face_id for f in face_store.load()] == ["f3"]

    def test_delete_chosen_faces(self, face_store: InMemoryFaceStore) -> None:
        for face_id in ("f1", "f2"):
            face_store.put(stored("EMP001", face_id))
        face_store.delete("EMP001", ["f2"])
        assert [f.face_id for f in face_store.load()] == ["f1"]


class TestEmployeeDirectoryContract:
    def test_put_and_get(self, directory: EmployeeDirectory) -> None:
        employee = Employee(
            "EMP001", "Zoë O'Brien <script>", active=False, email="z@example.com", department="R&D"
        )
        directory.put(employee)
        assert directory.get("EMP001") == employee

    def test_optional_fields_stay_empty(self, directory: EmployeeDirectory) -> None:
        directory.put(Employee("EMP002", "Jordan Lee"))
        assert directory.get("EMP002") == Employee("EMP002", "Jordan Lee")

    def test_look_alikes_are_kept_per_side_and_listed_as_mutual_pairs(
        self, directory: EmployeeDirectory
    ) -> None:
        for employee_id in ("ANN", "BEA", "CAL"):
            directory.put(Employee(employee_id, employee_id.title()))
        assert directory.set_lookalike("ANN", "BEA", True) and directory.set_lookalike("ANN", "CAL", True)
        assert directory.lookalike_pairs() == []  # one side each: no pair yet
        assert directory.set_lookalike("BEA", "ANN", True)
        assert directory.lookalikes("ANN") == frozenset({"BEA", "CAL"})
        assert directory.lookalike_pairs() == [("ANN", "BEA")]
        assert directory.get("ANN") == Employee("ANN", "Ann")  # nothing else of the record changed
        assert directory.set_lookalike("ANN", "BEA", False) and directory.lookalike_pairs() == []
        assert not directory.set_lookalike("NOBODY", "ANN", True)
        assert directory.lookalikes("NOBODY") == frozenset()

    def test_unknown_employee_is_none(self, directory: EmployeeDirectory) -> None:
        assert directory.get("EMP404") is None

    def test_an_employee_being_erased_reads_as_absent_and_cannot_be_rewritten(
        self, directory: EmployeeDirectory
    ) -> None:
        directory.put(Employee("EMP001", "Quinn Zebedee"))
        directory.put(Employee("EMP002", "Jordan Lee"))
        assert directory.begin_erasure("EMP001", "job-1") == "job-1"
        assert directory.begin_erasure("EMP001", "job-2") == "job-1"  # the running job
        assert directory.begin_erasure("EMP404", "job-3") is None
        assert directory.get("EMP001") is None
        assert [e.employee_id for e in directory.listing(10).items] == ["EMP002"]
        with pytest.raises(NotFound):  # a PATCH that read them before would drop the mark
            directory.put(Employee("EMP001", "Quinn Zebedee", active=True))
        assert directory.begin_erasure("EMP001", "job-4") == "job-1"
        # the tombstone: the marked record refuses a create and names its job
        assert directory.erasure_of("EMP001") == "job-1" and directory.erasure_of("EMP002") is None
        assert not directory.create(Employee("EMP001", "Someone New"))
        assert directory.erasure_of("EMP404") is None
        assert directory.end_erasure("EMP001", "job-1")
        assert directory.erasure_of("EMP001") is None
        assert directory.begin_erasure("EMP001", "job-5") is None

    def test_the_creation_instant_is_stored_by_create_and_never_moved_by_a_put(
        self, directory: EmployeeDirectory
    ) -> None:
        assert directory.create(Employee("EMP001", "Quinn Zebedee", created_at="2026-01-05T12:00:00.000Z"))
        directory.put(Employee("EMP001", "Quinn Z.", created_at="2020-01-01T00:00:00.000Z"))
        directory.put(Employee("EMP001", "Quinn Z."))
        stored = directory.get("EMP001")
        assert stored == Employee("EMP001", "Quinn Z.")
        assert stored is not None and stored.created_at == "2026-01-05T12:00:00.000Z"

    def test_present_names_the_ids_with_an_unmarked_record_in_batches(
        self, directory: EmployeeDirectory
    ) -> None:
        ids = [f"E{n:03d}" for n in range(101)]  # more than one BatchGetItem holds
        for employee_id in ids:
            directory.put(Employee(employee_id, "Someone"))
        directory.begin_erasure("E007", "job-1")
        assert directory.present([*ids, "E404", "E001"]) == frozenset(ids) - {"E007"}
        assert directory.present([]) == frozenset()

    def test_an_erasure_ends_only_on_the_record_its_job_marked(self, directory: EmployeeDirectory) -> None:
        directory.put(Employee("EMP001", "Quinn Zebedee"))
        assert not directory.end_erasure("EMP001", "job-1")  # not marked: someone new's, kept
        assert directory.begin_erasure("EMP001", "job-1") == "job-1"
        assert not directory.end_erasure("EMP001", "job-2")  # another job's mark
        assert directory.erasure_of("EMP001") == "job-1"
        directory.delete("EMP001")  # a drop undoing its create: the tombstone stays
        assert directory.erasure_of("EMP001") == "job-1"
        assert directory.end_erasure("EMP001", "job-1")
        assert directory.erasure_of("EMP001") is None and directory.create(Employee("EMP001", "New"))
        assert not directory.end_erasure("EMP001", "job-1") and directory.get("EMP001") is not None
        assert not directory.end_erasure("EMP404", "job-1")

    def test_the_retention_clocks_start_once_move_forward_and_survive_a_stale_put(
        self, directory: EmployeeDirectory
    ) -> None:
        directory.put(Employee("EMP001", "Quinn Zebedee"))
        assert directory.stamp("EMP001", "enrolled_at", "2026-01-05T12:00:00.000Z")
        assert not directory.stamp("EMP001", "enrolled_at", "2026-02-05T12:00:00.000Z")  # the first face's
        assert directory.stamp("EMP001", "last_seen", "2026-02-01T08:00:00.000Z")
        read_before = directory.get("EMP001")  # a PATCH reads here, then the sweep moves last_seen
        assert directory.stamp("EMP001", "last_seen", "2026-03-01T08:00:00.000Z")
        assert not directory.stamp("EMP001", "last_seen", "2026-02-15T08:00:00.000Z")  # never backwards
        assert not directory.stamp("EMP001", "inactive_since", "2026-03-02T08:00:00.000Z")  # active
        assert read_before is not None
        directory.put(replace(read_before, active=False, inactive_since="2026-03-03T08:00:00.000Z"))
        assert directory.get("EMP001") == Employee(
            "EMP001",
            "Quinn Zebedee",
            active=False,
            inactive_since="2026-03-03T08:00:00.000Z",
            enrolled_at="2026-01-05T12:00:00.000Z",  # a put of a record read before keeps the clocks
            last_seen="2026-03-01T08:00:00.000Z",
        )
        directory.put(Employee("EMP001", "Quinn Zebedee", active=True))  # reactivated: cleared
        assert directory.get("EMP001").inactive_since is None  # type: ignore[union-attr]
        assert not directory.stamp("EMP404", "last_seen", "2026-03-01T08:00:00.000Z")
        assert directory.get("EMP404") is None  # a stamp never creates an employee
        directory.begin_erasure("EMP001", "job-1")
        assert not directory.stamp("EMP001", "last_seen", "2026-03-09T08:00:00.000Z")


FRONT = door_from("front", {"name": "Front door", "cameras": ["front-door", "lobby-2"]})
STAFF = group_from("staff", {"name": "Staff", "description": "Everyone on the payroll"})
NIGHT_SHIFT = rule_from(
    "night-shift",
    {
        "effect": "GRANT",
        "doors": ["front"],
        "schedule": [{"days": ["mon", "tue"], "start": "22:00", "end": "06:00"}],
        "groups": ["staff"],
        "employees": ["EMP007"],
        "valid_from": "2026-03-01",
        "valid_until": "2026-03-31",
        "description": "Zoë's temporary pass <b>",
    },
)
CLOSED = holiday_from("2026-12-25", {"name": "Christmas", "doors": ["front"], "groups": ["security"]})
EVERY_KIND: tuple[AccessEntry, ...] = (FRONT, STAFF, NIGHT_SHIFT, DEFAULT_RULE, CLOSED)


class TestAccessStoreContract:
    def test_a_store_never_written_has_the_empty_version_and_loads_pristine(
        self, access_store: AccessStore
    ) -> None:
        assert access_store.version() == ""
        snapshot = access_store.load()
        assert snapshot.version == "" and snapshot.pristine
        assert (snapshot.doors, snapshot.groups, snapshot.rules, snapshot.holidays) == ((), (), (), ())

    def test_the_first_commit_expects_the_empty_version(self, access_store: AccessStore) -> None:
        assert access_store.commit("a-version-nobody-wrote", put=[FRONT]) is False
        assert access_store.version() == "" and access_store.load().doors == ()
        assert access_store.commit("", put=[FRONT]) is True
        assert access_store.version() != ""
        assert access_store.commit("", put=[STAFF]) is False  # written since: "" is stale now
        assert access_store.load().groups == ()

    def test_every_kind_loads_back_as_put_with_the_version_it_was_read_at(
        self, access_store: AccessStore
    ) -> None:
        assert access_store.commit("", put=EVERY_KIND)
        snapshot = access_store.load()
        assert snapshot.version == access_store.version()
        assert snapshot.doors == (FRONT,) and snapshot.groups == (STAFF,)
        assert snapshot.rules == (DEFAULT_RULE, NIGHT_SHIFT)  # by id, as every load lists them
        assert snapshot.holidays == (CLOSED,)
        assert not snapshot.pristine

    def test_a_lockdown_loads_back_as_put_and_goes_like_any_entry(self, access_store: AccessStore) -> None:
        lockdown = Lockdown(
            "front-door", "2026-03-10T13:02:11.250Z", "sandbox-security", "intruder — «lobby»"
        )
        assert access_store.commit("", put=[lockdown, DEFAULT_RULE])
        snapshot = access_store.load()
        assert snapshot.lockdowns == (lockdown,) and not snapshot.pristine
        assert snapshot.policy("UTC").lockdown_of("front-door") == lockdown
        assert snapshot.policy("UTC").lockdown_of("server-room") is None
        assert access_store.commit(snapshot.version, delete=[entry_key(lockdown)])
        assert access_store.load().lockdowns == ()

    def test_a_commit_with_the_version_read_replaces_deletes_and_moves_the_version(
        self, access_store: AccessStore
    ) -> None:
        assert access_store.commit("", put=EVERY_KIND)
        first = access_store.version()
        renamed = Door("front", "Main entrance", frozenset({"front-door"}))
        assert access_store.commit(first, put=[renamed], delete=[entry_key(NIGHT_SHIFT), ("door", "absent")])
        second = access_store.version()
        assert second not in ("", first)
        snapshot = access_store.load()
        assert snapshot.version == second
        assert snapshot.doors == (renamed,) and snapshot.rules == (DEFAULT_RULE,)
        assert access_store.version() == second  # reading does not move it

    def test_a_stale_commit_writes_nothing(self, access_store: AccessStore) -> None:
        assert access_store.commit("", put=[FRONT, STAFF])
        read = access_store.version()
        assert access_store.commit(read, delete=[entry_key(STAFF)])  # another writer, first
        moved = access_store.version()
        assert access_store.commit(read, put=[NIGHT_SHIFT], delete=[entry_key(FRONT)]) is False
        snapshot = access_store.load()
        assert snapshot.version == moved
        assert (snapshot.doors, snapshot.groups, snapshot.rules) == ((FRONT,), (), ())

    def test_a_key_both_put_and_deleted_is_put(self, access_store: AccessStore) -> None:
        assert access_store.commit("", put=[STAFF], delete=[entry_key(STAFF)])
        assert access_store.load().groups == (STAFF,)

    def test_more_changes_than_one_atomic_write_holds_are_refused_whole(
        self, access_store: AccessStore
    ) -> None:
        groups = [AccessGroup(f"group-{n:03}", f"Group {n}") for n in range(MAX_ACCESS_CHANGES)]
        extra: list[AccessKey] = [("door", "one-too-many")]
        with pytest.raises(ValueError, match=str(MAX_ACCESS_CHANGES)):
            access_store.commit("", put=groups, delete=extra)
        assert access_store.version() == ""
        assert access_store.commit("", put=groups)
        assert len(access_store.load().groups) == MAX_ACCESS_CHANGES

    def test_an_entry_that_would_not_read_back_is_refused_whole(self, access_store: AccessStore) -> None:
        naming_no_one = Rule("nobody", Effect.GRANT, frozenset({"front"}))  # no groups, no employees
        with pytest.raises(InvalidAccessDocument, match="groups or employees"):
            access_store.commit("", put=[FRONT, naming_no_one])
        assert access_store.version() == "" and access_store.load().doors == ()


class TestScanLogErasureContract:
    def test_a_deleted_scan_is_gone(self, scan_log: ScanLog) -> None:
        scan_log.record(a_scan("s1"))
        scan_log.record(a_scan("s2"))
        scan_log.delete("s1")
        scan_log.delete("s1")  # again: nothing to do
        assert scan_log.get("s1") is None and scan_log.get("s2") is not None
        assert [s.scan_id for s in scan_log.by_employee("EMP001", 10).items] == ["s2"]

    def test_an_anonymised_scan_reads_back_erased_and_without_its_employee(self, scan_log: ScanLog) -> None:
        scan_log.record(a_scan("s1"))
        assert scan_log.get("s1").erased is False  # type: ignore[union-attr]
        scan_log.anonymise("s1")
        anonymised = scan_log.get("s1")
        assert anonymised is not None and anonymised.erased and anonymised.photo_erased
        assert (anonymised.decision.employee_id, anonymised.decision.employee_name) == (None, None)


def test_the_scans_adapter_filters_on_the_pipelines_reason_code(stack: Stack) -> None:
    # Written as the lead's pipeline records a scan its erasure guard stopped.
    table = wiring.table(stack.settings.scans_table)
    scans = DynamoScanLog(table)
    scans.record(a_scan("s1", status=Status.UNKNOWN, employee_id=None, employee_name=None))
    item = {**scan_item(a_scan("s2", status=Status.UNKNOWN, employee_id=None, employee_name=None))}
    table.put_item(Item={**item, "reason_code": "EMPLOYEE_ERASED"})
    page = scans.by_day("2026-03-08", 10, status="UNKNOWN", reason_code="EMPLOYEE_ERASED")
    assert [scan.scan_id for scan in page.items] == ["s2"]


@pytest.fixture(params=["in-memory", "dynamodb"])
def erasure_jobs(request: pytest.FixtureRequest) -> ErasureJobs:
    if request.param == "in-memory":
        return InMemoryErasureJobs()
    stack = request.getfixturevalue("stack")
    return DynamoErasureJobs(wiring.table(stack.settings.audit_table))


def test_erasure_jobs_keep_their_progress(erasure_jobs: ErasureJobs) -> None:
    job = ErasureJob("a" * 32, "EMP001", "admin", "2026-03-08T14:30:00.000Z", updated_at="x")
    assert erasure_jobs.create(job) is True
    assert erasure_jobs.create(job) is False
    job.state, job.days_total, job.found, job.faces_removed = "RUNNING", 33, ["s1", "s2"], 0
    job.search_token, job.photos_unreadable = "o25", 1
    erasure_jobs.save(job)
    assert erasure_jobs.get("a" * 32) == job
    job.state, job.found, job.result = "DONE", [], {"unlinked_photos_found": 2, "faces_removed": 0}
    erasure_jobs.save(job)
    assert erasure_jobs.get("a" * 32) == job
    assert erasure_jobs.get("b" * 32) is None


@pytest.fixture(params=["in-memory", "dynamodb"])
def health_jobs(request: pytest.FixtureRequest) -> HealthJobs:
    if request.param == "in-memory":
        return InMemoryHealthJobs()
    from chalicelib.aws.health_jobs import DynamoHealthJobs

    stack = request.getfixturevalue("stack")
    return DynamoHealthJobs(wiring.table(stack.settings.audit_table))


def test_health_jobs_keep_one_latest_and_save_only_over_the_progress_read(health_jobs: HealthJobs) -> None:
    from chalicelib.core.health_jobs import HealthJob
    from chalicelib.core.models import OutlierFace

    first = HealthJob("a" * 32, "admin", "2026-03-08T14:30:00.000Z", updated_at="x")
    assert health_jobs.latest_id() is None
    assert health_jobs.create(first, after="c" * 32) is False  # there is no such latest
    assert health_jobs.create(first, after=None) is True
    assert health_jobs.create(HealthJob("b" * 32, "admin", "t"), after=None) is False  # a racing start
    assert health_jobs.latest_id() == "a" * 32
    first.state, first.faces_total, first.faces_done = "RUNNING", 10, 4
    first.pairs, first.outliers = [("E1", "E2", 91.25)], [OutlierFace("E1", "f1", 40.5)]
    assert health_jobs.save(first, faces_done=0) is True
    assert health_jobs.save(first, faces_done=0) is False  # another run moved it meanwhile
    assert health_jobs.get("a" * 32) == first
    second = HealthJob("b" * 32, "admin", "t")
    assert health_jobs.create(second, after="a" * 32) is True
    assert health_jobs.latest_id() == "b" * 32 and health_jobs.get("a" * 32) == first  # still readable
    assert health_jobs.get("d" * 32) is None


@pytest.fixture(params=["in-memory", "sqs"])
def door_queues(request: pytest.FixtureRequest) -> tuple[DoorQueues, Callable[[str], list[str]]]:
    """The port, and how a test reads what one door's queue received."""
    if request.param == "in-memory":
        fake = InMemoryDoorQueues("front-door")
        return fake, lambda door: fake.received[door]
    from chalicelib.aws.door_queues import SqsDoorQueues
    from sandbox.door import door_queue

    stack: Stack = request.getfixturevalue("stack")
    sqs = stack.session.client("sqs")

    def received(door: str) -> list[str]:
        messages = sqs.receive_message(QueueUrl=door_queue(stack, door), MaxNumberOfMessages=10)
        return [message["Body"] for message in messages.get("Messages", [])]

    return SqsDoorQueues(wiring.client("sqs"), stack.settings.stage), received


def test_door_queues_send_to_a_door_with_a_queue_and_refuse_one_without(
    door_queues: tuple[DoorQueues, Callable[[str], list[str]]],
) -> None:
    queues, received = door_queues
    queues.send(queues.address("front-door"), '{"command": {"door_id": "front-door"}}')
    assert received("front-door") == ['{"command": {"door_id": "front-door"}}']
    with pytest.raises(NotFound, match=r"^door side-door has no queue: make door-add DOOR=side-door$"):
        queues.address("side-door")
