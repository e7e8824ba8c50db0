"""How the camera function starts, a stage setting: on demand (the default), SnapStart, or
provisioned concurrency. ``make deploy`` applies it after ``chalice deploy``.

In ``.chalice/config.json``, in a stage's entry (keys of ours: Chalice reads only its own):

    "facegate_camera_snapstart": true               (python3.12 or later only)
    "facegate_camera_provisioned_concurrency": 2    (environments kept initialised)

not both (Lambda refuses SnapStart with provisioned concurrency). Either applies only to a
published version or an alias, never to ``$LATEST``, and Chalice's S3 trigger calls
``$LATEST``: its notification names the unqualified function and Chalice merges the bucket's
notifications by that ARN. So with either set, the photos go through the alias ``live``:

- before ``chalice deploy`` (and ``chalice delete``): every notification that calls the alias
  is pointed back at the function, so that Chalice *replaces* it (S3 refuses two
  configurations for the same prefix and event);
- after it: SnapStart on or off for new versions, a version published (with SnapStart,
  Lambda runs the init then and snapshots it) and waited for, ``live`` pointed at it,
  provisioned concurrency put on ``live`` (or removed), S3 allowed to invoke ``live``,
  ``live``'s retries and on-failure destination (infra/invocations.py), the notification
  moved to ``live``, and every other published version deleted.

With neither set, a deploy removes what an earlier one made: the alias (with its provisioned
concurrency), SnapStart, the versions. Between the two steps, and whenever a step fails,
photos reach ``$LATEST`` with the same retries: the door works, on demand.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import ClientError

from infra.invocations import configure_async_invocations
from infra.stage import CHALICE_CONFIG, lambda_function_name

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_s3 import S3Client

ALIAS = "live"  # facegate_cli/dead_letters.py accepts records of a function called at this qualifier
SNAPSTART_KEY = "facegate_camera_snapstart"
PROVISIONED_KEY = "facegate_camera_provisioned_concurrency"
MAX_PROVISIONED = 100  # a guard against a typo that would bill hundreds of environments
S3_PERMISSION_ID = "facegate-s3-invokes-live"
SNAPSTART_FIRST_MINOR = 12  # python3.12: the first Python runtime with SnapStart
CAMERA_FUNCTION = "on_camera_upload"
_NOT_THERE = {"ResourceNotFoundException", "ProvisionedConcurrencyConfigNotFoundException"}


@dataclass(frozen=True)
class WarmStart:
    """A stage's setting for the camera function's start."""

    snapstart: bool = False
    provisioned: int = 0  # environments Lambda keeps initialised on the alias

    @property
    def through_alias(self) -> bool:
        return self.snapstart or self.provisioned > 0

    def describe(self) -> str:
        if self.snapstart:
            return "SnapStart (new environments restored from the published version's snapshot)"
        if self.provisioned:
            return f"provisioned concurrency: {self.provisioned} environment(s) kept initialised"
        return "on demand"


def warm_start_of(stage: str, config_path: Path = CHALICE_CONFIG) -> WarmStart:
    """The stage's setting, checked; SystemExit names what is wrong."""
    entry = json.loads(config_path.read_text())["stages"][stage]
    snapstart, provisioned = entry.get(SNAPSTART_KEY, False), entry.get(PROVISIONED_KEY, 0)
    where = f"{config_path.name} [{stage}]"
    if type(snapstart) is not bool:
        raise SystemExit(f"{where}: {SNAPSTART_KEY} must be true or false, not {snapstart!r}")
    if type(provisioned) is not int or not 0 <= provisioned <= MAX_PROVISIONED:
        raise SystemExit(
            f"{where}: {PROVISIONED_KEY} must be a whole number 0–{MAX_PROVISIONED}, not {provisioned!r}"
        )
    if snapstart and provisioned:
        raise SystemExit(f"{where}: Lambda refuses {SNAPSTART_KEY} with {PROVISIONED_KEY}: choose one")
    return WarmStart(snapstart, provisioned)


def check_runtime(warm: WarmStart, python: tuple[int, int] = sys.version_info[:2]) -> None:
    """SnapStart needs python3.12+; Chalice deploys the runtime of the Python it runs on."""
    if warm.snapstart and python < (3, SNAPSTART_FIRST_MINOR):
        raise SystemExit(
            f"SnapStart needs the python3.{SNAPSTART_FIRST_MINOR} runtime or later and Chalice deploys the "
            f"runtime of the Python it runs on ({python[0]}.{python[1]}): run `make deploy` from Python 3.12+"
        )


def point_notifications_at_function(s3: S3Client, bucket: str, stage: str) -> int:
    """Every notification of ``bucket`` that calls the camera function's alias now calls the
    function itself; the number changed (before ``chalice deploy`` and ``chalice delete``)."""
    name = lambda_function_name(stage, CAMERA_FUNCTION)
    alias_arn = re.compile(rf"(arn:[^:]+:lambda:[^:]+:[0-9]+:function:{re.escape(name)}):{ALIAS}")
    return _retarget(s3, bucket, lambda arn: m[1] if (m := alias_arn.fullmatch(arn)) else None)


def point_notifications_at_alias(s3: S3Client, bucket: str, function_arn: str) -> int:
    """Every notification of ``bucket`` that calls ``function_arn`` now calls its alias."""
    return _retarget(s3, bucket, lambda arn: f"{function_arn}:{ALIAS}" if arn == function_arn else None)


def _retarget(s3: S3Client, bucket: str, new_arn_of: Callable[[str], str | None]) -> int:
    config: dict[str, Any] = dict(s3.get_bucket_notification_configuration(Bucket=bucket))
    config.pop("ResponseMetadata", None)
    changed = 0
    for entry in config.get("LambdaFunctionConfigurations", []):
        new_arn = new_arn_of(entry["LambdaFunctionArn"])
        if new_arn is not None:
            entry["LambdaFunctionArn"] = new_arn
            changed += 1
    if changed:
        s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=config)  # type: ignore[arg-type]
    return changed


def apply(
    lambda_client: LambdaClient,
    s3: S3Client,
    stage: str,
    bucket: str,
    account: str,
    queue_arn: str,
    warm: WarmStart,
) -> str:
    """After ``chalice deploy``: route the camera's photos through ``live`` with the stage's
    setting, or remove an earlier deploy's alias; what the camera function now calls."""
    if not warm.through_alias:
        remove_alias(lambda_client, stage)
        delete_other_versions(lambda_client, stage, keep=None)
        return lambda_function_name(stage, CAMERA_FUNCTION)
    alias_arn, version = publish_alias(lambda_client, stage, bucket, account, warm)
    configure_async_invocations(lambda_client, stage, queue_arn, (CAMERA_FUNCTION,), qualifier=ALIAS)
    point_notifications_at_alias(s3, bucket, alias_arn.rsplit(":", 1)[0])
    delete_other_versions(lambda_client, stage, keep=version)
    return alias_arn


def publish_alias(
    lambda_client: LambdaClient, stage: str, bucket: str, account: str, warm: WarmStart
) -> tuple[str, str]:
    """Publish the camera function's code as a version behind ``live`` with the stage's start
    setting and S3's permission; the alias's ARN and its version. The notification is not
    moved here."""
    name = lambda_function_name(stage, CAMERA_FUNCTION)
    lambda_client.get_waiter("function_updated_v2").wait(FunctionName=name)  # chalice deploy's update
    _set_snapstart(lambda_client, name, warm.snapstart)
    version = lambda_client.publish_version(FunctionName=name, Description="make deploy")["Version"]
    lambda_client.get_waiter("published_version_active").wait(FunctionName=name, Qualifier=version)
    try:
        alias = lambda_client.update_alias(FunctionName=name, Name=ALIAS, FunctionVersion=version)
    except ClientError as error:
        if _code(error) != "ResourceNotFoundException":
            raise
        alias = lambda_client.create_alias(FunctionName=name, Name=ALIAS, FunctionVersion=version)
    if warm.provisioned:
        lambda_client.put_provisioned_concurrency_config(
            FunctionName=name, Qualifier=ALIAS, ProvisionedConcurrentExecutions=warm.provisioned
        )
    else:
        _delete_provisioned_concurrency(lambda_client, name)
    alias_arn = alias["AliasArn"]
    partition = alias_arn.split(":")[1]
    _ignore_missing(
        lambda_client.remove_permission, FunctionName=name, Qualifier=ALIAS, StatementId=S3_PERMISSION_ID
    )
    lambda_client.add_permission(
        FunctionName=name,
        Qualifier=ALIAS,
        StatementId=S3_PERMISSION_ID,
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
        SourceArn=f"arn:{partition}:s3:::{bucket}",
        SourceAccount=account,
    )
    return alias_arn, version


def remove_alias(lambda_client: LambdaClient, stage: str) -> None:
    """Undo an earlier deploy's alias (and its provisioned concurrency) and SnapStart. The
    notifications must already call the function."""
    name = lambda_function_name(stage, CAMERA_FUNCTION)
    try:
        lambda_client.get_alias(FunctionName=name, Name=ALIAS)
    except ClientError as error:
        if _code(error) != "ResourceNotFoundException":
            raise
    else:
        _delete_provisioned_concurrency(lambda_client, name)
        lambda_client.delete_alias(FunctionName=name, Name=ALIAS)
    lambda_client.get_waiter("function_updated_v2").wait(FunctionName=name)
    _set_snapstart(lambda_client, name, False)


def delete_other_versions(lambda_client: LambdaClient, stage: str, keep: str | None) -> list[str]:
    """Delete every published version of the camera function but ``keep`` and those another
    alias (one of the site's own) names: each one is code stored, and with SnapStart a
    snapshot cached and billed, until deleted."""
    name = lambda_function_name(stage, CAMERA_FUNCTION)
    pages = lambda_client.get_paginator("list_versions_by_function").paginate(FunctionName=name)
    versions = [version["Version"] for page in pages for version in page["Versions"]]
    aliases = lambda_client.get_paginator("list_aliases").paginate(FunctionName=name)
    named = {alias["FunctionVersion"] for page in aliases for alias in page["Aliases"]}
    doomed = [version for version in versions if version not in {"$LATEST", keep, *named}]
    for version in doomed:
        lambda_client.delete_function(FunctionName=name, Qualifier=version)
    return doomed


def _set_snapstart(lambda_client: LambdaClient, name: str, on: bool) -> None:
    wanted: Literal["PublishedVersions", "None"] = "PublishedVersions" if on else "None"
    configuration = lambda_client.get_function_configuration(FunctionName=name)
    current = configuration.get("SnapStart", {}).get("ApplyOn", "None")
    if current != wanted:
        lambda_client.update_function_configuration(FunctionName=name, SnapStart={"ApplyOn": wanted})
        lambda_client.get_waiter("function_updated_v2").wait(FunctionName=name)


def _delete_provisioned_concurrency(lambda_client: LambdaClient, name: str) -> None:
    _ignore_missing(lambda_client.delete_provisioned_concurrency_config, FunctionName=name, Qualifier=ALIAS)


def _ignore_missing(call: Any, **params: Any) -> None:
    try:
        call(**params)
    except ClientError as error:
        if _code(error) not in _NOT_THERE:
            raise


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
