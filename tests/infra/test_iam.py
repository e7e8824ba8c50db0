"""The hand-written IAM policies: no wildcard actions, and enough for what the code calls.

The second half runs each function's real work against local AWS, records every AWS call
it makes (operation and resource), and checks each against that function's policy.
"""

from __future__ import annotations

import base64
import contextlib
import fnmatch
import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

from app import app
from chalicelib import wiring
from chalicelib.config import Settings
from sandbox.api_server import LocalApi
from sandbox.enroll import enroll_employee
from sandbox.report import scheduled_event
from sandbox.stack import PROJECT_DIR, Stack
from tests.rekognition_double import RekognitionDouble

POLICIES = sorted((PROJECT_DIR / ".chalice").glob("policy-*.json"))
ACCOUNT, REGION = "123456789012", "us-east-1"


def statements(path: Path) -> list[dict[str, Any]]:
    return list(json.loads(path.read_text())["Statement"])


def as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


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
    """Every AWS operation made through wiring's session, as (IAM action, resource ARN)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.listening = True

    def __call__(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if self.listening:
            self.calls += iam_requests(model.service_model.service_name, model.name, params)

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Another function's work (the camera's, say) happens meanwhile."""
        self.listening = False
        try:
            yield
        finally:
            self.listening = True


def iam_requests(service: str, operation: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    if service == "dynamodb":
        if operation == "TransactWriteItems":
            kinds = {
                "Put": "PutItem",
                "Update": "UpdateItem",
                "Delete": "DeleteItem",
                "ConditionCheck": "ConditionCheckItem",
            }
            return [
                (f"dynamodb:{kinds[kind]}", _table(body["TableName"]))
                for item in params["TransactItems"]
                for kind, body in item.items()
            ]
        arn = _table(params["TableName"])
        if params.get("IndexName"):
            arn += f"/index/{params['IndexName']}"
        return [(f"dynamodb:{operation}", arn)]
    if service == "s3" and operation == "ListObjectVersions":
        return [("s3:ListBucketVersions", f"arn:aws:s3:::{params['Bucket']}")]
    if service == "s3":
        action = operation + (
            "Version" if params.get("VersionId") and operation in ("GetObject", "DeleteObject") else ""
        )
        return [(f"s3:{action}", f"arn:aws:s3:::{params['Bucket']}/{params['Key']}")]
    if service == "sns":
        return [(f"sns:{operation}", params["TopicArn"])]
    if service == "rekognition":
        return [
            (
                f"rekognition:{operation}",
                f"arn:aws:rekognition:{REGION}:{ACCOUNT}:collection/{params['CollectionId']}",
            )
        ]
    if service == "sqs":
        name = params["QueueName"] if operation == "GetQueueUrl" else params["QueueUrl"].rsplit("/", 1)[-1]
        return [(f"sqs:{operation}", f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}")]
    if service == "ses":
        return [(f"ses:{operation}", f"arn:aws:ses:{REGION}:{ACCOUNT}:identity/{params['Source']}")]
    return [(f"{service}:{operation}", "?")]


def _table(name: str) -> str:
    return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"


def allowed(policy: Path, action: str, arn: str) -> bool:
    """Is ``action`` on ``arn`` (a sandbox resource) allowed by ``policy`` (for its stage)?"""
    stage = policy.name.split("-")[1]
    for statement in statements(policy):
        actions = as_list(statement["Action"])
        resources = [
            r.replace(f"facegate-{stage}-", "facegate-sandbox-").replace(
                f"facegate-{stage}@", "facegate-sandbox@"
            )
            for r in as_list(statement["Resource"])
        ]
        if action in actions and any(fnmatch.fnmatchcase(arn, pattern) for pattern in resources):
            return True
    return False


@pytest.fixture
def recorder(stack: Stack) -> Iterator[Recorder]:
    wiring.reset()
    recording = Recorder()
    wiring._session().events.register("provide-client-params", recording)
    yield recording
    wiring.reset()


def assert_allowed(recorder: Recorder, policy_file: str) -> None:
    policy = PROJECT_DIR / ".chalice" / policy_file
    denied = sorted({(action, arn) for action, arn in recorder.calls if not allowed(policy, action, arn)})
    assert recorder.calls, "the workload made no AWS call"
    assert denied == [], f"{policy_file} does not allow: {denied}"


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
    assert ("sns:Publish", stack.settings.topic_arn) in recorder.calls
    assert_allowed(recorder, "policy-dev-camera.json")


def test_the_api_stays_within_its_policy(stack: Stack, photos: Path, recorder: Recorder) -> None:
    with Client(app, stage_name="sandbox", project_dir=str(PROJECT_DIR)) as client:
        assert api_call(client, stack, "POST", "/employees", {"employee_id": "E1", "name": "A"}) == 201
        assert api_call(client, stack, "POST", "/employees/E1/faces", photo_body(photos / "obama.jpg")) == 201
        with recorder.paused():
            stack.upload("front-door", "a.jpg", (photos / "obama2.jpg").read_bytes())
            stack.pump(expected=1)
        for path in ("/employees", "/employees/E1", "/employees/E1/faces", "/employees/E1/scans", "/scans"):
            assert api_call(client, stack, "GET", path) == 200
        assert api_call(client, stack, "PATCH", "/employees/E1", {"name": "B"}) == 200
        assert api_call(client, stack, "POST", "/recognize", photo_body(photos / "obama3.jpg")) == 200
        assert api_call(client, stack, "DELETE", "/employees/E1") == 202
        job_id = _erasure_job(stack)
        assert api_call(client, stack, "GET", f"/erasures/{job_id}") == 200
    assert {"sqs:SendMessage", "dynamodb:UpdateItem"} <= {action for action, _ in recorder.calls}
    assert_allowed(recorder, "policy-dev-api.json")


def test_the_erasure_worker_stays_within_its_policy(stack: Stack, photos: Path, recorder: Recorder) -> None:
    from tests.images import side_by_side

    with recorder.paused():
        enroll_employee(stack, _employee(), [photos / "obama.jpg"])
        stack.upload("front-door", "a.jpg", (photos / "obama2.jpg").read_bytes())
        stack.upload("front-door", "b.jpg", side_by_side(photos / "obama3.jpg", photos / "biden.jpg"))
        stack.pump(expected=2)
        with Client(app, stage_name="sandbox", project_dir=str(PROJECT_DIR)) as client:
            assert api_call(client, stack, "DELETE", "/employees/EMP001") == 202
    handled = stack.run_erasures()
    assert handled and all(event.error is None for event in handled)
    made = {action for action, _ in recorder.calls}
    assert {"s3:GetObjectVersion", "s3:DeleteObjectVersion", "dynamodb:DeleteItem", "sqs:SendMessage"} <= made
    assert_allowed(recorder, "policy-dev-erasure.json")


def test_the_report_stays_within_its_policy(stack: Stack, photos: Path, recorder: Recorder) -> None:
    stack.upload("front-door", "stranger.png", (photos / "astronaut.png").read_bytes())
    stack.pump(expected=1)
    recorder.calls.clear()
    with Client(app, stage_name="sandbox", project_dir=str(PROJECT_DIR)) as client:
        client.lambda_.invoke("daily_report", scheduled_event(_today(stack)))
    assert any(action == "ses:SendRawEmail" for action, _ in recorder.calls)
    assert_allowed(recorder, "policy-dev-report.json")


def test_the_rekognition_stage_stays_within_its_policies(
    stack: Stack, photos: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    double = RekognitionDouble()
    monkeypatch.setenv("AWS_ENDPOINT_URL_REKOGNITION", double.endpoint)
    monkeypatch.setenv("FACEGATE_ENGINE", "rekognition")
    double.collections.add(stack.settings.collection_id)
    stack.settings = Settings.from_env()  # enroll into the collection, as the functions see it
    wiring.reset()
    recording = Recorder()
    wiring._session().events.register("provide-client-params", recording)
    try:
        # Before anyone is enrolled: UNKNOWN, never linked; the double later sees EMP001 in it.
        stack.upload("front-door", "early.jpg", (photos / "obama3.jpg").read_bytes())
        stack.pump(expected=1)
        enroll_employee(stack, _employee(), [photos / "obama.jpg"])
        recording.calls.clear()
        stack.upload("front-door", "a.jpg", (photos / "obama2.jpg").read_bytes())
        stack.pump(expected=1)
        assert "rekognition:SearchUsersByImage" in {a for a, _ in recording.calls}
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
        assert "rekognition:ListFaces" in {a for a, _ in recording.calls}
        assert_allowed(recording, "policy-prod-api.json")
        recording.calls.clear()
        handled = stack.run_erasures()
        assert handled and all(event.error is None for event in handled)
        assert {"rekognition:SearchUsersByImage", "rekognition:DeleteUser"} <= {a for a, _ in recording.calls}
        assert double.faces == {} and "EMP001" not in double.users  # erased from the collection too
        assert_allowed(recording, "policy-prod-erasure.json")
        job = wiring.erasure_ports(stack.settings).jobs.get(_erasure_job(stack))
        assert job is not None and (job.state, job.faces_removed, len(job.found), len(job.anonymised)) == (
            "DONE", 1, 1, 1,
        )  # fmt: skip
    finally:
        double.stop()
        wiring.reset()


def _erasure_job(stack: Stack) -> str:
    audit = stack.session.client("dynamodb").scan(TableName=stack.settings.audit_table)["Items"]
    [job] = [item for item in audit if item["target"]["S"] == "erasure"]
    return str(job["entry"]["S"])


def _employee() -> Any:
    from chalicelib.models import Employee

    return Employee("EMP001", "Avery Stone")


def _today(stack: Stack) -> str:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo(stack.settings.timezone)).date().isoformat()
