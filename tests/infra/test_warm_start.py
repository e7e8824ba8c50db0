"""The camera function's start as a stage setting: what ``make deploy`` does with it against
moto's Lambda and S3 (versions, the alias, S3's permission, the bucket's notifications), with
what moto does not model (provisioned concurrency, SnapStart) checked against botocore's
service model and recorded."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError
from botocore.validate import validate_parameters
from chalice.awsclient import TypedAWSClient

from infra.warm_start import (
    ALIAS,
    PROVISIONED_KEY,
    S3_PERMISSION_ID,
    SNAPSTART_KEY,
    WarmStart,
    apply,
    check_runtime,
    point_notifications_at_function,
    warm_start_of,
)
from sandbox.stack import PROJECT_DIR, Stack

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_s3 import S3Client

STAGE = "warm"
CAMERA = f"facegate-{STAGE}-on_camera_upload"
ENROLL = f"facegate-{STAGE}-on_enrollment_upload"
BUCKET = f"facegate-{STAGE}-camera-123456789012"
ACCOUNT = "123456789012"
QUEUE = f"arn:aws:sqs:us-east-1:{ACCOUNT}:facegate-{STAGE}-failed-scans"


class LambdaWithoutMotoGaps:
    """moto's Lambda client, plus what moto does not model: provisioned concurrency (no API)
    and SnapStart (ignored). Those calls are checked against botocore's service model, as
    the real client would send them, and their effect recorded; every other call is moto's."""

    def __init__(self, client: LambdaClient) -> None:
        self._client = client
        self.provisioned: dict[tuple[str, str], int] = {}
        self.snapstart: dict[str, str] = {}
        self.published_with_snapstart: dict[str, str] = {}
        self.invoke_configs: list[dict[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def _checked(self, operation: str, params: dict[str, Any]) -> None:
        shape = self._client.meta.service_model.operation_model(operation).input_shape
        assert shape is not None
        validate_parameters(params, shape)

    def put_provisioned_concurrency_config(self, **params: Any) -> dict[str, Any]:
        self._checked("PutProvisionedConcurrencyConfig", params)
        self._client.get_alias(FunctionName=params["FunctionName"], Name=params["Qualifier"])  # must exist
        key = (params["FunctionName"], params["Qualifier"])
        self.provisioned[key] = params["ProvisionedConcurrentExecutions"]
        return {"RequestedProvisionedConcurrentExecutions": self.provisioned[key], "Status": "IN_PROGRESS"}

    def delete_provisioned_concurrency_config(self, **params: Any) -> None:
        self._checked("DeleteProvisionedConcurrencyConfig", params)
        if self.provisioned.pop((params["FunctionName"], params["Qualifier"]), None) is None:
            error = {"Error": {"Code": "ProvisionedConcurrencyConfigNotFoundException", "Message": "none"}}
            raise ClientError(error, "DeleteProvisionedConcurrencyConfig")  # type: ignore[arg-type]

    def update_function_configuration(self, **params: Any) -> Any:
        self._checked("UpdateFunctionConfiguration", params)
        if "SnapStart" in params:
            self.snapstart[params["FunctionName"]] = params["SnapStart"]["ApplyOn"]
        return self._client.update_function_configuration(**params)

    def get_function_configuration(self, **params: Any) -> Any:
        configuration = self._client.get_function_configuration(**params)
        applied = self.snapstart.get(params["FunctionName"], "None")
        return {**configuration, "SnapStart": {"ApplyOn": applied}}

    def publish_version(self, **params: Any) -> Any:
        published = self._client.publish_version(**params)
        applied = self.snapstart.get(params["FunctionName"], "None")
        self.published_with_snapstart[published["Version"]] = applied
        return published

    def put_function_event_invoke_config(self, **params: Any) -> Any:
        self.invoke_configs.append(params)  # moto keeps one per function, whatever the qualifier
        return self._client.put_function_event_invoke_config(**params)


def _zip(release: int = 0) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", f"RELEASE = {release}\n\ndef handler(event, context):\n    return None\n")
    return buffer.getvalue()


@pytest.fixture
def deployed(stack: Stack) -> tuple[LambdaWithoutMotoGaps, S3Client]:
    """A stage as ``chalice deploy`` leaves it: the two S3-triggered functions, each called
    unqualified by the bucket's notification for its prefix."""
    session = stack.session
    role = session.client("iam").create_role(RoleName=f"{STAGE}-role", AssumeRolePolicyDocument="{}")["Role"]
    lambda_client = LambdaWithoutMotoGaps(session.client("lambda"))
    for name in (CAMERA, ENROLL):
        lambda_client.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role["Arn"],
            Handler="app.handler",
            Code={"ZipFile": _zip()},
        )
    s3 = session.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    chalice_deploys_the_trigger(s3, lambda_client, CAMERA, "incoming/")
    chalice_deploys_the_trigger(s3, lambda_client, ENROLL, "enroll/")
    return lambda_client, s3


def chalice_deploys_the_trigger(s3: S3Client, lambda_client: Any, function: str, prefix: str) -> None:
    """What ``chalice deploy`` does to the bucket's notifications: its own merge, by the
    function's unqualified ARN (``TypedAWSClient.connect_s3_bucket_to_lambda``; moto refuses
    Chalice's capitalised ``Prefix`` rule name, so the put is ours, with S3's lower case)."""
    arn = lambda_client.get_function_configuration(FunctionName=function)["FunctionArn"]
    config: dict[str, Any] = dict(s3.get_bucket_notification_configuration(Bucket=BUCKET))
    config.pop("ResponseMetadata", None)
    ours = {"LambdaFunctionArn": arn, "Events": ["s3:ObjectCreated:*"]}
    ours["Filter"] = {"Key": {"FilterRules": [{"Name": "prefix", "Value": prefix}]}}
    existing = config.get("LambdaFunctionConfigurations", [])
    merged = TypedAWSClient(None)._merge_s3_notification_config(existing, ours)  # type: ignore[arg-type]
    config["LambdaFunctionConfigurations"] = merged
    s3.put_bucket_notification_configuration(Bucket=BUCKET, NotificationConfiguration=config)  # type: ignore[arg-type]


def make_deploy(
    lambda_client: LambdaWithoutMotoGaps, s3: S3Client, warm: WarmStart, release: int | None = None
) -> str:
    """``make deploy``'s steps around ``chalice deploy`` for the camera function, whose new
    code (a ``release``) Chalice uploads to ``$LATEST``. No release: the code is unchanged
    (Lambda then publishes no new version; moto would count any upload as a change)."""
    point_notifications_at_function(s3, BUCKET, STAGE)
    if release is not None:
        lambda_client.update_function_code(FunctionName=CAMERA, ZipFile=_zip(release))
    chalice_deploys_the_trigger(s3, lambda_client, CAMERA, "incoming/")
    return apply(lambda_client, s3, STAGE, BUCKET, ACCOUNT, QUEUE, warm)  # type: ignore[arg-type]


def routes(s3: S3Client) -> dict[str, list[str]]:
    """Each prefix of the bucket's notifications → the ARNs it calls."""
    found: dict[str, list[str]] = {}
    config = s3.get_bucket_notification_configuration(Bucket=BUCKET)
    for entry in config.get("LambdaFunctionConfigurations", []):
        [rule] = entry["Filter"]["Key"]["FilterRules"]
        found.setdefault(rule["Value"], []).append(entry["LambdaFunctionArn"])
    return found


def versions(lambda_client: LambdaWithoutMotoGaps) -> list[str]:
    return [v["Version"] for v in lambda_client.list_versions_by_function(FunctionName=CAMERA)["Versions"]]


@pytest.mark.fresh_stack
def test_provisioned_concurrency_routes_the_photos_through_the_alias_and_redeploys_keep_one_route(
    deployed: tuple[LambdaWithoutMotoGaps, S3Client],
) -> None:
    lambda_client, s3 = deployed
    function_arn = lambda_client.get_function_configuration(FunctionName=CAMERA)["FunctionArn"]
    enroll_arn = lambda_client.get_function_configuration(FunctionName=ENROLL)["FunctionArn"]

    alias_arn = make_deploy(lambda_client, s3, WarmStart(provisioned=2))
    assert alias_arn == f"{function_arn}:{ALIAS}"
    assert routes(s3) == {"incoming/": [alias_arn], "enroll/": [enroll_arn]}
    assert lambda_client.provisioned == {(CAMERA, ALIAS): 2}
    alias = lambda_client.get_alias(FunctionName=CAMERA, Name=ALIAS)
    assert versions(lambda_client) == ["$LATEST", alias["FunctionVersion"]]
    policy = json.loads(lambda_client.get_policy(FunctionName=CAMERA, Qualifier=ALIAS)["Policy"])
    [grant] = [s for s in policy["Statement"] if s["Sid"] == S3_PERMISSION_ID]
    assert grant["Resource"] == alias_arn and grant["Principal"] == {"Service": "s3.amazonaws.com"}
    assert grant["Condition"]["ArnLike"]["AWS:SourceArn"] == f"arn:aws:s3:::{BUCKET}"
    assert grant["Condition"]["StringEquals"]["AWS:SourceAccount"] == ACCOUNT
    assert {
        "FunctionName": CAMERA,
        "Qualifier": ALIAS,
        "MaximumRetryAttempts": 2,
        "DestinationConfig": {"OnFailure": {"Destination": QUEUE}},
    } in lambda_client.invoke_configs  # the alias is retried and dead-lettered like $LATEST

    again = make_deploy(lambda_client, s3, WarmStart(provisioned=3))  # the same code: the same version
    assert again == alias_arn and routes(s3) == {"incoming/": [alias_arn], "enroll/": [enroll_arn]}
    assert versions(lambda_client) == ["$LATEST", alias["FunctionVersion"]]
    assert lambda_client.provisioned == {(CAMERA, ALIAS): 3}

    make_deploy(lambda_client, s3, WarmStart(provisioned=3), release=2)  # new code: a new version
    newer = lambda_client.get_alias(FunctionName=CAMERA, Name=ALIAS)["FunctionVersion"]
    assert newer != alias["FunctionVersion"] and versions(lambda_client) == ["$LATEST", newer]
    assert routes(s3) == {"incoming/": [alias_arn], "enroll/": [enroll_arn]}

    on_demand = make_deploy(lambda_client, s3, WarmStart())  # the setting removed: all undone
    assert on_demand == CAMERA and routes(s3) == {"incoming/": [function_arn], "enroll/": [enroll_arn]}
    assert lambda_client.provisioned == {} and versions(lambda_client) == ["$LATEST"]
    with pytest.raises(ClientError, match=r"ResourceNotFoundException|not found"):
        lambda_client.get_alias(FunctionName=CAMERA, Name=ALIAS)


@pytest.mark.fresh_stack
def test_without_pointing_back_first_chalices_merge_would_add_a_second_route_for_the_photos(
    deployed: tuple[LambdaWithoutMotoGaps, S3Client],
) -> None:
    """Why the step before ``chalice deploy`` exists: S3 refuses two configurations for one
    prefix and event (moto does not), so a redeploy would fail."""
    lambda_client, s3 = deployed
    make_deploy(lambda_client, s3, WarmStart(provisioned=1))
    chalice_deploys_the_trigger(s3, lambda_client, CAMERA, "incoming/")
    assert len(routes(s3)["incoming/"]) == 2


@pytest.mark.fresh_stack
def test_snapstart_is_on_when_the_version_is_published_and_off_again_when_the_setting_goes(
    deployed: tuple[LambdaWithoutMotoGaps, S3Client],
) -> None:
    lambda_client, s3 = deployed
    alias_arn = make_deploy(lambda_client, s3, WarmStart(snapstart=True))
    version = lambda_client.get_alias(FunctionName=CAMERA, Name=ALIAS)["FunctionVersion"]
    assert lambda_client.published_with_snapstart[version] == "PublishedVersions"
    assert lambda_client.provisioned == {} and routes(s3)["incoming/"] == [alias_arn]
    make_deploy(lambda_client, s3, WarmStart())
    assert lambda_client.snapstart[CAMERA] == "None" and versions(lambda_client) == ["$LATEST"]


@pytest.mark.fresh_stack
def test_a_version_the_sites_own_alias_names_is_not_deleted(
    deployed: tuple[LambdaWithoutMotoGaps, S3Client],
) -> None:
    lambda_client, s3 = deployed
    make_deploy(lambda_client, s3, WarmStart(provisioned=1), release=1)
    pinned = lambda_client.get_alias(FunctionName=CAMERA, Name=ALIAS)["FunctionVersion"]
    lambda_client.create_alias(FunctionName=CAMERA, Name="rollback", FunctionVersion=pinned)
    make_deploy(lambda_client, s3, WarmStart(provisioned=1), release=2)
    current = lambda_client.get_alias(FunctionName=CAMERA, Name=ALIAS)["FunctionVersion"]
    assert versions(lambda_client) == ["$LATEST", pinned, current]
    make_deploy(lambda_client, s3, WarmStart())
    assert versions(lambda_client) == ["$LATEST", pinned]


@pytest.mark.fresh_stack
def test_destroy_points_the_photos_back_at_the_function_so_chalice_delete_removes_the_route(
    deployed: tuple[LambdaWithoutMotoGaps, S3Client],
) -> None:
    lambda_client, s3 = deployed
    function_arn = lambda_client.get_function_configuration(FunctionName=CAMERA)["FunctionArn"]
    make_deploy(lambda_client, s3, WarmStart(provisioned=1))
    assert point_notifications_at_function(s3, BUCKET, STAGE) == 1
    assert routes(s3)["incoming/"] == [function_arn]
    assert point_notifications_at_function(s3, BUCKET, STAGE) == 0  # nothing left to move


def _config_with(tmp_path: Path, **stage_keys: object) -> Path:
    config = tmp_path / "config.json"
    shutil.copy(PROJECT_DIR / ".chalice" / "config.json", config)
    on_disk = json.loads(config.read_text())
    on_disk["stages"]["dev"].update(stage_keys)
    config.write_text(json.dumps(on_disk))
    return config


def test_the_shipped_stages_start_on_demand() -> None:
    assert warm_start_of("dev") == warm_start_of("prod") == WarmStart()


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ({SNAPSTART_KEY: True}, WarmStart(snapstart=True)),
        ({PROVISIONED_KEY: 2}, WarmStart(provisioned=2)),
        ({SNAPSTART_KEY: False, PROVISIONED_KEY: 0}, WarmStart()),
    ],
)
def test_a_stage_setting_is_read(tmp_path: Path, keys: dict[str, object], expected: WarmStart) -> None:
    assert warm_start_of("dev", _config_with(tmp_path, **keys)) == expected


@pytest.mark.parametrize(
    "keys",
    [
        {SNAPSTART_KEY: "true"},
        {SNAPSTART_KEY: 1},
        {PROVISIONED_KEY: -1},
        {PROVISIONED_KEY: 101},
        {PROVISIONED_KEY: 1.5},
        {PROVISIONED_KEY: True},
        {PROVISIONED_KEY: "2"},
        {SNAPSTART_KEY: True, PROVISIONED_KEY: 1},
    ],
    ids=["string", "number", "negative", "too-many", "fraction", "bool", "string-count", "both"],
)
def test_a_setting_that_lambda_would_refuse_or_bill_by_mistake_stops_the_deploy(
    tmp_path: Path, keys: dict[str, object]
) -> None:
    with pytest.raises(SystemExit, match="facegate_camera_"):
        warm_start_of("dev", _config_with(tmp_path, **keys))


def test_snapstart_needs_python_3_12_to_deploy_on() -> None:
    with pytest.raises(SystemExit, match=r"python3\.12"):
        check_runtime(WarmStart(snapstart=True), (3, 11))
    check_runtime(WarmStart(snapstart=True), (3, 12))
    check_runtime(WarmStart(provisioned=1), (3, 11))  # any runtime
