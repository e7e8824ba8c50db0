"""One stage's CloudFormation stack: create or update it, and map its outputs to settings.

Used by ``make deploy`` against AWS and by the sandbox against moto, so both build from
the same template.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

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
    "DoorQueueUrl": "FACEGATE_DOOR_QUEUE_URL",
    "ErasureQueue": "FACEGATE_ERASURE_QUEUE",
}


def stage_variables(stage: str, config_path: Path = CHALICE_CONFIG) -> dict[str, str]:
    """A stage's environment as Chalice sets it: the global variables, then the stage's."""
    config = json.loads(config_path.read_text())
    if stage not in config["stages"]:
        raise KeyError(f"no stage {stage!r} in {config_path}")
    variables = dict(config.get("environment_variables", {}))
    variables.update(config["stages"][stage].get("environment_variables", {}))
    return variables


def stack_name(stage: str) -> str:
    return f"facegate-{stage}"


def deploy_stack(
    cloudformation: CloudFormationClient,
    stage: str,
    *,
    sandbox: bool = False,
    retention_days: int = 30,
    report_sender: str = "",
) -> dict[str, str]:
    """Create the stage's stack, or update it when it exists; wait; return its outputs."""
    from botocore.exceptions import ClientError

    name = stack_name(stage)
    body = TEMPLATE.read_text()
    parameters: list[ParameterTypeDef] = [
        {"ParameterKey": "Stage", "ParameterValue": stage},
        {"ParameterKey": "RetentionDays", "ParameterValue": str(retention_days)},
        {"ParameterKey": "ReportSender", "ParameterValue": report_sender},
        {"ParameterKey": "Sandbox", "ParameterValue": "true" if sandbox else "false"},
    ]
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


def _exists(cloudformation: CloudFormationClient, name: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        stacks = cloudformation.describe_stacks(StackName=name)["Stacks"]
    except ClientError:
        return False
    return any(stack["StackStatus"] != "DELETE_COMPLETE" for stack in stacks)
