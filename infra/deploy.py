"""Deploy, destroy and package a facegate stage: ``python -m infra.deploy COMMAND STAGE``.

deploy: create or update the stage's CloudFormation stack, write its outputs into the
stage's environment in .chalice/config.json and its bucket and account into the stage's
policies (.chalice/policy-STAGE-*.json), build and publish the local engine's layer
when the stage uses it, run ``chalice deploy``, then send scans that failed all retries
to the dead-letter queue and apply the camera function's start setting (infra/warm_start.py:
on demand, SnapStart or provisioned concurrency behind the alias ``live``). destroy: the
reverse, the photos pointed back at the function, buckets emptied first and the local
engine's layer versions deleted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from infra.bytecode import CHECKED, precompile
from infra.invocations import configure_async_invocations
from infra.logs import add_log_groups_to_terraform, log_retention_days, set_log_retention
from infra.stage import CHALICE_CONFIG, deploy_stack, environment, stack_name, stage_variables
from infra.warm_start import apply as apply_warm_start
from infra.warm_start import check_runtime, point_notifications_at_function, warm_start_of

if TYPE_CHECKING:
    import boto3.session
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef

PROJECT_DIR = Path(__file__).resolve().parent.parent
CONFIG = CHALICE_CONFIG
OUT = PROJECT_DIR / "out"


def stage_config(stage: str, config_path: Path = CONFIG) -> dict[str, str]:
    """A deployable stage's variables (the offline ``sandbox`` stage is not one)."""
    try:
        if stage != "sandbox":
            return stage_variables(stage, config_path)
    except KeyError:
        pass
    raise SystemExit(f"no deployable stage {stage!r} in {config_path}")


def write_outputs(
    stage: str, stack_env: dict[str, str], layers: list[str] | None, config_path: Path = CONFIG
) -> None:
    """Record the stack's names in the stage's environment (and the layer, if any)."""
    config = json.loads(config_path.read_text())
    stage_entry = config["stages"][stage]
    stage_entry.setdefault("environment_variables", {}).update(stack_env)
    if layers is not None:
        stage_entry["layers"] = layers
    config_path.write_text(json.dumps(config, indent=2) + "\n")


ACCOUNT_KEYS = ("aws:ResourceAccount", "s3:ResourceAccount")


def write_policies(stage: str, bucket: str, account: str, chalice_dir: Path = CONFIG.parent) -> list[Path]:
    """Name the stage's bucket exactly and its account in every S3 grant of the stage's policies.

    A pattern such as ``facegate-dev-camera-*`` would match a bucket of that name in any
    account; the exact name plus ``aws:ResourceAccount`` keep the functions (and their
    photos) in ours even if the bucket is deleted and its name taken by someone else.
    """
    written = []
    for path in sorted(chalice_dir.glob(f"policy-{stage}-*.json")):
        policy = json.loads(path.read_text())
        for statement in policy["Statement"]:
            resources = statement["Resource"]
            renamed = [_in_bucket(arn, stage, bucket) for arn in _listed(resources)]
            statement["Resource"] = renamed[0] if isinstance(resources, str) else renamed
            for keys in statement.get("Condition", {}).values():
                for key in keys:
                    if key in ACCOUNT_KEYS:
                        keys[key] = account
        path.write_text(json.dumps(policy, indent=2) + "\n")
        written.append(path)
    return written


def _listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def _in_bucket(arn: str, stage: str, bucket: str) -> str:
    """``arn:aws:s3:::<the stage's camera bucket, whatever it was>/…`` renamed to ``bucket``."""
    prefix = f"arn:aws:s3:::facegate-{stage}-camera-"
    if not arn.startswith(prefix):
        return arn
    _, slash, path = arn.partition("/")
    return f"arn:aws:s3:::{bucket}{slash}{path}"


def deploy(stage: str, with_dlib: bool = False) -> None:
    import boto3

    env = stage_config(stage)
    warm = warm_start_of(stage)
    check_runtime(warm)
    session = boto3.session.Session()
    print(f"stack {stack_name(stage)}: creating or updating …", flush=True)
    stack_outputs = deploy_stack(
        session.client("cloudformation"),
        stage,
        retention_days=int(env.get("FACEGATE_RETENTION_DAYS", "30")),
        report_sender=env.get("FACEGATE_REPORT_FROM", ""),
        ops_email=os.environ.get("FACEGATE_OPS_EMAIL"),  # None: keep the stack's address
    )
    layers = None
    if env.get("FACEGATE_ENGINE", "local") == "local":
        layers = [publish_layer(session, stage, stack_outputs["CameraBucket"], with_dlib)]
    write_outputs(stage, environment(stack_outputs), layers)
    print(f"wrote the stack's outputs into {CONFIG.relative_to(PROJECT_DIR)} [{stage}]")
    account = session.client("sts").get_caller_identity()["Account"]
    for path in write_policies(stage, stack_outputs["CameraBucket"], account):
        print(f"tied {path.relative_to(PROJECT_DIR)} to s3://{stack_outputs['CameraBucket']} in {account}")
    bucket, queue = stack_outputs["CameraBucket"], stack_outputs["FailedScansQueueArn"]
    point_notifications_at_function(session.client("s3"), bucket, stage)  # Chalice replaces, not adds
    precompile_app()
    # Chalice imports app.py with the stage's variables, so the trigger's bucket and the
    # authorizer's pool come from what was just written.
    subprocess.run(["chalice", "deploy", "--stage", stage], cwd=PROJECT_DIR, check=True)
    lambda_client = session.client("lambda")
    configure_async_invocations(lambda_client, stage, queue)
    camera = apply_warm_start(lambda_client, session.client("s3"), stage, bucket, account, queue, warm)
    print(f"photos in s3://{bucket}/incoming/ call {camera}: {warm.describe()}")
    days = log_retention_days(stage)
    for group in set_log_retention(session.client("logs"), stage, days):
        print(f"{group}: logs expire after {days} days")
    print(f"{stage} deployed; failed S3 events go to {stack_outputs['FailedScansQueueArn']}")


def precompile_app() -> None:
    """Bytecode for ``chalicelib/``, which Chalice zips with its ``__pycache__`` (checked
    hash pycs: a developer's later edit is seen, never a stale pyc run; infra/bytecode.py)."""
    pycs = precompile(PROJECT_DIR / "chalicelib", CHECKED)
    print(f"chalicelib: {pycs} modules precompiled for {sys.implementation.cache_tag}")


def publish_layer(session: boto3.session.Session, stage: str, bucket: str, with_dlib: bool = False) -> str:
    """Build the local engine's layer (with dlib for a site still upgrading from it),
    upload it next to the stage's photos, publish it."""
    from infra.layer import build_layer

    if sys.version_info < (3, 12):
        raise SystemExit(
            "the local engine's layer needs the python3.12 Lambda runtime, and Chalice deploys "
            "the runtime of the Python it runs on: run `make deploy` from Python 3.12 or newer"
        )
    runtime = f"{sys.version_info.major}.{sys.version_info.minor}"
    zipped, unzipped = build_layer(
        OUT / f"layer-local-engine-{stage}.zip", python_version=runtime, with_dlib=with_dlib
    )
    print(f"layer: {zipped.stat().st_size / 1e6:.1f} MB zipped, {unzipped / 1e6:.1f} MB unzipped")
    key = f"artifacts/{zipped.name}"
    session.client("s3").upload_file(str(zipped), bucket, key)
    layer = session.client("lambda").publish_layer_version(
        LayerName=layer_name(stage),
        Content={"S3Bucket": bucket, "S3Key": key},
        CompatibleRuntimes=[f"python{runtime}"],
        CompatibleArchitectures=["x86_64"],
    )
    return str(layer["LayerVersionArn"])


def destroy(stage: str) -> None:
    import boto3

    session = boto3.session.Session()
    cloudformation = session.client("cloudformation")
    camera_bucket = stage_config(stage).get("FACEGATE_CAMERA_BUCKET")
    with contextlib.suppress(ClientError):  # the bucket is gone already: nothing calls the alias
        if camera_bucket:
            point_notifications_at_function(session.client("s3"), camera_bucket, stage)
    subprocess.run(["chalice", "delete", "--stage", stage], cwd=PROJECT_DIR, check=False)
    for version in delete_layer_versions(session.client("lambda"), stage):
        print(f"deleted layer version {version}")
    for bucket in stack_buckets(cloudformation, stack_name(stage)):  # the camera's, the query results'
        empty_bucket(session.client("s3"), bucket)
    cloudformation.delete_stack(StackName=stack_name(stage))
    cloudformation.get_waiter("stack_delete_complete").wait(StackName=stack_name(stage))
    print(f"{stage} destroyed")


def layer_name(stage: str) -> str:
    return f"facegate-{stage}-local-engine"


def delete_layer_versions(lambda_client: LambdaClient, stage: str) -> list[str]:
    """Delete every version of the stage's local-engine layer (``chalice delete`` leaves them,
    and each is a ~47 MB zip stored, and billed, until deleted)."""
    deleted = []
    for page in lambda_client.get_paginator("list_layer_versions").paginate(LayerName=layer_name(stage)):
        for version in page["LayerVersions"]:
            lambda_client.delete_layer_version(LayerName=layer_name(stage), VersionNumber=version["Version"])
            deleted.append(version["LayerVersionArn"])
    return deleted


def stack_buckets(cloudformation: CloudFormationClient, name: str) -> list[str]:
    """The name of every bucket the stack created."""
    pages = cloudformation.get_paginator("list_stack_resources").paginate(StackName=name)
    resources = [resource for page in pages for resource in page["StackResourceSummaries"]]
    return [r["PhysicalResourceId"] for r in resources if r["ResourceType"] == "AWS::S3::Bucket"]


def empty_bucket(s3: S3Client, bucket: str) -> int:
    """Delete every object version and delete marker (CloudFormation cannot delete a full bucket)."""
    deleted = 0
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        doomed: list[ObjectIdentifierTypeDef] = [
            {"Key": entry["Key"], "VersionId": entry["VersionId"]}
            for entry in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        for start in range(0, len(doomed), 1000):
            s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed[start : start + 1000], "Quiet": True})
        deleted += len(doomed)
    return deleted


def package(stage: str, out: Path | None = None) -> Path:
    """``chalice package --pkg-format terraform``, plus the functions' log groups with their
    retention (which ``make deploy`` sets by API); report the deployment zip's size."""
    target = out or OUT / f"package-{stage}"
    precompile_app()
    subprocess.run(
        ["chalice", "package", "--pkg-format", "terraform", "--stage", stage, str(target)],
        cwd=PROJECT_DIR,
        check=True,
        env={
            "AWS_DEFAULT_REGION": "us-east-1",  # packaging needs a region, not an account
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        },
    )
    add_log_groups_to_terraform(target / "chalice.tf.json", stage, log_retention_days(stage))
    warm = warm_start_of(stage)
    if warm.through_alias:
        print(
            f"note: the Terraform output has no alias, so the camera function starts on demand, "
            f"not with {warm.describe()} (only make deploy applies it)",
            file=sys.stderr,
        )
    zipped = target / "deployment.zip"
    print(f"{zipped}: {zipped.stat().st_size / 1e6:.2f} MB")
    return zipped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.deploy", description=__doc__)
    parser.add_argument("command", choices=["deploy", "destroy", "package", "layer"])
    parser.add_argument("stage", nargs="?", default="prod")
    parser.add_argument(
        "--with-dlib", action="store_true", help="the layer keeps dlib (a gallery still has its faces)"
    )
    args = parser.parse_args(argv)
    if args.command == "deploy":
        deploy(args.stage, with_dlib=args.with_dlib)
    elif args.command == "destroy":
        destroy(args.stage)
    elif args.command == "package":
        package(args.stage)
    else:
        from infra.layer import build_layer

        zipped, unzipped = build_layer(OUT / "layer-local-engine.zip", with_dlib=args.with_dlib)
        print(f"{zipped}: {zipped.stat().st_size / 1e6:.1f} MB zipped, {unzipped / 1e6:.1f} MB unzipped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
