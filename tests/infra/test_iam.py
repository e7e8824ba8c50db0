"""The hand-written IAM policies: no wildcard actions, and enough for what the code calls.

The second half runs each function's real work against local AWS, records every AWS call
it makes (operation and resource), and checks each against that function's policy.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import fnmatch
import json
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

from app import app
from chalicelib import wiring
from chalicelib.access.documents import rule_from
from chalicelib.aws.gallery_snapshots import MANIFEST_KEY
from chalicelib.core.config import Settings
from chalicelib.core.keys import door_queue_name
from chalicelib.core.models import PendingFace
from sandbox.api_server import LocalApi
from sandbox.enroll import enroll_employee
from sandbox.rekognition import RekognitionEndpoint
from sandbox.report import scheduled_event
from sandbox.stack import PROJECT_DIR, Stack
from tests.infra.iam import ACCOUNT, REGION, Request, allowed, as_list, denied, requests_of, statements

POLICIES = sorted((PROJECT_DIR / ".chalice").glob("policy-*.json"))


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.name)
def test_no_wildcard_actions_and_no_wildcard_resources(path: Path) -> None:
    for statement in statements(path):
        assert statement["Effect"] == "Allow"
        for action in as_list(statement["Action"]):
            assert "*" not in action, f"{path.name}: {action}"
        for resource in as_list(statement["Resource"]):
            assert resource != "*", f"{path.name}: Resource * in {statement['Sid']}"
            assert resource.split(":")[5:] != ["*"], f"{path.name}: {resource}"


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_report_may_send_from_the_stages_sender(stage: str) -> None:
    config = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())
    sender = config["stages"][stage]["environment_variables"]["FACEGATE_REPORT_FROM"]
    policy = PROJECT_DIR / ".chalice" / f"policy-{stage}-report.json"
    identity = f"arn:aws:ses:{REGION}:{ACCOUNT}:identity/{sender}"
    assert any(
        "ses:SendRawEmail" in as_list(s["Action"])
        and any(fnmatch.fnmatchcase(identity, r) for r in as_list(s["Resource"]))
        for s in statements(policy)
    ), f"change the SES identity in {policy.name} along with FACEGATE_REPORT_FROM"


class Recorder:
    """Every AWS operation made through wiring's session, as IAM requests (conditions included)."""

    def __init__(self) -> None:
        self.calls: list[Request] = []
        self.listening = True

    def __call__(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if self.listening:
            self.calls += requests_of(model.service_model.service_name, model.name, params)

    def actions(self) -> set[str]:
        return {request.action for request in self.calls}

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Another function's work (the camera's, say) happens meanwhile."""
        self.listening = False
        try:
            yield
        finally:
            self.listening = True


def sandbox_policy(policy_file: str) -> list[dict[str, Any]]:
    """A stage's policy with its resource names (not its account) renamed for the sandbox."""
    stage = policy_file.split("-")[1]
    text = (PROJECT_DIR / ".chalice" / policy_file).read_text()
    text = text.replace(f"facegate-{stage}-", "facegate-sandbox-").replace(
        f"facegate-{stage}@", "facegate-sandbox@"
    )
    text = text.replace(f"parameter/facegate/{stage}/", "parameter/facegate/sandbox/")  # SSM: a path
    tag = '"aws:ResourceTag/facegate-stage": '
    text = text.replace(f'{tag}"{stage}"', f'{tag}"sandbox"')
    return list(json.loads(text)["Statement"])


@pytest.fixture
def recorder(stack: Stack) -> Iterator[Recorder]:
    wiring.reset()
    recording = Recorder()
    wiring._session().events.register("provide-client-params", recording)
    yield recording
    wiring.reset()


def assert_allowed(recorder: Recorder, policy_file: str) -> None:
    assert recorder.calls, "the workload made no AWS call"
    refused = denied(sandbox_policy(policy_file), recorder.calls)
    assert refused == [], f"{policy_file} does not allow:\n" + "\n".join(refused)


def api_call(client: Client, stack: Stack, method: str, path: str, body: Any = None) -> int:
    token = stack.token("admins")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    response = getattr(client.http, method.lower())(
        path, headers=headers, body=json.dumps(body or {}).encode()
    )
    return int(response.status_code)


def photo_body(path: Path) -> dict[str, str]:
    return {"image": base64.b64encode(path.read_bytes()).decode()}


def test_the_camera_function_stays_within_its_policy(stack: Stack, photos: Path, recorder: Recorder) -> None:
    enroll_employee(stack, _employee(), [photos / "obama.jpg"])
    recorder.calls.clear()
    stack.upload("front-door", "a.jpg", (photos / "obama2.jpg").read_bytes())
    [event] = stack.pump(expected=1)
    assert event.error is None
    assert Request("sns:Publish", stack.settings.topic_arn) in recorder.calls
    assert Request("kms:GenerateMac", f"arn:aws:kms:{REGION}:{ACCOUNT}:key/aliased") in recorder.calls
    assert_allowed(recorder, "policy-dev-camera.json")


def test_the_camera_function_marks_and_gives_back_outage_alerts_within_its_policy(
    stack: Stack, photos: Path
) -> None:
    """The scans table and SNS both refuse: the alert marker under alerts/ is claimed, given
    back (every version listed and deleted) and claimed again on each delivery."""
    from tests.faults import FaultInjector, injected, table_is

    enroll_employee(stack, _employee(), [photos / "obama.jpg"])
    stack.upload("front-door", "a.jpg", (photos / "obama2.jpg").read_bytes())
    scans = FaultInjector(
        "dynamodb", "TransactWriteItems", "access denied", table_is(stack.settings.scans_table)
    )
    with injected(scans):
        session = wiring._session()
        recording = Recorder()
        session.events.register("provide-client-params", recording)
        publish: Callable[..., Any] = FaultInjector("sns", "Publish", "access denied")
        session.events.register("before-send.sns.Publish", publish)
        [event] = stack.pump(expected=1)
    assert event.dead_lettered
    assert {"s3:PutObject", "s3:ListBucketVersions", "s3:DeleteObjectVersion"} <= recording.actions()
    assert_allowed(recording, "policy-dev-camera.json")


def test_the_enrollment_function_stays_within_its_policy(
    stack: Stack, photos: Path, recorder: Recorder
) -> None:
    with recorder.paused():
        enroll_employee(stack, _employee(), [photos / "obama.jpg"])
    stack.drop("EMP002", "new.jpg", (photos / "biden.jpg").read_bytes(), name="Jordan Lee")
    stack.drop("EMP001", "second.jpg", (photos / "obama3.jpg").read_bytes())
    stack.drop("EMP003", "refused.png", (photos / "coffee.png").read_bytes(), name="Robin Vale")
    events = stack.pump(expected=3)
    assert len(events) == 3 and all(event.error is None for event in events)
    made = recorder.actions()
    # s3:GetObject: moto's events carry no versionId (AWS's do: s3:GetObjectVersion, also granted)
    assert {"s3:GetObject", "s3:DeleteObjectVersion", "dynamodb:DeleteItem", "sns:Publish"} <= made
    assert Request("sns:Publish", stack.settings.admin_topic_arn) in recorder.calls
    assert Request("sns:Publish", stack.settings.topic_arn) not in recorder.calls  # never the doors' topic
    assert {"s3:PutObject", "s3:ListBucket"} <= made  # EMP001's second photo waits for an admin
    assert_allowed(recorder, "policy-dev-enroll.json")
    assert len(wiring.pending_faces(stack.settings).listing(10)) == 1


def test_the_door_event_function_stays_within_its_policy(stack: Stack, recorder: Recorder) -> None:
    from door.cloud import S3DoorEvents
    from door.ports import DoorEvent, DoorEventKind

    agent = S3DoorEvents(stack.s3, stack.settings.camera_bucket, "front-door")  # the door's own identity
    agent.report(DoorEvent(DoorEventKind.FORCED_OPEN, "front-door", time.time(), "opened without an unlock"))
    with recorder.paused():
        assert agent.flush()
    [event] = stack.pump(expected=1)
    assert event.error is None
    assert {"s3:GetObject", "dynamodb:PutItem", "sns:Publish"} <= recorder.actions()
    assert Request("sns:Publish", stack.settings.topic_arn) in recorder.calls  # where security listens
    assert_allowed(recorder, "policy-dev-doors.json")


def test_the_api_stays_within_its_policy(stack: Stack, photos: Path, recorder: Recorder) -> None:
    with Client(app, stage_name="sandbox", project_dir=str(PROJECT_DIR)) as client:
        assert api_call(client, stack, "POST", "/employees", {"employee_id": "E1", "name": "A"}) == 201
        assert api_call(client, stack, "POST", "/employees/E1/faces", photo_body(photos / "obama.jpg")) == 409
        _consent(client, stack, "E1")
        assert api_call(client, stack, "POST", "/employees/E1/faces", photo_body(photos / "obama.jpg")) == 201
        with recorder.paused():
            stack.upload("front-door", "a.jpg", (photos / "obama2.jpg").read_bytes())
            stack.pump(expected=1)
        paths = ("/employees", "/employees/E1", "/employees/E1/faces", "/employees/E1/scans", "/scans")
        for path in (*paths, "/door-events"):
            assert api_call(client, stack, "GET", path) == 200
        assert api_call(client, stack, "PATCH", "/employees/E1", {"name": "B"}) == 200
        assert api_call(client, stack, "POST", "/recognize", photo_body(photos / "obama3.jpg")) == 200
        assert api_call(client, stack, "POST", "/employees", {"employee_id": "E2", "name": "C"}) == 201
        _consent(client, stack, "E2")
        twin = photo_body(photos / "obama3.jpg")  # E1's face: refused for E2
        assert api_call(client, stack, "POST", "/employees/E2/faces", twin) == 409
        assert api_call(client, stack, "POST", "/gallery/health", {}) == 202
        assert api_call(client, stack, "GET", "/gallery/health") == 200
        with recorder.paused():  # the health worker's calls are its own policy's
            stack.run_health_jobs()
        assert api_call(client, stack, "GET", "/gallery/health") == 200  # the report's ids, checked
        _decide_held_faces(client, stack, photos, recorder)
        assert api_call(client, stack, "PUT", "/faces/allowed-pairs/E1/E2", {}) == 200
        assert api_call(client, stack, "GET", "/faces/allowed-pairs") == 200
        assert api_call(client, stack, "POST", "/employees/E2/faces", twin) == 201  # the pair's override
        assert api_call(client, stack, "DELETE", "/faces/allowed-pairs/E1/E2") == 204
        _manage_access(client, stack)
        _command_doors(client, stack)
        assert api_call(client, stack, "DELETE", "/employees/E1/consent") == 202  # withdrawn: erased
        job_id = _erasure_job(stack)
        assert api_call(client, stack, "GET", f"/erasures/{job_id}") == 200
        # The latest day due (today from the report hour on, else yesterday): never refused.
        assert api_call(client, stack, "POST", "/reports", {}) == 200
        _provision_by_scim(client, stack)
    assert {"sqs:SendMessage", "dynamodb:UpdateItem", "cognito-idp:AdminListGroupsForUser"} <= (
        recorder.actions()
    )
    assert {"ssm:PutParameter", "ssm:GetParameter", "dynamodb:BatchGetItem"} <= recorder.actions()
    assert "ses:SendRawEmail" in recorder.actions()  # POST /reports sends as the schedule does
    command_key = {"kms:ResourceAliases": (stack.settings.command_key,)}
    assert Request("kms:GenerateMac", f"arn:aws:kms:{REGION}:{ACCOUNT}:key/aliased", command_key) in (
        recorder.calls
    )
    door_queue = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{door_queue_name('sandbox', 'front-door')}"
    assert Request("sqs:SendMessage", door_queue) in recorder.calls
    assert_allowed(recorder, "policy-dev-api.json")


def _provision_by_scim(client: Client, stack: Stack) -> None:
    """An admin issues the SCIM token; the identity provider creates, suspends and deletes."""
    import boto3

    reply = client.http.post(
        "/scim/token", headers={"Authorization": f"Bearer {stack.token('admins')}"}, body=b""
    )
    assert reply.status_code == 201
    headers = {
        "Authorization": f"Bearer {json.loads(reply.body)['token']}",
        "Content-Type": "application/scim+json",
    }
    off = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": False}}],
    }
    for method, path, body, status in (
        ("POST", "/scim/v2/Users", {"userName": "E9", "displayName": "S"}, 201),
        ("GET", '/scim/v2/Users?filter=userName eq "E9"', None, 200),
        ("PATCH", "/scim/v2/Users/E9", off, 200),
        ("DELETE", "/scim/v2/Users/E9", None, 204),
    ):
        sent = json.dumps(body).encode() if body is not None else b""
        assert client.http.request(method, path, headers=headers, body=sent).status_code == status, path
    boto3.client("ssm").delete_parameter(Name=stack.settings.scim_token_parameter)  # not in the stage's reset


def _decide_held_faces(client: Client, stack: Stack, photos: Path, recorder: Recorder) -> None:
    """Two drop-folder photos of an existing employee wait: list them, approve one, reject one."""
    with recorder.paused():  # the drop folder's work
        for name in ("held-1.jpg", "held-2.jpg"):
            stack.drop("E1", name, (photos / "obama2.jpg").read_bytes())
        stack.pump(expected=2)
    headers = {"Authorization": f"Bearer {stack.token('admins')}"}
    listed = client.http.get("/faces/pending", headers=headers)
    ids = [face["pending_id"] for face in json.loads(listed.body)["items"]]
    assert listed.status_code == 200 and len(ids) == 2
    assert api_call(client, stack, "POST", f"/faces/pending/{ids[0]}/approve", {}) == 201
    assert api_call(client, stack, "POST", f"/faces/pending/{ids[1]}/reject", {}) == 204


def _consent(client: Client, stack: Stack, employee_id: str) -> None:
    """Record an employee's consent, and read it back as admins and auditors do."""
    path = f"/employees/{employee_id}/consent"
    assert api_call(client, stack, "PUT", path, {"method": "paper", "reference": "F-1"}) == 201
    assert api_call(client, stack, "GET", path) == 200
    assert api_call(client, stack, "GET", "/consents") == 200


def _command_doors(client: Client, stack: Stack) -> None:
    """Every remote door command once, and a door without a queue (its lookup is a request too)."""
    reason = {"reason": "the IAM replay"}
    for method, path, status in (
        ("POST", "/doors/front-door/unlock", 202),
        ("POST", "/doors/front-door/lockdown", 202),
        ("GET", "/doors/front-door/lockdown", 200),
        ("DELETE", "/doors/front-door/lockdown", 202),
        ("POST", "/doors/no-such-door/unlock", 404),
    ):
        assert api_call(client, stack, method, path, None if method == "GET" else reason) == status, path


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_only_the_api_signs_door_commands_and_only_the_camera_decisions(stage: str) -> None:
    """Each key's alias, as IAM sees a call by alias: the camera cannot make a command's MAC, nor
    the API a decision's; only the API may send to the doors' queues, and only this stage's."""
    key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/aliased"

    def mac(alias: str) -> Request:
        return Request("kms:GenerateMac", key, {"kms:ResourceAliases": (alias,)})

    def send(queue: str) -> list[Request]:
        return [
            Request(action, f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}")
            for action in ("sqs:GetQueueUrl", "sqs:SendMessage")
        ]

    commands, decisions = f"alias/facegate-{stage}-door-commands", f"alias/facegate-{stage}-decision-signing"
    other = "prod" if stage == "dev" else "dev"
    for function in ("camera", "enroll", "api", "report", "erasure", "gallery", "doors", "health"):
        policy = statements(PROJECT_DIR / ".chalice" / f"policy-{stage}-{function}.json")
        assert allowed(policy, mac(commands)) == (function == "api"), function
        assert allowed(policy, mac(decisions)) == (function == "camera"), function
        door = send(f"facegate-{stage}-door-front-door")
        assert [allowed(policy, request) for request in door] == [function == "api"] * 2, function
        for elsewhere in (
            f"facegate-{other}-door-front-door",
            f"facegate-{stage}-doorx",
            f"facegate-{stage}-door",
        ):
            assert not any(allowed(policy, request) for request in send(elsewhere)), (function, elsewhere)
        foreign = Request(
            "sqs:SendMessage", f"arn:aws:sqs:{REGION}:999999999999:facegate-{stage}-door-front-door"
        )
        assert not allowed(policy, foreign), function


def _manage_access(client: Client, stack: Stack) -> None:
    """Every access route once: reads, commits (the first one also stores the built-in rule),
    a refused commit, memberships and the question (E1 exists, C1 does not)."""
    rule = {"effect": "GRANT", "doors": ["front"], "groups": ["staff"]}
    for method, path, body, status in (
        ("PUT", "/doors/front", {"name": "Front", "cameras": ["front-door"]}, 200),
        ("PUT", "/doors/side", {"name": "Side", "cameras": ["front-door"]}, 409),
        ("PUT", "/access-groups/staff", {"name": "Staff"}, 200),
        ("PUT", "/access-groups/staff/members/E1", None, 200),
        ("PUT", "/access-rules/staff", rule, 200),
        ("PUT", "/holidays/2026-12-25", {"name": "Christmas"}, 200),
        ("GET", "/doors", None, 200),
        ("GET", "/doors/front", None, 200),
        ("GET", "/access-groups", None, 200),
        ("GET", "/access-groups/staff", None, 200),
        ("GET", "/access-rules", None, 200),
        ("GET", "/access-rules/staff", None, 200),
        ("GET", "/holidays", None, 200),
        ("GET", "/employees/E1/access?door=front-door&at=2026-03-10T08:00", None, 200),
        ("DELETE", "/access-groups/staff", None, 409),
        ("DELETE", "/access-groups/staff/members/E1", None, 204),
        ("DELETE", "/access-rules/staff", None, 204),
        ("DELETE", "/holidays/2026-12-25", None, 204),
        ("DELETE", "/access-groups/staff", None, 204),
        ("DELETE", "/doors/front", None, 204),
    ):
        assert api_call(client, stack, method, path, body) == status, (method, path)


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_api_may_read_groups_only_in_its_stages_user_pool(stage: str) -> None:
    """The pool's id is random, so the policy names it by the tag the template gives it."""
    from tests.infra.test_template import resource

    assert resource("UserPool")["UserPoolTags"] == {"facegate-stage": "Stage"}
    [statement] = [
        s
        for s in statements(PROJECT_DIR / ".chalice" / f"policy-{stage}-api.json")
        if any(action.startswith("cognito-idp:") for action in as_list(s["Action"]))
    ]
    assert statement["Condition"] == {"StringEquals": {"aws:ResourceTag/facegate-stage": stage}}


def test_the_erasure_worker_stays_within_its_policy(stack: Stack, photos: Path, recorder: Recorder) -> None:
    from tests.images import side_by_side

    with recorder.paused():
        enroll_employee(stack, _employee(), [photos / "obama.jpg"])
        stack.upload("front-door", "a.jpg", (photos / "obama2.jpg").read_bytes())
        stack.upload("front-door", "b.jpg", side_by_side(photos / "obama3.jpg", photos / "biden.jpg"))
        stack.pump(expected=2)
        shared = rule_from("night", {"effect": "GRANT", "doors": ["*"], "employees": ["EMP001", "EMP007"]})
        assert wiring.access_store(stack.settings).commit("", put=[shared])  # the worker edits it
        held = PendingFace("e" * 32, "EMP001", "2026-03-10T09:30:00.000Z", "hr", "r")
        wiring.pending_faces(stack.settings).hold(held, b"a dropped photo")  # the worker purges it
        with Client(app, stage_name="sandbox", project_dir=str(PROJECT_DIR)) as client:
            assert api_call(client, stack, "DELETE", "/employees/EMP001") == 202
    handled = stack.run_erasures()
    assert handled and all(event.error is None for event in handled)
    directory = wiring.erasure_ports(stack.settings).directory  # a redelivery's check (tombstone.not_theirs)
    assert directory.erasure_of("EMP001") is None and directory.present(["EMP001"]) == frozenset()
    made = recorder.actions()
    assert {"s3:GetObjectVersion", "s3:DeleteObjectVersion", "dynamodb:DeleteItem", "sqs:SendMessage"} <= made
    pending = f"arn:aws:s3:::{stack.settings.camera_bucket}/pending/{held.pending_id}"
    assert {"s3:GetObjectVersion", "s3:DeleteObjectVersion"} <= {
        r.action for r in recorder.calls if r.resource == pending
    }
    with recorder.paused():
        assert wiring.pending_faces(stack.settings).listing(10) == []
    assert {"dynamodb:GetItem", "dynamodb:BatchGetItem"} <= made
    access = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{stack.settings.access_table}"
    assert {"dynamodb:Scan", "dynamodb:PutItem"} <= {r.action for r in recorder.calls if r.resource == access}
    assert_allowed(recorder, "policy-dev-erasure.json")


def test_the_gallery_health_worker_stays_within_its_policy(
    stack: Stack, photos: Path, recorder: Recorder
) -> None:
    with recorder.paused():
        enroll_employee(stack, _employee(), [photos / "obama.jpg", photos / "obama3.jpg"])
        with Client(app, stage_name="sandbox", project_dir=str(PROJECT_DIR)) as client:
            assert api_call(client, stack, "POST", "/gallery/health", {}) == 202
    handled = stack.run_health_jobs()
    assert handled and all(event.error is None for event in handled)
    assert {"dynamodb:GetItem", "dynamodb:PutItem"} <= recorder.actions()
    assert_allowed(recorder, "policy-dev-health.json")


def test_the_report_stays_within_its_policy(stack: Stack, photos: Path, recorder: Recorder) -> None:
    stack.upload("front-door", "stranger.png", (photos / "astronaut.png").read_bytes())
    stack.pump(expected=1)
    recorder.calls.clear()
    with Client(app, stage_name="sandbox", project_dir=str(PROJECT_DIR)) as client:
        client.lambda_.invoke("daily_report", scheduled_event(_today(stack)))
    assert "ses:SendRawEmail" in recorder.actions()
    audit = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{stack.settings.audit_table}"
    assert [
        r.context["dynamodb:LeadingKeys"]
        for r in recorder.calls
        if r.resource == audit and r.action == "dynamodb:Query"
    ] == [("access/door-commands",), ("door-events",), ("retention",)]  # door commands, events, retention
    assert_allowed(recorder, "policy-dev-report.json")


def test_the_retention_sweep_stays_within_its_policy(stack: Stack, photos: Path, recorder: Recorder) -> None:
    from datetime import UTC, datetime, timedelta

    from chalicelib.core.local_days import iso_ms
    from chalicelib.core.models import Employee

    with recorder.paused():
        enroll_employee(stack, _employee(), [photos / "obama.jpg"])
        stack.upload("front-door", "a.jpg", (photos / "obama2.jpg").read_bytes())
        stack.pump(expected=1)  # a scan the sweep reads into last_seen
        directory = wiring.api_ports(stack.settings).enrollment.directory
        long_ago = iso_ms(datetime.now(UTC) - timedelta(days=40))
        directory.put(Employee("EMP002", "Leaver", active=False, inactive_since=long_ago))  # erased
        directory.put(Employee("EMP003", "Suspended long ago", active=False))  # its clock starts: noticed
    with Client(app, stage_name="sandbox", project_dir=str(PROJECT_DIR)) as client:
        answer = client.lambda_.invoke("retention_sweep", scheduled_event())
    assert answer.payload == {"day": _today(stack), "done": True, "employees": 3, "erased": 1, "noticed": 1}
    assert {"dynamodb:Scan", "dynamodb:UpdateItem", "dynamodb:Query", "sqs:SendMessage", "sns:Publish"} <= (
        recorder.actions()
    )
    assert_allowed(recorder, "policy-dev-retention.json")


def test_the_gallery_snapshot_stays_within_its_policy(stack: Stack, photos: Path, recorder: Recorder) -> None:
    from chalicelib.aws.gallery_snapshots import MANIFEST_KEY

    with Client(app, stage_name="sandbox", project_dir=str(PROJECT_DIR)) as client:
        assert api_call(client, stack, "POST", "/employees", {"employee_id": "E1", "name": "E One"}) == 201
        _consent(client, stack, "E1")
        assert api_call(client, stack, "POST", "/employees/E1/faces", photo_body(photos / "obama.jpg")) == 201
        recorder.calls.clear()
        client.lambda_.invoke("gallery_snapshot", scheduled_event(_today(stack)))
    assert "s3:PutObject" in recorder.actions()
    assert_allowed(recorder, "policy-dev-gallery.json")
    manifest = wiring.table(stack.settings.faces_table).get_item(Key=MANIFEST_KEY).get("Item")
    assert manifest is not None and int(str(manifest["size"])) > 0


@dataclasses.dataclass
class RekognitionStage:
    """The sandbox on the Rekognition engine: the endpoint it talks to, and what it asked AWS."""

    endpoint: RekognitionEndpoint
    recording: Recorder


@pytest.fixture
def rekognition_stage(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[RekognitionStage]:
    endpoint = RekognitionEndpoint()
    monkeypatch.setenv("AWS_ENDPOINT_URL_REKOGNITION", endpoint.url)
    monkeypatch.setenv("FACEGATE_ENGINE", "rekognition")
    endpoint.service.handle("CreateCollection", {"CollectionId": stack.settings.collection_id})
    stack.settings = Settings.from_env()  # enroll into the collection, as the functions see it
    wiring.reset()
    recording = Recorder()
    wiring._session().events.register("provide-client-params", recording)
    try:
        yield RekognitionStage(endpoint, recording)
    finally:
        endpoint.stop()
        wiring.reset()


def test_the_rekognition_stage_stays_within_its_policies(
    stack: Stack, photos: Path, rekognition_stage: RekognitionStage
) -> None:
    endpoint, recording = rekognition_stage.endpoint, rekognition_stage.recording
    collection = endpoint.service.collections[stack.settings.collection_id]
    # Before anyone is enrolled: UNKNOWN, never linked; the endpoint later sees EMP001 in it.
    stack.upload("front-door", "early.jpg", (photos / "obama3.jpg").read_bytes())
    stack.pump(expected=1)
    enroll_employee(stack, _employee(), [photos / "obama.jpg"])
    recording.calls.clear()
    stack.upload("front-door", "a.jpg", (photos / "obama2.jpg").read_bytes())
    stack.pump(expected=1)
    assert "rekognition:SearchUsersByImage" in recording.actions()
    assert_allowed(recording, "policy-prod-camera.json")
    recording.calls.clear()
    # Over real HTTP: Chalice's test client would impose the sandbox stage's engine.
    served = LocalApi(port=0)
    token = stack.token("admins")
    try:
        for method, path in (("GET", "/employees/EMP001/faces"), ("DELETE", "/employees/EMP001")):
            request = urllib.request.Request(
                served.url + path, method=method, headers={"Authorization": f"Bearer {token}"}
            )
            with urllib.request.urlopen(request, timeout=30) as response:
                assert response.status == (202 if method == "DELETE" else 200)
    finally:
        served.stop()
    assert "rekognition:ListFaces" in recording.actions()
    assert_allowed(recording, "policy-prod-api.json")
    recording.calls.clear()
    handled = stack.run_erasures()
    assert handled and all(event.error is None for event in handled)
    assert {"rekognition:SearchUsersByImage", "rekognition:DeleteUser"} <= recording.actions()
    assert collection.faces == {} and "EMP001" not in collection.users  # erased from the collection too
    assert_allowed(recording, "policy-prod-erasure.json")
    job = wiring.erasure_ports(stack.settings).jobs.get(_erasure_job(stack))
    assert job is not None and job.state == "DONE" and job.result is not None
    counted = ("faces_removed", "unlinked_photos_found", "scans_anonymised")
    assert [job.result[name] for name in counted] == [1, 1, 1]


def test_drop_folder_enrollment_on_the_rekognition_stage_stays_within_its_policy(
    stack: Stack, photos: Path, rekognition_stage: RekognitionStage
) -> None:
    endpoint, recording = rekognition_stage.endpoint, rekognition_stage.recording
    with recording.paused():
        enroll_employee(stack, _employee(), [photos / "obama.jpg"])
    stack.drop("EMP002", "new.jpg", (photos / "biden.jpg").read_bytes(), name="Jordan Lee")
    stack.drop("EMP001", "second.jpg", (photos / "obama3.jpg").read_bytes())
    stack.drop("EMP003", "refused.png", (photos / "coffee.png").read_bytes(), name="Robin Vale")
    assert all(event.error is None for event in stack.pump(expected=3))
    assert {"rekognition:IndexFaces", "rekognition:AssociateFaces", "sns:Publish"} <= recording.actions()
    assert {"rekognition:SearchUsers", "rekognition:SearchFaces"} <= recording.actions()  # the guard
    assert "EMP003" not in endpoint.service.collections[stack.settings.collection_id].users
    assert_allowed(recording, "policy-prod-enroll.json")


def test_api_enrollment_on_the_rekognition_stage_stays_within_its_policy(
    stack: Stack, photos: Path, rekognition_stage: RekognitionStage
) -> None:
    endpoint, recording = rekognition_stage.endpoint, rekognition_stage.recording
    collection = endpoint.service.collections[stack.settings.collection_id]
    # Over real HTTP: Chalice's test client would impose the sandbox stage's engine.
    served = LocalApi(port=0)
    token = stack.token("admins")

    def call(method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        request = urllib.request.Request(served.url + path, data=data, method=method, headers=headers)
        with urllib.request.urlopen(request, timeout=60) as response:
            text = response.read()
            return response.status, json.loads(text) if text else None

    try:
        assert call("POST", "/employees", {"employee_id": "EMP001", "name": "Avery Stone"})[0] == 201
        assert call("PUT", "/employees/EMP001/consent", {"method": "paper", "reference": "F-1"})[0] == 201
        status, face = call("POST", "/employees/EMP001/faces", photo_body(photos / "obama.jpg"))
        assert (status, face["engine"]) == (201, "rekognition")
        assert call("POST", "/gallery/health", {})[0] == 202
        assert call("GET", "/gallery/health")[0] == 200
        assert call("DELETE", f"/employees/EMP001/faces/{face['face_id']}")[0] == 204
    finally:
        served.stop()
    assert endpoint.calls[:5] == ["IndexFaces", "SearchUsers", "SearchFaces", "CreateUser", "AssociateFaces"]
    assert collection.faces == {}  # the removed face is gone from the collection
    made = recording.actions()
    assert {"rekognition:IndexFaces", "rekognition:AssociateFaces", "rekognition:DeleteFaces"} <= made
    assert {"rekognition:SearchUsers", "rekognition:ListFaces", "rekognition:SearchFaces"} <= made
    assert_allowed(recording, "policy-prod-api.json")


def _erasure_job(stack: Stack) -> str:
    audit = stack.session.client("dynamodb").scan(TableName=stack.settings.audit_table)["Items"]
    [job] = [item for item in audit if item["target"]["S"] == "erasure"]
    return str(job["entry"]["S"])


def _employee() -> Any:
    from chalicelib.core.models import Employee

    return Employee("EMP001", "Avery Stone")


def _today(stack: Stack) -> str:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo(stack.settings.timezone)).date().isoformat()


# --- the access policy's table: the camera reads it, the API and the erasure worker write it --

# The drop folder reads it too: a face of someone a rule names waits for an admin.
ACCESS_READERS = {"camera", "enroll", "api", "erasure"}
ACCESS_WRITERS = {"api", "erasure"}


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_only_the_camera_reads_the_access_table_and_only_the_api_and_the_erasure_worker_write_it(
    stage: str, stack: Stack, recorder: Recorder
) -> None:
    from chalicelib.access.policy import AccessGroup
    from tests.aws.test_contracts import FRONT, NIGHT_SHIFT

    store = wiring.access_store(stack.settings)
    assert store.commit("", put=[FRONT, NIGHT_SHIFT])
    assert store.commit(
        store.version(), put=[AccessGroup("staff", "Staff")], delete=[("rule", "night-shift")]
    )
    assert not store.commit("stale", put=[FRONT])  # refused by its condition: still a request made
    writes = [request for request in recorder.calls if request.action != "dynamodb:GetItem"]
    recorder.calls.clear()
    store.version()
    store.load()
    reads = list(recorder.calls)
    assert {r.action for r in writes} == {"dynamodb:PutItem", "dynamodb:DeleteItem"}
    assert {r.action for r in reads} == {"dynamodb:GetItem", "dynamodb:Scan"}
    for function in ("camera", "enroll", "api", "report", "erasure"):
        policy = sandbox_policy(f"policy-{stage}-{function}.json")
        assert [allowed(policy, r) for r in reads] == [function in ACCESS_READERS] * len(reads), function
        assert [allowed(policy, r) for r in writes] == [function in ACCESS_WRITERS] * len(writes), function
    table = wiring.table(stack.settings.access_table)
    item: dict[str, Any] = {"kind": "rule", "entry_id": "x", "document": {}}
    smuggled = _written(recorder, lambda: table.put_item(Item={**item, "note": "not an entry's"}))
    returns_old = _written(recorder, lambda: table.put_item(Item=item, ReturnValues="ALL_OLD"))
    for function in ACCESS_WRITERS:
        policy = sandbox_policy(f"policy-{stage}-{function}.json")
        assert not allowed(policy, smuggled) and not allowed(policy, returns_old), function


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_api_may_change_and_list_access_group_members(
    stage: str, stack: Stack, recorder: Recorder
) -> None:
    from chalicelib.core.models import Employee

    directory = wiring.pipeline_ports(stack.settings).directory
    directory.create(_employee())
    recorder.calls.clear()
    assert directory.set_membership("EMP001", "staff", True)
    assert directory.members("staff") == ["EMP001"]
    directory.put(Employee("EMP001", "Avery Stone-Lee"))  # the details only: an update too
    assert directory.set_membership("EMP001", "staff", False)
    assert recorder.actions() == {"dynamodb:UpdateItem", "dynamodb:Scan"}
    assert_allowed(recorder, f"policy-{stage}-api.json")
    camera = sandbox_policy(f"policy-{stage}-camera.json")
    assert not any(allowed(camera, request) for request in recorder.calls)


# --- what IAM itself refuses: conditions, the account, the other engine ----------------------


def _written(recorder: Recorder, call: Any) -> Request:
    """The one write ``call`` makes (a refused conditional write is still the request made)."""
    from botocore.exceptions import ClientError

    recorder.calls.clear()
    with contextlib.suppress(ClientError):
        call()
    [request] = [r for r in recorder.calls if r.action in ("dynamodb:PutItem", "dynamodb:UpdateItem")]
    return request


def test_shared_tables_are_written_only_within_each_roles_keys_and_attributes(
    stack: Stack, recorder: Recorder
) -> None:
    from chalicelib.aws.audit import DynamoAuditLog
    from chalicelib.aws.ledger import DynamoReportLedger
    from chalicelib.aws.scans import DynamoScanLog
    from chalicelib.core.models import AuditEntry

    audit, scans = wiring.table(stack.settings.audit_table), wiring.table(stack.settings.scans_table)
    entry = AuditEntry("2026-01-05T09:00:00Z", "admin", "employee.create", "EMP001", {})
    audit_entry = _written(recorder, lambda: DynamoAuditLog(audit).record(entry))
    forged_ledger = _written(
        recorder, lambda: DynamoAuditLog(audit).record(dataclasses.replace(entry, target="daily-report"))
    )
    ledger_claim = _written(
        recorder, lambda: DynamoReportLedger(audit).claim("2026-01-05", datetime.now(UTC), 60)
    )
    # The report role's credentials used for someone else's audit trail, shaped like a ledger item.
    foreign_ledger = _written(
        recorder, lambda: audit.put_item(Item={"target": "EMP001", "entry": "2026-01-05", "state": "SENT"})
    )
    notification = _written(
        recorder, lambda: DynamoScanLog(scans).set_notification("0" * 32, "SENT", expected="FAILED")
    )
    anonymise = _written(recorder, lambda: DynamoScanLog(scans).anonymise("0" * 32))
    returns_old = _written(
        recorder,
        lambda: audit.put_item(Item={"target": "EMP001", "entry": "x"}, ReturnValues="ALL_OLD"),
    )

    api, report, camera, worker = (
        sandbox_policy(f"policy-dev-{name}.json") for name in ("api", "report", "camera", "erasure")
    )
    assert allowed(api, audit_entry) and not allowed(report, audit_entry)
    # POST /reports runs the report in the API, so both may claim a day; only as the ledger does.
    assert allowed(report, ledger_claim) and allowed(api, ledger_claim)
    assert not allowed(api, forged_ledger), "an audit entry may not pose as the report's ledger"
    assert not allowed(report, foreign_ledger), "the report may write only target daily-report"
    assert allowed(camera, notification) and not allowed(camera, anonymise)
    assert allowed(worker, anonymise) and not allowed(worker, notification)  # erasure anonymises
    assert not allowed(api, anonymise) and not allowed(api, notification)
    assert not allowed(api, returns_old), "a write may not read back what it replaced"


# The bucket's key families each function's policy reaches. The local engine's gallery
# snapshots live under gallery/, so only dev's functions reach it; prod's gallery function
# (Rekognition keeps the faces) reaches no object at all.
S3_REACH: dict[str, dict[str, set[str]]] = {
    "dev": {
        "api": {"incoming", "gallery"},
        "camera": {"incoming", "processed", "gallery", "alerts"},
        "enroll": {"enroll", "gallery"},
        "erasure": {"incoming", "processed", "gallery"},
        "gallery": {"gallery"},
        "report": {"incoming"},
        "doors": {"door-events"},
        "health": {"gallery"},
        "retention": set(),
    },
    "prod": {
        "api": {"incoming"},
        "camera": {"incoming", "processed", "alerts"},
        "enroll": {"enroll"},
        "erasure": {"incoming", "processed"},
        "gallery": set(),
        "report": {"incoming"},
        "doors": {"door-events"},
        "health": set(),
        "retention": set(),
    },
}
KEYS_BY_FAMILY = {
    "incoming": "incoming/front-door/a.jpg",
    "processed": "processed/a.json",
    "enroll": "enroll/EMP001/a.jpg",
    "gallery": "gallery/a.snapshot",
    "door-events": "door-events/front-door/20261207T180000.000Z-0123456789abcdef.json",
    "alerts": "alerts/unrecorded/0123456789abcdef0123456789abcdef",
}


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.name)
def test_the_camera_bucket_is_the_accounts_own(path: Path) -> None:
    _, stage, function = path.stem.split("-")
    config = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())
    bucket = config["stages"][stage]["environment_variables"]["FACEGATE_CAMERA_BUCKET"]
    policy = statements(path)
    on_s3 = [
        (statement, resource)
        for statement in policy
        for resource in as_list(statement["Resource"])
        if resource.startswith("arn:aws:s3:::")
    ]
    for statement, resource in on_s3:
        assert resource.split(":::")[1].split("/")[0] == bucket, f"{path.name}: {resource}"
        assert statement["Condition"]["StringEquals"]["aws:ResourceAccount"] == ACCOUNT
    ours = {"aws:ResourceAccount": (ACCOUNT,)}
    theirs = {"aws:ResourceAccount": ("999999999999",)}
    reached = set()
    for family, key in KEYS_BY_FAMILY.items():
        requests = [Request(action, f"arn:aws:s3:::{bucket}/{key}", ours) for action in ACTIONS_ON_OBJECTS]
        if not any(allowed(policy, request) for request in requests):
            continue
        reached.add(family)
        assert not any(allowed(policy, dataclasses.replace(r, context=theirs)) for r in requests)
        lookalike = f"arn:aws:s3:::{bucket}-x/{key}"
        assert not any(allowed(policy, dataclasses.replace(r, resource=lookalike)) for r in requests)
    assert reached == S3_REACH[stage][function], path.name
    assert bool(on_s3) == bool(reached), f"{path.name}: S3 resources that reach no object, or none at all"


ACTIONS_ON_OBJECTS = ("s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObjectVersion")


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.name)
def test_a_stage_has_no_grants_for_the_engine_it_does_not_use(path: Path) -> None:
    stage = path.name.split("-")[1]
    config = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())
    engine = config["stages"][stage]["environment_variables"]["FACEGATE_ENGINE"]
    granted = {
        (action, resource)
        for statement in statements(path)
        for action in as_list(statement["Action"])
        for resource in as_list(statement["Resource"])
    }
    if engine == "local":
        assert not [action for action, _ in granted if action.startswith("rekognition:")]
    else:
        faces_table = f":table/facegate-{stage}-faces"
        assert not [resource for _, resource in granted if resource.endswith(faces_table)]


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_camera_may_record_every_attribute_a_scan_carries(stage: str) -> None:
    from chalicelib.aws.scans import scan_item
    from chalicelib.core.models import BoundingBox, Decision, Reason, Scan, Status

    decision = Decision(
        Status.UNKNOWN,
        reason="ambiguous",
        reason_code=Reason.AMBIGUOUS,
        employee_id="EMP001",
        employee_name="Avery",
        similarity=93.5,
        faces_in_frame=1,
        face_box=BoundingBox(1, 2, 3, 4),
        door_id="front-door",  # a DENIED's or AUTHORIZED's: where the access policy was asked
        access_rule="staff-front-door",
        holiday="2026-12-25",
    )
    assert all(getattr(decision, name) is not None for name in Decision.__dataclass_fields__)
    scan = Scan("s", "front-door", "incoming/front-door/a.jpg", "v1", "t", "t", "d", decision, "local", 1)
    [record] = [
        s
        for s in statements(PROJECT_DIR / ".chalice" / f"policy-{stage}-camera.json")
        if s["Sid"] == "RecordScans"
    ]
    assert set(scan_item(scan)) <= set(
        record["Condition"]["ForAllValues:StringEquals"]["dynamodb:Attributes"]
    )


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_ledgers_key_in_the_policies_is_the_ledgers_and_no_employees(stage: str) -> None:
    from chalicelib.api.validation import RESERVED_IDS
    from chalicelib.aws.consent import TARGET as CONSENTS
    from chalicelib.aws.erasures import TARGET as JOBS
    from chalicelib.aws.health_jobs import TARGET as HEALTH
    from chalicelib.aws.ledger import TARGET

    chalice = PROJECT_DIR / ".chalice"
    [write] = [s for s in statements(chalice / f"policy-{stage}-report.json") if s["Sid"] == "WriteLedger"]
    api = {s["Sid"]: s for s in statements(chalice / f"policy-{stage}-api.json")}
    assert write["Condition"]["ForAllValues:StringEquals"]["dynamodb:LeadingKeys"] == [TARGET]
    enroll = {s["Sid"]: s for s in statements(chalice / f"policy-{stage}-enroll.json")}
    assert api["Audit"]["Condition"]["ForAllValues:StringNotEquals"]["dynamodb:LeadingKeys"] == [
        TARGET,
        JOBS,
        HEALTH,
        CONSENTS,
    ]
    for policy in (api, enroll):  # no audit entry can pose as a consent, nor a consent be more
        assert (
            CONSENTS in policy["Audit"]["Condition"]["ForAllValues:StringNotEquals"]["dynamodb:LeadingKeys"]
        )
        for sid in ("ReadConsents", "RecordConsents"):
            assert policy[sid]["Condition"]["ForAllValues:StringEquals"]["dynamodb:LeadingKeys"] == [CONSENTS]
    assert "dynamodb:UpdateItem" not in enroll["RecordConsents"]["Action"]  # only the API withdraws
    assert api["ErasureJobs"]["Condition"]["ForAllValues:StringEquals"]["dynamodb:LeadingKeys"] == [JOBS]
    assert api["HealthJobs"]["Condition"]["ForAllValues:StringEquals"]["dynamodb:LeadingKeys"] == [HEALTH]
    assert {TARGET, JOBS, HEALTH, CONSENTS} <= RESERVED_IDS  # the API refuses them as employee ids


def hr_policy(bucket: str = "facegate-dev-camera-123456789012") -> list[dict[str, Any]]:
    """The template's HR policy as IAM holds it for a stage (its !Sub resolved)."""
    from tests.infra.test_template import resource

    text = json.dumps(resource("HrEnrollmentPolicy")["PolicyDocument"]["Statement"])
    text = text.replace("${CameraBucket.Arn}", f"arn:aws:s3:::{bucket}")
    text = text.replace('"AWS::AccountId"', f'"{ACCOUNT}"')
    return list(json.loads(text))


def test_the_hr_system_may_only_put_photos_into_the_drop_folder() -> None:
    policy, bucket = hr_policy(), "facegate-dev-camera-123456789012"

    def may(action: str, key: str, on: str = bucket, account: str = ACCOUNT) -> bool:
        bounds = {"aws:ResourceAccount": (account,), "s3:ResourceAccount": (account,)}
        return allowed(policy, Request(action, f"arn:aws:s3:::{on}/{key}", bounds))

    assert may("s3:PutObject", "enroll/EMP001/a.jpg")
    assert may("s3:PutObject", "enroll/X/y.jpg")
    assert not may("s3:PutObject", "incoming/front-door/a.jpg")  # it cannot pose as a camera
    assert not may("s3:PutObject", "processed/x.json")
    assert not may("s3:PutObject", "enrollX/a.jpg")
    assert not may("s3:PutObject", "enroll/EMP001/a.jpg", on=f"{bucket}-lookalike")
    assert not may("s3:PutObject", "enroll/EMP001/a.jpg", account="999999999999")
    for action in ("s3:GetObject", "s3:GetObjectVersion", "s3:DeleteObject", "s3:DeleteObjectVersion"):
        for key in ("enroll/EMP001/a.jpg", "incoming/front-door/a.jpg", "processed/x.json"):
            assert not may(action, key), (action, key)
    listing = Request("s3:ListBucket", f"arn:aws:s3:::{bucket}", {"aws:ResourceAccount": (ACCOUNT,)})
    assert not allowed(policy, listing)
    assert [s["Action"] for s in policy] == ["s3:PutObject"]  # one grant, nothing else


def _faces_item_requests(operation: str, **body: Any) -> list[Request]:
    return requests_of("dynamodb", operation, {"TableName": "facegate-dev-faces", **body})


def test_the_gallery_snapshot_writes_the_manifest_and_nothing_else_of_the_faces_table() -> None:
    # It reads every embedding; whoever may write faces, heads or log entries chooses who the
    # door knows, and a head moved back or forward stops every enrollment in its shard.
    from chalicelib.aws.faces import head_key
    from chalicelib.aws.gallery_snapshots import MANIFEST_KEY

    policy = statements(PROJECT_DIR / ".chalice" / "policy-dev-gallery.json")
    manifest = {"key": "gallery/x.snapshot", "version_id": "v", "size": 1, "sha256": "d", "heads": [0]}
    publish = [
        *_faces_item_requests("PutItem", Item={**MANIFEST_KEY, **manifest}),
        *_faces_item_requests(
            "ConditionCheckItem",
            Key=head_key(3),
            ConditionExpression="seq = :read",
            ExpressionAttributeValues={":read": 4},
        ),
    ]
    assert denied(policy, publish) == []
    face = {"employee_id": "EMP001", "face_id": "f1", "embedding": b"x", "created_at": ""}
    log = {"employee_id": "#log#03", "face_id": "000000000005", "owner": "EMP001", "faces": ["f1"]}
    forged = [
        _faces_item_requests("PutItem", Item=face),
        _faces_item_requests("PutItem", Item={**head_key(3), "seq": 1}),
        _faces_item_requests("PutItem", Item=log),
        _faces_item_requests("PutItem", Item={**MANIFEST_KEY, **manifest, "embedding": b"x"}),
        _faces_item_requests("DeleteItem", Key={"employee_id": "EMP001", "face_id": "f1"}),
        _faces_item_requests(
            "UpdateItem",
            Key=head_key(3),
            UpdateExpression="SET seq = :s",
            ExpressionAttributeValues={":s": 0},
        ),
    ]
    assert [str(r) for requests in forged for r in requests if allowed(policy, r)] == []


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_each_function_may_do_exactly_what_its_code_does_on_the_faces_table(stage: str) -> None:
    # Only erasure rewrites log entries (UpdateItem: strip_from_log) and publishes (the heads'
    # ConditionCheck); the recorded runs above show each set is enough.
    writes = {"dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Query"}
    reads = {"dynamodb:GetItem", "dynamodb:Scan", "dynamodb:BatchGetItem"}
    publish = {"dynamodb:PutItem", "dynamodb:ConditionCheckItem"}
    expected = {
        "camera": reads,
        "api": reads | writes,
        "enroll": reads | writes,
        "erasure": reads | writes | publish | {"dynamodb:UpdateItem"},
        "gallery": reads | publish,
        "report": set(),
        "retention": {"dynamodb:Query"},  # list_faces of an employee enrolled before the clocks
    }
    table = f"arn:aws:dynamodb:*:*:table/facegate-{stage}-faces"
    for function, actions in expected.items():
        policy = statements(PROJECT_DIR / ".chalice" / f"policy-{stage}-{function}.json")
        granted = {a for s in policy if table in as_list(s["Resource"]) for a in as_list(s["Action"])}
        assert granted == (actions if stage == "dev" else set()), function


def test_erasure_may_withdraw_the_gallery_snapshot_and_the_snapshot_function_may_not() -> None:
    # Erasure's way out when an import keeps overtaking its rebuild (publish_or_withdraw_snapshot):
    # the manifest item and every object under gallery/, nothing else.
    withdraw = [
        *requests_of("dynamodb", "DeleteItem", {"TableName": "facegate-dev-faces", "Key": MANIFEST_KEY}),
        *requests_of(
            "s3",
            "DeleteObject",
            {"Bucket": "facegate-dev-camera-123456789012", "Key": "gallery/a.snapshot", "VersionId": "v1"},
        ),
    ]
    erasure = statements(PROJECT_DIR / ".chalice" / "policy-dev-erasure.json")
    assert all(allowed(erasure, request) for request in withdraw)
    snapshot_function = statements(PROJECT_DIR / ".chalice" / "policy-dev-gallery.json")
    assert not allowed(snapshot_function, withdraw[0])  # it may only put the manifest
