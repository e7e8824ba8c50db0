"""How long each function's CloudWatch logs are kept: no longer than the scans they describe.

Logs carry scan ids, camera ids and object keys, so every function's log group expires
after the stage's ``FACEGATE_RETENTION_DAYS`` (rounded down to a value CloudWatch accepts).
``make deploy`` sets it by API after ``chalice deploy``, creating a group a function has not
written yet; ``make package`` adds the same groups to the Terraform configuration.

Not Chalice's ``log_retention_in_days``: ``chalice package`` raises ``UnsupportedFeatureError``
on it (aws/chalice#2079), and ``chalice deploy`` gives the API's handler a log group named
``/aws/lambda/<app>-<stage>-api_handler``, while that function is ``<app>-<stage>`` and
writes elsewhere.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

from infra.stage import CHALICE_CONFIG, lambda_function_name, stage_variables

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient

# What PutRetentionPolicy's retentionInDays accepts.
CLOUDWATCH_RETENTIONS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192)
DEFAULT_RETENTION_DAYS = 30  # chalicelib.core.config's default for FACEGATE_RETENTION_DAYS


def log_retention_days(stage: str, config_path: Path = CHALICE_CONFIG) -> int:
    """The longest retention CloudWatch accepts that is not longer than the stage's records'."""
    variables = stage_variables(stage, config_path)
    records = int(variables.get("FACEGATE_RETENTION_DAYS", DEFAULT_RETENTION_DAYS))
    return max((days for days in CLOUDWATCH_RETENTIONS if days <= records), default=1)


def function_log_groups(stage: str, config_path: Path = CHALICE_CONFIG) -> dict[str, str]:
    """Each function of the stage (``.chalice/config.json``) → the log group Lambda writes it to."""
    functions = json.loads(config_path.read_text())["stages"][stage].get("lambda_functions", {})
    return {function: f"/aws/lambda/{lambda_function_name(stage, function)}" for function in functions}


def set_log_retention(logs: CloudWatchLogsClient, stage: str, days: int) -> list[str]:
    """Give every function's log group ``days`` of retention, creating the groups not there yet."""
    groups = sorted(function_log_groups(stage).values())
    for group in groups:
        with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
            logs.create_log_group(logGroupName=group)  # unless the function has written logs already
        logs.put_retention_policy(logGroupName=group, retentionInDays=days)
    return groups


def add_log_groups_to_terraform(terraform_path: Path, stage: str, days: int) -> None:
    """The same log groups in ``chalice package``'s Terraform configuration."""
    terraform = json.loads(terraform_path.read_text())
    groups = terraform["resource"].setdefault("aws_cloudwatch_log_group", {})
    for function, group in function_log_groups(stage).items():
        groups[f"{function}_logs"] = {"name": group, "retention_in_days": days}
    terraform_path.write_text(json.dumps(terraform, indent=2) + "\n")
