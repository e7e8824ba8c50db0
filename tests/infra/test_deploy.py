"""The deploy helper's pieces that need no real AWS account: config, stack updates, bucket."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from infra.deploy import empty_bucket, stage_config, write_outputs
from infra.stage import deploy_stack
from sandbox.stack import PROJECT_DIR, Stack


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
