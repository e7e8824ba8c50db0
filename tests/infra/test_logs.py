"""Every function's logs expire with the records they describe, in the group Lambda writes to."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from infra.logs import CLOUDWATCH_RETENTIONS, function_log_groups, log_retention_days, set_log_retention
from sandbox.stack import PROJECT_DIR, Stack


def _config_with_retention(tmp_path: Path, days: str) -> Path:
    config = tmp_path / "config.json"
    shutil.copy(PROJECT_DIR / ".chalice" / "config.json", config)
    on_disk = json.loads(config.read_text())
    on_disk["environment_variables"]["FACEGATE_RETENTION_DAYS"] = days
    config.write_text(json.dumps(on_disk))
    return config


@pytest.mark.parametrize(
    ("records", "logs"), [("30", 30), ("45", 30), ("2", 1), ("400", 400), ("4000", 2192)]
)
def test_logs_are_kept_no_longer_than_the_records_in_a_retention_cloudwatch_accepts(
    tmp_path: Path, records: str, logs: int
) -> None:
    days = log_retention_days("prod", _config_with_retention(tmp_path, records))
    assert days == logs and days in CLOUDWATCH_RETENTIONS


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_every_function_has_the_log_group_lambda_writes_to(stage: str) -> None:
    on_disk = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())
    groups = function_log_groups(stage)
    assert set(groups) == set(on_disk["stages"][stage]["lambda_functions"])
    assert groups["api_handler"] == f"/aws/lambda/facegate-{stage}"  # Chalice's name for the API's function
    assert groups["on_camera_upload"] == f"/aws/lambda/facegate-{stage}-on_camera_upload"


def test_deploy_sets_retention_on_groups_there_and_creates_the_missing_ones(stack: Stack) -> None:
    logs = stack.session.client("logs")
    written = "/aws/lambda/facegate-prod-on_camera_upload"
    logs.create_log_group(logGroupName=written)  # as Lambda does on a function's first run
    groups = set_log_retention(logs, "prod", 30)
    assert set(groups) == set(function_log_groups("prod").values())
    described = logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/facegate-prod")["logGroups"]
    assert {group["logGroupName"]: group.get("retentionInDays") for group in described} == {
        group: 30 for group in groups
    }
    assert set_log_retention(logs, "prod", 14) == groups  # a second deploy changes it in place
    described = logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/facegate-prod")["logGroups"]
    assert {group.get("retentionInDays") for group in described} == {14}


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_each_function_may_write_its_own_log_group_and_no_other(stage: str) -> None:
    """The API's function is `facegate-<stage>`: a grant on `…-api_handler` would leave it mute."""
    on_disk = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())
    functions = on_disk["stages"][stage]["lambda_functions"]
    for function, group in function_log_groups(stage).items():
        policy = json.loads((PROJECT_DIR / ".chalice" / functions[function]["iam_policy_file"]).read_text())
        granted = {
            resource
            for statement in policy["Statement"]
            if any(str(action).startswith("logs:") for action in statement["Action"])
            for resource in statement["Resource"]
        }
        arn = f"arn:aws:logs:*:*:log-group:{group}"
        assert granted == {arn, f"{arn}:*"}, function
