"""The deploy helper's pieces that need no real AWS account: config, stack updates, bucket."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from infra.deploy import (
    delete_layer_versions,
    empty_bucket,
    stage_config,
    write_outputs,
    write_policies,
)
from infra.invocations import configure_async_invocations
from infra.stage import deploy_stack
from sandbox.stack import PROJECT_DIR, Stack

if TYPE_CHECKING:
    from mypy_boto3_lambda.type_defs import LayerVersionContentInputTypeDef


def test_outputs_are_written_into_the_stages_environment(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    shutil.copy(PROJECT_DIR / ".chalice" / "config.json", config)
    write_outputs("prod", {"FACEGATE_CAMERA_BUCKET": "facegate-prod-camera-999"}, None, config)
    write_outputs("dev", {"FACEGATE_USER_POOL_ID": "us-east-1_x"}, ["arn:aws:lambda:layer:1"], config)
    stages = json.loads(config.read_text())["stages"]
    assert stages["prod"]["environment_variables"]["FACEGATE_CAMERA_BUCKET"] == "facegate-prod-camera-999"
    assert stages["prod"]["environment_variables"]["FACEGATE_ENGINE"] == "rekognition"  # kept
    assert stages["dev"]["layers"] == ["arn:aws:lambda:layer:1"] and "layers" not in stages["prod"]
    assert stage_config("dev", config)["FACEGATE_USER_POOL_ID"] == "us-east-1_x"


def test_the_sandbox_stage_is_not_deployable() -> None:
    with pytest.raises(SystemExit):
        stage_config("sandbox")


@pytest.mark.fresh_stack
def test_a_second_deploy_of_an_unchanged_stack_is_a_no_op(stack: Stack) -> None:
    cloudformation = stack.session.client("cloudformation")
    again = deploy_stack(cloudformation, "sandbox", sandbox=True)
    assert again["CameraBucket"] == stack.settings.camera_bucket


def test_destroy_empties_a_versioned_bucket(stack: Stack) -> None:
    bucket = stack.settings.camera_bucket
    for body in (b"one", b"two"):
        stack.s3.put_object(Bucket=bucket, Key="incoming/cam/a.jpg", Body=body)
    stack.s3.delete_object(Bucket=bucket, Key="incoming/cam/a.jpg")  # a delete marker
    assert empty_bucket(stack.s3, bucket) == 3
    listing = stack.s3.list_object_versions(Bucket=bucket)
    assert "Versions" not in listing and "DeleteMarkers" not in listing


def test_deploy_ties_the_stages_policies_to_its_bucket_and_account(tmp_path: Path) -> None:
    for policy in (PROJECT_DIR / ".chalice").glob("policy-*.json"):
        shutil.copy(policy, tmp_path)
    before = {path.name: path.read_text() for path in tmp_path.iterdir()}
    for account in ("999999999999", "888888888888"):  # a second deploy moves them again
        written = write_policies("prod", f"facegate-prod-camera-{account}", account, tmp_path)
    assert sorted(path.name for path in written) == [
        f"policy-prod-{f}.json"
        for f in ("api", "camera", "doors", "enroll", "erasure", "gallery", "health", "report", "retention")
    ]
    camera = json.loads((tmp_path / "policy-prod-camera.json").read_text())["Statement"]
    s3 = [s for s in camera if str(s["Resource"]).startswith("arn:aws:s3:::")]
    assert {s["Sid"]: s["Resource"] for s in s3} == {
        "ReadCameraPhotos": "arn:aws:s3:::facegate-prod-camera-888888888888/incoming/*",
        "WriteProcessedResults": "arn:aws:s3:::facegate-prod-camera-888888888888/processed/*",
        "MarkOutageAlerts": "arn:aws:s3:::facegate-prod-camera-888888888888/alerts/*",
        "GiveBackOutageAlerts": "arn:aws:s3:::facegate-prod-camera-888888888888",
    }
    assert all(s["Condition"]["StringEquals"]["aws:ResourceAccount"] == "888888888888" for s in s3)
    tables = [s["Resource"] for s in camera if "dynamodb" in str(s["Resource"])]
    assert tables and all("888888888888" not in str(r) for r in tables)  # only S3 grants change
    for name in ("policy-dev-camera.json", "policy-dev-api.json"):
        assert (tmp_path / name).read_text() == before[name]  # other stages untouched


class RecordingLambda:
    """Records the event-invoke configs deploy asks Lambda for."""

    def __init__(self) -> None:
        self.configs: dict[str, dict[str, Any]] = {}

    def put_function_event_invoke_config(self, **params: Any) -> None:
        self.configs[params.pop("FunctionName")] = params


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_every_s3_triggered_function_is_retried_then_dead_lettered(stage: str) -> None:
    recorder = RecordingLambda()
    queue = f"arn:aws:sqs:us-east-1:123456789012:facegate-{stage}-failed-scans"
    configure_async_invocations(recorder, stage, queue)  # type: ignore[arg-type]
    policies = {
        "on_camera_upload": "camera",
        "on_enrollment_upload": "enroll",
        "on_door_event": "doors",
    }
    assert set(recorder.configs) == {f"facegate-{stage}-{function}" for function in policies}
    for function, policy in policies.items():
        config = recorder.configs[f"facegate-{stage}-{function}"]
        assert config == {
            "MaximumRetryAttempts": 2,
            "DestinationConfig": {"OnFailure": {"Destination": queue}},
        }
        # the destination is sent to with the function's own role
        statements = json.loads((PROJECT_DIR / ".chalice" / f"policy-{stage}-{policy}.json").read_text())
        assert any(
            "sqs:SendMessage" in s["Action"] and str(s["Resource"]).endswith(f"facegate-{stage}-failed-scans")
            for s in statements["Statement"]
        )


def test_destroy_deletes_every_published_layer_version_of_its_stage_only(stack: Stack) -> None:
    lambda_client = stack.session.client("lambda")
    zipped: LayerVersionContentInputTypeDef = {"ZipFile": _zip_with("python/marker.py", b"")}
    for name in ("facegate-gone-local-engine", "facegate-gone-local-engine", "facegate-kept-local-engine"):
        lambda_client.publish_layer_version(LayerName=name, Content=zipped)
    deleted = delete_layer_versions(lambda_client, "gone")
    assert len(deleted) == 2 and all(":layer:facegate-gone-local-engine:" in arn for arn in deleted)
    assert lambda_client.list_layer_versions(LayerName="facegate-gone-local-engine")["LayerVersions"] == []
    [kept] = lambda_client.list_layer_versions(LayerName="facegate-kept-local-engine")["LayerVersions"]
    assert kept["Version"] == 1
    assert delete_layer_versions(lambda_client, "gone") == []  # a second destroy finds nothing


def _zip_with(name: str, content: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, content)
    return buffer.getvalue()
