"""The sandbox's Lambda Invoke endpoint through a real boto3 client: the answers botocore's
``lambda`` model expects, for a handler that works, one that raises, and requests Lambda refuses."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sandbox.lambda_invoke import LambdaEndpoint
from sandbox.stack import FUNCTION_ARN_PREFIX, Stack
from tests.dead_letters import s3_event
from tests.e2e.test_fault_matrix import all_scans

CAMERA = "facegate-sandbox-on_camera_upload"


@pytest.fixture
def functions(stack: Stack) -> Iterator[LambdaEndpoint]:
    endpoint = LambdaEndpoint(stack.settings.stage)
    yield endpoint
    endpoint.stop()


@pytest.fixture
def client(functions: LambdaEndpoint) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "lambda",
        endpoint_url=functions.url,
        region_name="us-east-1",
        aws_access_key_id="sandbox",
        aws_secret_access_key="sandbox",
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )


def _code(call: Any, **params: Any) -> str:
    with pytest.raises(ClientError) as raised:
        call(**params)
    return str(raised.value.response["Error"]["Code"])


@pytest.mark.parametrize(
    "name", [CAMERA, f"{FUNCTION_ARN_PREFIX}{CAMERA}", f"123456789012:function:{CAMERA}:$LATEST"]
)
def test_the_real_handler_runs_for_any_form_of_its_name(
    stack: Stack, functions: LambdaEndpoint, client: Any, photos: Path, name: str
) -> None:
    event = s3_event(stack, "front-door", "hall.png", (photos / "coffee.png").read_bytes())

    answer = client.invoke(FunctionName=name, Payload=json.dumps(event).encode())

    assert (answer["StatusCode"], answer.get("FunctionError"), answer["ExecutedVersion"]) == (
        200,
        None,
        "$LATEST",
    )
    assert json.loads(answer["Payload"].read()) is None  # the handler returns nothing
    [scan] = all_scans(stack)
    assert scan.status.value == "NO_FACE" and functions.invocations == ["on_camera_upload"]


def test_a_handler_that_raises_is_a_function_error_with_its_type_and_message(
    functions: LambdaEndpoint, client: Any
) -> None:
    answer = client.invoke(FunctionName=CAMERA, Payload=b'{"Records": [{"eventName": "ObjectCreated:Put"}]}')
    assert (answer["StatusCode"], answer["FunctionError"]) == (200, "Unhandled")
    failure = json.loads(answer["Payload"].read())
    assert failure["errorType"] == "KeyError" and failure["errorMessage"] == "'s3'" and failure["stackTrace"]


def test_a_dry_run_checks_the_name_and_runs_nothing(functions: LambdaEndpoint, client: Any) -> None:
    assert client.invoke(FunctionName=CAMERA, InvocationType="DryRun")["StatusCode"] == 204
    assert functions.invocations == []


def test_what_lambda_refuses_is_refused_as_lambda_does(functions: LambdaEndpoint, client: Any) -> None:
    for name in (
        "facegate-sandbox-erasure_worker",
        "facegate-prod-on_camera_upload",
        f"{CAMERA}:7",
        "x/../y",
    ):
        assert _code(client.invoke, FunctionName=name, Payload=b"{}") == "ResourceNotFoundException", name
    assert (
        _code(client.invoke, FunctionName=CAMERA, Qualifier="live", Payload=b"{}")
        == "ResourceNotFoundException"
    )
    assert _code(client.invoke, FunctionName=CAMERA, Payload=b"{not json") == "InvalidRequestContentException"
    assert (
        _code(client.invoke, FunctionName=CAMERA, InvocationType="Event") == "InvalidParameterValueException"
    )
    too_big = b'"' + b"x" * (6 * 1024 * 1024) + b'"'
    assert _code(client.invoke, FunctionName=CAMERA, Payload=too_big) == "RequestTooLargeException"
    assert functions.invocations == []


def test_a_request_without_a_readable_length_is_refused(functions: LambdaEndpoint) -> None:
    request = urllib.request.Request(
        f"{functions.url}/2015-03-31/functions/{CAMERA}/invocations",
        data=b"{}",
        method="POST",
        headers={"Content-Length": "-1"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert (
        refused.value.code == 400
        and refused.value.headers["x-amzn-ErrorType"] == "InvalidRequestContentException"
    )
