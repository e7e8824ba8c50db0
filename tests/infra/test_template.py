"""The CloudFormation template: lint-clean, secure by default, and the sandbox's own source."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from infra.stage import OUTPUT_ENV, TEMPLATE, environment
from sandbox.stack import PROJECT_DIR, Stack, stage_environment


class CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (!Ref, !Sub, …) read as plain values."""


CfnLoader.add_multi_constructor("!", lambda loader, suffix, node: _plain(loader, node))


def _plain(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]


def template() -> dict[str, Any]:
    return yaml.load(TEMPLATE.read_text(), Loader=CfnLoader)


def resource(name: str) -> dict[str, Any]:
    return template()["Resources"][name]["Properties"]


def test_cfn_lint_passes() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), str(TEMPLATE)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_bucket_is_private_encrypted_versioned_and_expires_photos() -> None:
    bucket = resource("CameraBucket")
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert bucket["VersioningConfiguration"]["Status"] == "Enabled"
    expiring = {
        rule["Prefix"]: rule["ExpirationInDays"]
        for rule in bucket["LifecycleConfiguration"]["Rules"]
        if "Prefix" in rule
    }
    assert expiring == {"incoming/": "RetentionDays", "processed/": "RetentionDays"}
    [tls_only] = resource("CameraBucketPolicy")["PolicyDocument"]["Statement"]
    assert tls_only["Effect"] == "Deny" and tls_only["Condition"] == {
        "Bool": {"aws:SecureTransport": "false"}
    }


def test_tables_are_on_demand_encrypted_and_recoverable() -> None:
    for name in ("ScansTable", "EmployeesTable", "FacesTable", "AuditTable"):
        table = resource(name)
        assert table["BillingMode"] == "PAY_PER_REQUEST"
        assert table["SSESpecification"] == {"SSEEnabled": True}
        assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    scans = resource("ScansTable")
    assert scans["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert {index["IndexName"] for index in scans["GlobalSecondaryIndexes"]} == {"by_day", "by_employee"}


def test_topic_collection_pool_groups_and_dead_letter_queue() -> None:
    assert resource("DecisionsTopic")["KmsMasterKeyId"] == "alias/aws/sns"
    assert "CollectionId" in resource("FaceCollection")
    assert {resource("AdminsGroup")["GroupName"], resource("SecurityGroup")["GroupName"]} == {
        "admins",
        "security",
    }
    assert resource("FailedScansQueue")["SqsManagedSseEnabled"] is True


def test_the_erasure_queue_outlasts_its_worker_and_dead_letters_failed_jobs() -> None:
    config = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())
    queue = resource("ErasureQueue")
    for stage in ("dev", "prod"):
        worker = config["stages"][stage]["lambda_functions"]["erasure_worker"]
        assert worker["lambda_timeout"] <= 900 and queue["VisibilityTimeout"] >= worker["lambda_timeout"]
    assert queue["SqsManagedSseEnabled"] is True and resource("FailedErasuresQueue")["SqsManagedSseEnabled"]
    receives = config["environment_variables"]["FACEGATE_ERASURE_MAX_RECEIVES"]
    assert queue["RedrivePolicy"]["maxReceiveCount"] == int(receives)  # the job reads FAILED on the last
    settle = int(config["environment_variables"]["FACEGATE_ERASURE_SETTLE_SECONDS"])
    assert settle > max(config["stages"][stage]["lambda_timeout"] for stage in ("dev", "prod"))


def test_every_output_is_a_setting_the_app_reads() -> None:
    config_source = (PROJECT_DIR / "chalicelib" / "config.py").read_text()
    assert set(template()["Outputs"]) == set(OUTPUT_ENV)
    unread = [
        env for env in OUTPUT_ENV.values() if env not in config_source and env != "FACEGATE_USER_POOL_ARN"
    ]
    assert unread == ["FACEGATE_FAILED_SCANS_QUEUE_ARN"]  # read by `make deploy`, not by the app


def test_the_sandbox_is_built_from_the_template(stack: Stack) -> None:
    dynamodb = stack.session.client("dynamodb")
    scans = dynamodb.describe_table(TableName=stack.settings.scans_table)["Table"]
    assert {index["IndexName"] for index in scans["GlobalSecondaryIndexes"]} == {"by_day", "by_employee"}
    stacks = stack.session.client("cloudformation").describe_stacks(StackName="facegate-sandbox")["Stacks"]
    assert stacks[0]["StackStatus"] == "CREATE_COMPLETE"


def test_the_sandbox_stage_config_matches_the_stack_it_builds(stack: Stack) -> None:
    outputs = stack.session.client("cloudformation").describe_stacks(StackName="facegate-sandbox")["Stacks"][
        0
    ]
    built = environment({o["OutputKey"]: o["OutputValue"] for o in outputs["Outputs"]})
    configured = stage_environment("sandbox", {})
    assert {name: configured.get(name) for name in built if name != "FACEGATE_FAILED_SCANS_QUEUE_ARN"} == {
        name: value for name, value in built.items() if name != "FACEGATE_FAILED_SCANS_QUEUE_ARN"
    }


def test_config_declares_every_deployable_stage_with_per_function_policies() -> None:
    config = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())
    assert config["autogen_policy"] is False
    for stage in ("dev", "prod"):
        functions = config["stages"][stage]["lambda_functions"]
        assert set(functions) == {"on_camera_upload", "api_handler", "daily_report", "erasure_worker"}
        for settings in functions.values():
            assert (PROJECT_DIR / ".chalice" / settings["iam_policy_file"]).exists()
