"""How Lambda runs the S3-triggered functions' events: retried, then dead-lettered.

A failure that may pass (throttling, a 5xx) is retried twice, then the event goes to the
failed-scans queue (the photo stays until then: it is unread). Lambda keeps this setting
per qualifier: the unqualified function (``$LATEST``, which Chalice's S3 trigger calls) and,
when the stage routes the camera through an alias (infra/warm_start.py), that alias too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_lambda.type_defs import DestinationConfigTypeDef

ASYNC_FUNCTIONS = ("on_camera_upload", "on_enrollment_upload", "on_door_event")
ASYNC_RETRIES = 2


def configure_async_invocations(
    lambda_client: LambdaClient,
    stage: str,
    queue_arn: str,
    functions: tuple[str, ...] = ASYNC_FUNCTIONS,
    qualifier: str | None = None,
) -> list[str]:
    """Give each S3-triggered function (at ``qualifier``, if any) its retries and on-failure destination."""
    names = [f"facegate-{stage}-{function}" for function in functions]
    for name in names:
        if qualifier is None:
            lambda_client.put_function_event_invoke_config(
                FunctionName=name,
                MaximumRetryAttempts=ASYNC_RETRIES,
                DestinationConfig=_destination(queue_arn),
            )
        else:
            lambda_client.put_function_event_invoke_config(
                FunctionName=name,
                Qualifier=qualifier,
                MaximumRetryAttempts=ASYNC_RETRIES,
                DestinationConfig=_destination(queue_arn),
            )
    return names


def _destination(queue_arn: str) -> DestinationConfigTypeDef:
    return {"OnFailure": {"Destination": queue_arn}}
