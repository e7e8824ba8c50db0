"""One stage's CloudFormation stack: create or update it, and map its outputs to settings.

Used by ``make deploy`` against AWS and by the sandbox against moto, so both build from
the same template.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_cloudformation.type_defs import ParameterTypeDef, TagTypeDef

TEMPLATE = Path(__file__).resolve().parent / "template.yaml"
CHALICE_CONFIG = Path(__file__).resolve().parent.parent / ".chalice" / "config.json"

# Stack output → the environment variable the app reads.
OUTPUT_ENV = {
    "CameraBucket": "FACEGATE_CAMERA_BUCKET",
    "ScansTable": "FACEGATE_SCANS_TABLE",
    "EmployeesTable": "FACEGATE_EMPLOYEES_TABLE",
    "FacesTable": "FACEGATE_FACES_TABLE",
    "AuditTable": "FACEGATE_AUDIT_TABLE",
    "AccessTable": "FACEGATE_ACCESS_TABLE",
    "TopicArn": "FACEGATE_TOPIC_ARN",
    "AdminTopicArn": "FACEGATE_ADMIN_TOPIC_ARN",
    "CollectionId": "FACEGATE_COLLECTION_ID",
    "UserPoolId": "FACEGATE_USER_POOL_ID",
    "UserPoolClientId": "FACEGATE_USER_POOL_CLIENT_ID",
    "UserPoolArn": "FACEGATE_USER_POOL_ARN",
    "FailedScansQueueArn": "FACEGATE_FAILED_SCANS_QUEUE_ARN",
    "SigningKey": "FACEGATE_SIGNING_KEY",
    "CommandKey": "FACEGATE_COMMAND_KEY",
    "ErasureQueue": "FACEGATE_ERASURE_QUEUE",
    "HealthQueue": "FACEGATE_HEALTH_QUEUE",
}
# Outputs for operators, not settings of the app: where the alarms go.
OPERATOR_OUTPUTS = ("OpsTopicArn",)
CHALICE_DEFAULT_TIMEOUT = 60  # chalice.constants.DEFAULT_LAMBDA_TIMEOUT, when config.json names none


def stage_variables(stage: str, config_path: Path = CHALICE_CONFIG) -> dict[str, str]:
    """A stage's environment as Chalice sets it: the global variables, then the stage's."""
    config = json.loads(config_path.read_text())
    if stage not in config["stages"]:
        raise KeyError(f"no stage {stage!r} in {config_path}")
    return variables_of(config, stage)


def variables_of(config: dict[str, Any], stage: str) -> dict[str, str]:
    """The environment ``config`` (``.chalice/config.json``'s content) gives ``stage``."""
    variables = {str(k): str(v) for k, v in config.get("environment_variables", {}).items()}
    own = config.get("stages", {}).get(stage, {}).get("environment_variables", {})
    variables.update({str(k): str(v) for k, v in own.items()})
    return variables


def stack_name(stage: str) -> str:
    return f"facegate-{stage}"


def lambda_function_name(stage: str, function: str) -> str:
    """The deployed name of a function of ``.chalice/config.json``, as Chalice names it: the
    API's handler is ``<app>-<stage>`` (chalice/deploy/appgraph.py), the others get their name."""
    return f"facegate-{stage}" if function == "api_handler" else f"facegate-{stage}-{function}"


def function_timeout(stage: str, function: str, config_path: Path = CHALICE_CONFIG) -> int:
    """A function's timeout in seconds, looked up as Chalice does (function, stage, global)."""
    from chalice.config import Config

    config = Config(
        chalice_stage=stage, function_name=function, config_from_disk=_chalice_config(config_path)
    )
    timeout = config.lambda_timeout
    return CHALICE_DEFAULT_TIMEOUT if timeout is None else int(timeout)


def deploy_stack(
    cloudformation: CloudFormationClient,
    stage: str,
    *,
    sandbox: bool = False,
    retention_days: int = 30,
    report_sender: str = "",
    engine: str | None = None,
    ops_email: str | None = None,
) -> dict[str, str]:
    """Create the stage's stack, or update it when it exists; wait; return its outputs.

    ``engine`` defaults to the stage's ``FACEGATE_ENGINE``; the camera function's timeout
    comes from ``.chalice/config.json``. ``ops_email`` None keeps the address the stack has.
    """
    from botocore.exceptions import ClientError

    name = stack_name(stage)
    body = TEMPLATE.read_text()
    parameters: list[ParameterTypeDef] = [
        {"ParameterKey": "Stage", "ParameterValue": stage},
        {"ParameterKey": "RetentionDays", "ParameterValue": str(retention_days)},
        {"ParameterKey": "ReportSender", "ParameterValue": report_sender},
        {"ParameterKey": "Sandbox", "ParameterValue": "true" if sandbox else "false"},
        {
            "ParameterKey": "Engine",
            "ParameterValue": engine or stage_variables(stage).get("FACEGATE_ENGINE", "local"),
        },
        {
            "ParameterKey": "CameraTimeoutSeconds",
            "ParameterValue": str(function_timeout(stage, "on_camera_upload")),
        },
    ]
    parameters.append(_ops_email(cloudformation, name, ops_email))
    tags: list[TagTypeDef] = [{"Key": "app", "Value": "facegate"}, {"Key": "stage", "Value": stage}]
    if _exists(cloudformation, name):
        try:
            cloudformation.update_stack(StackName=name, TemplateBody=body, Parameters=parameters, Tags=tags)
        except ClientError as error:
            if "No updates are to be performed" not in str(error):
                raise
        else:
            cloudformation.get_waiter("stack_update_complete").wait(StackName=name)
    else:
        cloudformation.create_stack(StackName=name, TemplateBody=body, Parameters=parameters, Tags=tags)
        cloudformation.get_waiter("stack_create_complete").wait(StackName=name)
    return outputs(cloudformation, name)


def outputs(cloudformation: CloudFormationClient, name: str) -> dict[str, str]:
    stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}


def environment(stack_outputs: dict[str, str]) -> dict[str, str]:
    """The ``FACEGATE_*`` variables the outputs set."""
    return {OUTPUT_ENV[key]: value for key, value in stack_outputs.items() if key in OUTPUT_ENV}


def _ops_email(cloudformation: CloudFormationClient, name: str, ops_email: str | None) -> ParameterTypeDef:
    """The alarm address given, else the one the stack has (an update must not unsubscribe)."""
    if ops_email is None and "OpsEmail" in _parameters(cloudformation, name):
        return {"ParameterKey": "OpsEmail", "UsePreviousValue": True}
    return {"ParameterKey": "OpsEmail", "ParameterValue": ops_email or ""}


def _parameters(cloudformation: CloudFormationClient, name: str) -> set[str]:
    if not _exists(cloudformation, name):
        return set()
    stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    return {parameter["ParameterKey"] for parameter in stack.get("Parameters", [])}


def _chalice_config(config_path: Path) -> dict[str, object]:
    loaded: dict[str, object] = json.loads(config_path.read_text())
    return loaded


def _exists(cloudformation: CloudFormationClient, name: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        stacks = cloudformation.describe_stacks(StackName=name)["Stacks"]
    except ClientError:
        return False
    return any(stack["StackStatus"] != "DELETE_COMPLETE" for stack in stacks)
