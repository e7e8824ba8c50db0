"""Every DynamoDB answer chalicelib acts on is checked: an unreadable one is an error.

botocore turns a body it cannot parse into ``{"message": <body>}``, which reads as "no
item", "written" or "last page". ``dynamo.call`` asks for ConsumedCapacity and requires it;
these tests hold every call site to it: statically (no DynamoDB method is called any
other way) and against moto (a genuine answer passes, a garbage one raises).
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.access.policy import Door
from chalicelib.aws.access import DynamoAccessStore
from chalicelib.aws.audit import DynamoAuditLog
from chalicelib.aws.consent import DynamoConsentLedger
from chalicelib.aws.employees import DynamoEmployeeDirectory
from chalicelib.aws.erasures import DynamoErasureJobs
from chalicelib.aws.faces import SHARDS, DynamoFaceStore, shard_of
from chalicelib.aws.gallery_snapshots import S3GallerySnapshots
from chalicelib.aws.ledger import DynamoReportLedger
from chalicelib.aws.scans import DynamoScanLog
from chalicelib.core.config import Settings
from chalicelib.core.errors import MalformedResponse
from chalicelib.core.models import AuditEntry, ConsentRecord, Employee, ErasureJob
from chalicelib.core.ports import StoredFace
from chalicelib.engines.gallery import Gallery
from chalicelib.engines.snapshot_format import pack
from sandbox.stack import Stack
from tests.aws.test_contracts import a_scan
from tests.faults import FaultInjector, injected, table_is

CHALICELIB = Path(__file__).resolve().parents[2] / "chalicelib"
# The functions that check what they call: dynamo.call, dynamo.written (a conditional write
# through dynamo.call), paging's two, which check every page with dynamo.call, and
# dynamo.transact, which sends each attempt through it (asserted below).
CHECKERS = {
    ("dynamo", "call"),
    ("dynamo", "written"),
    ("dynamo", "transact"),
    ("paging", "checked_page"),
    ("paging", "all_items"),
}


def _dynamodb_methods() -> tuple[set[str], set[str]]:
    """Every DynamoDB client method name, and those whose answer can carry ConsumedCapacity."""
    import botocore.session
    from botocore import xform_name

    model = botocore.session.get_session().get_service_model("dynamodb")
    every, checkable = {"batch_writer"}, set()  # batch_writer: the resource's unchecked batches
    for operation in model.operation_names:
        every.add(xform_name(operation))
        request = model.operation_model(operation).input_shape
        if request is not None and "ReturnConsumedCapacity" in request.members:
            checkable.add(xform_name(operation))
    return every, checkable


def unchecked_calls(source: str, name: str = "<source>") -> list[str]:
    """Where ``source`` uses a DynamoDB method other than as the first argument of a checker."""
    every, checkable = _dynamodb_methods()
    tree = ast.parse(source)
    allowed: set[int] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and (node.func.value.id, node.func.attr) in CHECKERS
            and node.args
            and isinstance(node.args[0], ast.Attribute)
            and node.args[0].attr in checkable
        ):
            allowed.add(id(node.args[0]))
    found = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr in every and id(node) not in allowed
    ]
    return [f"{name}:{node.lineno}: .{node.attr}" for node in sorted(found, key=lambda node: node.lineno)]


def test_no_dynamodb_method_is_called_unchecked_in_chalicelib() -> None:
    found = [
        problem
        for path in sorted(CHALICELIB.rglob("*.py"))
        for problem in unchecked_calls(path.read_text(), str(path.relative_to(CHALICELIB.parent)))
    ]
    assert found == []


def test_the_walker_finds_a_direct_call_and_a_method_kept_for_later() -> None:
    source = (
        "def f(table):\n"
        "    dynamo.call(table.get_item, Key={})\n"
        "    table.put_item(Item={})\n"
        "    write = table.update_item\n"
        "    dynamo.call(table.describe_table)\n"
    )
    assert unchecked_calls(source) == [
        "<source>:3: .put_item",
        "<source>:4: .update_item",
        "<source>:5: .describe_table",
    ]


def test_paging_checks_every_page_it_reads() -> None:
    tree = ast.parse((CHALICELIB / "aws" / "paging.py").read_text())
    functions = {node.name: node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
    for name in ("checked_page", "all_items"):
        calls = [node for node in ast.walk(functions[name]) if isinstance(node, ast.Call)]
        direct = [c for c in calls if isinstance(c.func, ast.Name) and c.func.id == "call"]
        checked = [
            c
            for c in calls
            if ast.unparse(c.func) == "dynamo.call" and c.args and ast.unparse(c.args[0]) == "call"
        ]
        assert direct == [] and len(checked) == 1, name


def test_transact_checks_every_attempt_it_sends() -> None:
    tree = ast.parse((CHALICELIB / "aws" / "dynamo.py").read_text())
    [transact] = [
        node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and node.name == "transact"
    ]
    calls = [node for node in ast.walk(transact) if isinstance(node, ast.Call)]
    sends = [
        c for c in calls if ast.unparse(c.func) == "call" and c.args and ast.unparse(c.args[0]) == "write"
    ]
    assert len(sends) == 1 and not any(ast.unparse(c.func).startswith("write") for c in calls)


@dataclass
class Adapters:
    settings: Settings

    def __post_init__(self) -> None:
        settings = self.settings
        self.employees = DynamoEmployeeDirectory(wiring.table(settings.employees_table))
        self.audit = DynamoAuditLog(wiring.table(settings.audit_table))
        self.ledger = DynamoReportLedger(wiring.table(settings.audit_table))
        self.jobs = DynamoErasureJobs(wiring.table(settings.audit_table))
        self.consents = DynamoConsentLedger(wiring.table(settings.audit_table))
        self.scans = DynamoScanLog(wiring.table(settings.scans_table), settings.employees_table)
        self.report_scans = DynamoScanLog(wiring.table(settings.scans_table))  # no employee guard
        self.faces = DynamoFaceStore(wiring.table(settings.faces_table))
        self.snapshots = S3GallerySnapshots(
            wiring.client("s3"), settings.camera_bucket, wiring.table(settings.faces_table)
        )
        self.access = DynamoAccessStore(wiring.table(settings.access_table))


AVERY = Employee("EMP001", "Avery Stone")
CONSENT = ConsentRecord("EMP001", "2026-12", "2026-03-08T14:30:00.000Z", "paper", "F-1", "admin")
JOB = ErasureJob("job1", "EMP001", "admin", "2026-03-08T14:30:00Z")
FACE = StoredFace("EMP001", "f1", b"\0" * 512, "2026-03-08T14:30:00")
DOOR = Door("front", "Front door", frozenset({"front-door"}))


def _with_avery(adapters: Adapters) -> None:
    adapters.employees.create(AVERY)


def _marked_avery(adapters: Adapters) -> None:
    adapters.employees.create(AVERY)
    adapters.employees.begin_erasure("EMP001", "job1")


def _with_scan(adapters: Adapters) -> None:
    adapters.employees.create(AVERY)
    adapters.scans.record(a_scan())


def _with_face(adapters: Adapters) -> None:
    adapters.faces.put(FACE)


def _enrolled_then_stripped(adapters: Adapters) -> None:
    """A fresh log entry naming EMP001 each time, then the erasure's strip of it."""
    import uuid

    adapters.faces.put(StoredFace("EMP001", uuid.uuid4().hex, FACE.embedding, FACE.created_at))
    adapters.faces.strip_from_log("EMP001")


def _with_snapshot(adapters: Adapters) -> None:
    adapters.faces.put(FACE)
    adapters.snapshots.publish(pack(Gallery.of_faces(adapters.faces.heads(), [FACE])))


def _with_door(adapters: Adapters) -> None:
    adapters.access.commit("", put=[DOOR])


@dataclass(frozen=True)
class Site:
    operation: str
    table: str  # the Settings field naming the table the call goes to
    act: Callable[[Adapters], object]
    setup: Callable[[Adapters], object] = lambda _: None


NO_CHANGES = (0,) * SHARDS
ONE_CHANGE = tuple(int(shard == shard_of("EMP001")) for shard in range(SHARDS))  # _with_face's put


def _given_then_withdrawn(adapters: Adapters) -> int:
    adapters.consents.give(CONSENT)
    return adapters.consents.withdraw("EMP001", "2026-03-09T00:00:00.000Z", "admin")


SITES = {
    "employees.get": Site("GetItem", "employees_table", lambda a: a.employees.get("EMP001"), _with_avery),
    "employees.put": Site("UpdateItem", "employees_table", lambda a: a.employees.put(AVERY), _with_avery),
    "employees.set_membership": Site(
        "UpdateItem",
        "employees_table",
        lambda a: a.employees.set_membership("EMP001", "staff", True),
        _with_avery,
    ),
    "employees.members": Site("Scan", "employees_table", lambda a: a.employees.members("staff"), _with_avery),
    "employees.create": Site("PutItem", "employees_table", lambda a: a.employees.create(AVERY)),
    "employees.begin_erasure": Site(
        "UpdateItem", "employees_table", lambda a: a.employees.begin_erasure("EMP001", "job1"), _with_avery
    ),
    "employees.stamp": Site(
        "UpdateItem",
        "employees_table",
        lambda a: a.employees.stamp("EMP001", "last_seen", "2026-03-08T14:30:00.000Z"),
        _with_avery,
    ),
    "employees.set_lookalike": Site(
        "UpdateItem",
        "employees_table",
        lambda a: a.employees.set_lookalike("EMP001", "EMP002", True),
        _with_avery,
    ),
    "employees.lookalikes": Site(
        "GetItem", "employees_table", lambda a: a.employees.lookalikes("EMP001"), _with_avery
    ),
    "employees.lookalike_pairs": Site(
        "Scan", "employees_table", lambda a: a.employees.lookalike_pairs(), _with_avery
    ),
    "employees.erasure_of": Site(
        "GetItem", "employees_table", lambda a: a.employees.erasure_of("EMP001"), _with_avery
    ),
    "employees.present": Site(
        "BatchGetItem", "employees_table", lambda a: a.employees.present(["EMP001"]), _with_avery
    ),
    "employees.listing": Site("Scan", "employees_table", lambda a: a.employees.listing(10), _with_avery),
    "employees.delete": Site("DeleteItem", "employees_table", lambda a: a.employees.delete("EMP001")),
    "employees.end_erasure": Site(
        "DeleteItem", "employees_table", lambda a: a.employees.end_erasure("EMP001", "job1"), _marked_avery
    ),
    "audit.record": Site(
        "PutItem",
        "audit_table",
        lambda a: a.audit.record(
            AuditEntry("2026-03-08T14:30:00Z", "admin", "employee.create", "EMP001", {})
        ),
    ),
    "audit.between": Site(
        "Query",
        "audit_table",
        lambda a: a.audit.between(
            "access/door-commands", "2026-03-08T06:00:00.000Z", "2026-03-09T06:00:00.000Z"
        ),
        lambda a: a.audit.record(
            AuditEntry("2026-03-08T14:30:00.000Z", "guard", "door.unlock", "access/door-commands", {})
        ),
    ),
    "ledger.claim": Site(
        "PutItem", "audit_table", lambda a: a.ledger.claim("2026-03-08", datetime.now(UTC), 60)
    ),
    "ledger.sent": Site(
        "UpdateItem", "audit_table", lambda a: a.ledger.sent("2026-03-08", {"AUTHORIZED": 1}, "t")
    ),
    "ledger.release": Site(
        "UpdateItem", "audit_table", lambda a: a.ledger.release("2026-03-08", "smtp down", "t")
    ),
    "ledger.totals": Site("GetItem", "audit_table", lambda a: a.ledger.totals("2026-03-08")),
    "jobs.create": Site("PutItem", "audit_table", lambda a: a.jobs.create(JOB)),
    "jobs.save": Site("PutItem", "audit_table", lambda a: a.jobs.save(JOB)),
    "jobs.get": Site("GetItem", "audit_table", lambda a: a.jobs.get("job1")),
    "consents.give": Site("PutItem", "audit_table", lambda a: a.consents.give(CONSENT)),
    "consents.history": Site(
        "Query", "audit_table", lambda a: a.consents.history("EMP001"), lambda a: a.consents.give(CONSENT)
    ),
    "consents.listing": Site(
        "Query", "audit_table", lambda a: a.consents.listing(10), lambda a: a.consents.give(CONSENT)
    ),
    "consents.withdraw's query": Site(
        "Query", "audit_table", lambda a: a.consents.withdraw("EMP001", "2026-03-09T00:00:00.000Z", "admin")
    ),
    "consents.withdraw": Site(  # each act gives one to withdraw: the second must reach UpdateItem
        "UpdateItem",
        "audit_table",
        lambda a: _given_then_withdrawn(a),
    ),
    "scans.get": Site("GetItem", "scans_table", lambda a: a.scans.get("s1"), _with_scan),
    "scans.record": Site("PutItem", "scans_table", lambda a: a.report_scans.record(a_scan())),
    "scans.record naming an employee": Site(
        "TransactWriteItems", "scans_table", lambda a: a.scans.record(a_scan()), _with_avery
    ),
    "scans.set_notification": Site(
        "UpdateItem",
        "scans_table",
        lambda a: a.scans.set_notification("s1", "SENT", expected="PENDING"),
        _with_scan,
    ),
    "scans.by_day": Site("Query", "scans_table", lambda a: a.scans.by_day("2026-03-08", 10), _with_scan),
    "scans.by_employee": Site(
        "Query", "scans_table", lambda a: a.scans.by_employee("EMP001", 10), _with_scan
    ),
    "scans.anonymise": Site("UpdateItem", "scans_table", lambda a: a.scans.anonymise("s1"), _with_scan),
    "scans.delete": Site("DeleteItem", "scans_table", lambda a: a.scans.delete("s1"), _with_scan),
    "faces.put": Site("TransactWriteItems", "faces_table", lambda a: a.faces.put(FACE)),
    "faces.delete": Site(
        "TransactWriteItems", "faces_table", lambda a: a.faces.delete("EMP001", ["f1"]), _with_face
    ),
    "faces.delete's query": Site("Query", "faces_table", lambda a: a.faces.delete("EMP001"), _with_face),
    "faces.of_employee": Site("Query", "faces_table", lambda a: a.faces.of_employee("EMP001"), _with_face),
    "faces.heads": Site("BatchGetItem", "faces_table", lambda a: a.faces.heads(), _with_face),
    "faces.changes": Site(
        "BatchGetItem", "faces_table", lambda a: a.faces.changes(NO_CHANGES, ONE_CHANGE), _with_face
    ),
    "faces.faces_of": Site(
        "BatchGetItem", "faces_table", lambda a: a.faces.faces_of([("EMP001", "f1")]), _with_face
    ),
    "faces.put's head": Site("GetItem", "faces_table", lambda a: a.faces.put(FACE)),
    "faces.load": Site("Scan", "faces_table", lambda a: a.faces.load(), _with_face),
    "faces.strip_from_log": Site(
        "Query", "faces_table", lambda a: a.faces.strip_from_log("EMP001"), _with_face
    ),
    "faces.strip_from_log's update": Site("UpdateItem", "faces_table", lambda a: _enrolled_then_stripped(a)),
    "snapshots.latest": Site("GetItem", "faces_table", lambda a: a.snapshots.latest(), _with_snapshot),
    "snapshots.latest_heads": Site(
        "GetItem", "faces_table", lambda a: a.snapshots.latest_heads(), _with_snapshot
    ),
    "snapshots.sweep": Site("GetItem", "faces_table", lambda a: a.snapshots.sweep(), _with_snapshot),
    "snapshots.withdraw": Site("DeleteItem", "faces_table", lambda a: a.snapshots.withdraw(), _with_snapshot),
    "snapshots.publish's manifest read": Site(
        "GetItem", "faces_table", lambda a: a.snapshots.publish(pack(Gallery.of_faces((0,) * SHARDS, [])))
    ),
    "snapshots.publish": Site(
        "TransactWriteItems",
        "faces_table",
        lambda a: a.snapshots.publish(pack(Gallery.of_faces((0,) * SHARDS, []))),
    ),
    "access.version": Site("GetItem", "access_table", lambda a: a.access.version(), _with_door),
    "access.load": Site("Scan", "access_table", lambda a: a.access.load(), _with_door),
    "access.load's version reads": Site("GetItem", "access_table", lambda a: a.access.load(), _with_door),
    "access.commit": Site(
        "TransactWriteItems",
        "access_table",
        lambda a: a.access.commit(a.access.version(), put=[DOOR]),
        _with_door,
    ),
}


@pytest.mark.parametrize("where", list(SITES))
def test_a_genuine_answer_passes_and_an_unreadable_one_raises(stack: Stack, where: str) -> None:
    site = SITES[where]
    site.setup(Adapters(stack.settings))
    site.act(Adapters(stack.settings))  # moto's answer carries ConsumedCapacity for this call
    table = getattr(stack.settings, site.table)
    fault = FaultInjector("dynamodb", site.operation, "malformed response", table_is(table))
    with injected(fault), pytest.raises(MalformedResponse):
        site.act(Adapters(stack.settings))
    assert fault.attempts == 1


def test_the_sites_cover_every_method_of_the_adapters() -> None:
    adapters: dict[str, type] = {
        "employees": DynamoEmployeeDirectory,
        "audit": DynamoAuditLog,
        "ledger": DynamoReportLedger,
        "jobs": DynamoErasureJobs,
        "scans": DynamoScanLog,
        "faces": DynamoFaceStore,
        "snapshots": S3GallerySnapshots,
        "access": DynamoAccessStore,
    }
    public = {
        f"{prefix}.{name}"
        for prefix, cls in adapters.items()
        for name in vars(cls)
        if not name.startswith("_")
    }
    covered = {where.split(" ")[0].split("'")[0] for where in SITES}
    assert public <= covered


@contextmanager
def small_pages(limit: int) -> Iterator[None]:
    """Every Scan the app's clients send asks for ``limit`` items a page, so a listing pages."""

    def add_limit(params: dict[str, Any], **_: Any) -> None:
        params.setdefault("Limit", limit)

    events = wiring._session().events
    events.register("provide-client-params.dynamodb.Scan", add_limit)
    try:
        yield
    finally:
        events.unregister("provide-client-params.dynamodb.Scan", add_limit)


def test_an_unreadable_later_page_of_the_gallery_fails_the_load_not_shortens_it(stack: Stack) -> None:
    """Unchecked, the garbage page ends the Scan: a partial gallery that reads as whole."""
    faces = [StoredFace(f"EMP00{n}", f"f{n}", bytes([n]) * 512, "") for n in range(1, 4)]
    for face in faces:
        Adapters(stack.settings).faces.put(face)
    later_page = FaultInjector(
        "dynamodb", "Scan", "malformed response", lambda body: b"ExclusiveStartKey" in body, times=1
    )
    with injected(later_page), small_pages(1):
        store = Adapters(stack.settings).faces
        with pytest.raises(MalformedResponse):
            store.load()
        assert later_page.attempts == 1
        # The fault cleared: the same store pages through all of it.
        assert sorted(store.load(), key=lambda face: face.face_id) == faces
