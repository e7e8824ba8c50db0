"""The CloudFormation template: lint-clean, secure by default, and the sandbox's own source."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from infra.stage import OPERATOR_OUTPUTS, OUTPUT_ENV, TEMPLATE, environment
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
    loaded: dict[str, Any] = yaml.load(TEMPLATE.read_text(), Loader=CfnLoader)
    return loaded


def resource(name: str) -> dict[str, Any]:
    properties: dict[str, Any] = template()["Resources"][name]["Properties"]
    return properties


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
        rule["Prefix"]: rule.get("ExpirationInDays")
        for rule in bucket["LifecycleConfiguration"]["Rules"]
        if "Prefix" in rule
    }
    # drop-folder photos are deleted when handled: the rule is a backstop for a lost event;
    # the latest gallery snapshot never expires (only versions a publish left behind do)
    assert expiring == {
        "incoming/": "RetentionDays",
        "processed/": "RetentionDays",
        "enroll/": 1,
        "gallery/": None,
        "door-events/": "RetentionDays",  # recorded in the audit at once; kept to replay a dead letter
        "alerts/": 15,  # outage alert markers: as long as a dead letter can come back (14 days)
        "pending/": 14,  # drop-folder photos nobody approved or rejected (keys.PENDING_DAYS)
    }
    [tls_only] = resource("CameraBucketPolicy")["PolicyDocument"]["Statement"]
    assert tls_only["Effect"] == "Deny" and tls_only["Condition"] == {
        "Bool": {"aws:SecureTransport": "false"}
    }


def test_tables_are_on_demand_encrypted_and_recoverable() -> None:
    tables = [
        name for name, value in template()["Resources"].items() if value["Type"] == "AWS::DynamoDB::Table"
    ]
    assert sorted(tables) == ["AccessTable", "AuditTable", "EmployeesTable", "FacesTable", "ScansTable"]
    for name in tables:
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
    config_source = (PROJECT_DIR / "chalicelib" / "core" / "config.py").read_text()
    assert set(template()["Outputs"]) == set(OUTPUT_ENV) | set(OPERATOR_OUTPUTS)
    unread = [
        env for env in OUTPUT_ENV.values() if env not in config_source and env != "FACEGATE_USER_POOL_ARN"
    ]
    # read by `make deploy`, not by the app
    assert unread == ["FACEGATE_FAILED_SCANS_QUEUE_ARN"]


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
    not_app_settings = ("FACEGATE_FAILED_SCANS_QUEUE_ARN",)
    assert {name: configured.get(name) for name in built if name not in not_app_settings} == {
        name: value for name, value in built.items() if name not in not_app_settings
    }


# Every Lambda function the app deploys, as Chalice names them (the one list the tests share).
FUNCTIONS = (
    "on_camera_upload",
    "on_enrollment_upload",
    "on_door_event",
    "api_handler",
    "daily_report",
    "erasure_worker",
    "gallery_health_worker",
    "gallery_snapshot",
    "retention_sweep",
)


def test_config_declares_every_deployable_stage_with_per_function_policies() -> None:
    config = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())
    assert config["autogen_policy"] is False
    for stage in ("dev", "prod"):
        functions = config["stages"][stage]["lambda_functions"]
        assert set(functions) == set(FUNCTIONS)
        for settings in functions.values():
            assert (PROJECT_DIR / ".chalice" / settings["iam_policy_file"]).exists()


CAMERA_ROLE = "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/facegate-${Stage}-on_camera_upload"


def as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def _only_the_camera_function(statement: dict[str, Any], action: str, *also: str) -> bool:
    publishers = [CAMERA_ROLE, *also] if also else CAMERA_ROLE
    return bool(
        statement["Effect"] == "Deny"
        and statement["Principal"] == "*"
        and statement["Action"] == action
        and statement["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": publishers}}
    )


def test_only_the_camera_function_and_door_events_may_publish_on_the_decisions_topic() -> None:
    # moto does not enforce topic policies: this checks the policy's content, not its effect.
    # The door-event function's messages carry no door_id: no door's queue takes them.
    policy = resource("DecisionsTopicPolicy")
    assert policy["Topics"] == ["DecisionsTopic"]
    statements = policy["PolicyDocument"]["Statement"]
    door_events = CAMERA_ROLE.replace("on_camera_upload", "on_door_event")
    assert [s["Sid"] for s in statements if _only_the_camera_function(s, "sns:Publish", door_events)] == [
        "OnlyTheCameraFunctionPublishes"
    ]
    allowed = [a for s in statements if s["Effect"] == "Allow" for a in s["Action"]]
    assert "sns:Publish" not in allowed and "sns:Subscribe" in allowed


def test_only_the_enrollment_function_may_announce_enrollments_to_admins() -> None:
    policy = resource("AdminTopicPolicy")
    assert policy["Topics"] == ["AdminTopic"]
    statements = policy["PolicyDocument"]["Statement"]
    enroll_role = CAMERA_ROLE.replace("on_camera_upload", "on_enrollment_upload")
    denies = [
        s["Sid"]
        for s in statements
        if s["Effect"] == "Deny"
        and s["Principal"] == "*"
        and s["Action"] == "sns:Publish"
        and s["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": enroll_role}}
    ]
    assert denies == ["OnlyTheEnrollmentFunctionPublishes"]
    allowed = [a for s in statements if s["Effect"] == "Allow" for a in s["Action"]]
    assert "sns:Publish" not in allowed and "sns:Subscribe" in allowed


def test_chalice_names_the_camera_functions_role_as_the_policies_expect() -> None:
    from chalice.config import Config
    from chalice.deploy.appgraph import ApplicationGraphBuilder

    config = Config(
        chalice_stage="prod",
        function_name="on_camera_upload",
        user_provided_params={"project_dir": str(PROJECT_DIR)},
        config_from_disk=json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text()),
    )
    role: Any = ApplicationGraphBuilder()._create_role_reference(config, "prod", "on_camera_upload")
    assert role.role_name == "facegate-prod-on_camera_upload"
    assert CAMERA_ROLE.replace("${Stage}", "prod").endswith(f":role/{role.role_name}")
    enroll: Any = ApplicationGraphBuilder()._create_role_reference(config, "prod", "on_enrollment_upload")
    assert enroll.role_name == "facegate-prod-on_enrollment_upload"  # the admin topic's policy names it


def test_decisions_are_signed_with_an_hmac_key_only_the_camera_function_can_use() -> None:
    key = resource("SigningKey")
    assert (key["KeySpec"], key["KeyUsage"]) == ("HMAC_256", "GENERATE_VERIFY_MAC")
    statements = key["KeyPolicy"]["Statement"]
    assert [s["Sid"] for s in statements if _only_the_camera_function(s, "kms:GenerateMac")] == [
        "OnlyTheCameraFunctionSigns"
    ]
    assert resource("SigningKeyAlias")["AliasName"] == "alias/facegate-${Stage}-decision-signing"
    config = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())
    for stage in ("dev", "prod", "sandbox"):
        variables = config["stages"][stage]["environment_variables"]
        assert variables["FACEGATE_SIGNING_KEY"] == f"alias/facegate-{stage}-decision-signing"


API_ROLE = CAMERA_ROLE.replace("on_camera_upload", "api_handler")


def test_door_commands_are_signed_with_their_own_key_only_the_api_function_can_use() -> None:
    key = resource("CommandKey")
    assert (key["KeySpec"], key["KeyUsage"]) == ("HMAC_256", "GENERATE_VERIFY_MAC")
    statements = key["KeyPolicy"]["Statement"]
    only_the_api = [
        s["Sid"]
        for s in statements
        if s["Effect"] == "Deny"
        and s["Principal"] == "*"
        and s["Action"] == "kms:GenerateMac"
        and s["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": API_ROLE}}
    ]
    assert only_the_api == ["OnlyTheApiFunctionSigns"]
    # Not the decision key's policy: the camera function, which signs decisions, cannot sign commands.
    assert not any(_only_the_camera_function(s, "kms:GenerateMac") for s in statements)
    assert [s["Sid"] for s in statements if s["Effect"] == "Allow"] == ["AccountAdministersTheKey"]
    assert resource("CommandKeyAlias")["AliasName"] == "alias/facegate-${Stage}-door-commands"
    assert resource("CommandKeyAlias")["TargetKeyId"] == "CommandKey"
    config = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())
    for stage in ("dev", "prod", "sandbox"):
        variables = config["stages"][stage]["environment_variables"]
        assert variables["FACEGATE_COMMAND_KEY"] == f"alias/facegate-{stage}-door-commands"
        assert variables["FACEGATE_COMMAND_KEY"] != variables["FACEGATE_SIGNING_KEY"]


def test_chalice_names_the_api_functions_role_as_the_command_key_expects() -> None:
    """The API's function is "facegate-<stage>", but its role keeps the handler's name."""
    from chalice.config import Config
    from chalice.deploy.appgraph import ApplicationGraphBuilder

    config = Config(
        chalice_stage="prod",
        function_name="api_handler",
        user_provided_params={"project_dir": str(PROJECT_DIR)},
        config_from_disk=json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text()),
    )
    role: Any = ApplicationGraphBuilder()._create_role_reference(config, "prod", "api_handler")
    assert role.role_name == "facegate-prod-api_handler"
    assert API_ROLE.replace("${Stage}", "prod").endswith(f":role/{role.role_name}")
