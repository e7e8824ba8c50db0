"""The failed-scans queue for the replay tests: real S3 events, Lambda's destination records,
the sandbox's Lambda Invoke endpoint and a state file that leads ``facegate dlq`` to them."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

from sandbox.lambda_invoke import LambdaEndpoint
from sandbox.moto_internals import MotoState
from sandbox.stack import FUNCTION_ARN_PREFIX, Stack


@contextmanager
def replayable(stack: Stack, state_file: Path) -> Iterator[LambdaEndpoint]:
    """The stack's functions behind Lambda's Invoke API, and the state file ``sandbox up`` writes."""
    from sandbox.api_server import LocalApi
    from sandbox.serve import write_state

    api = LocalApi(port=0, quiet=True)
    functions = LambdaEndpoint(stack.settings.stage)
    write_state(stack, api, state_file, functions.url)
    try:
        yield functions
    finally:
        functions.stop()
        api.stop()


def facegate(*args: str) -> tuple[int, str, str]:
    """``facegate *args`` in this process: (exit code, stdout, stderr)."""
    from facegate_cli.__main__ import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def queue_url(stack: Stack) -> str:
    return str(stack.sqs.get_queue_url(QueueName=f"facegate-{stack.settings.stage}-failed-scans")["QueueUrl"])


def queue_depth(stack: Stack) -> tuple[int, int]:
    """(visible, in flight) messages of the failed-scans queue, as SQS counts them."""
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    found = stack.sqs.get_queue_attributes(QueueUrl=queue_url(stack), AttributeNames=names)  # type: ignore[arg-type]
    return int(found["Attributes"][names[0]]), int(found["Attributes"][names[1]])  # type: ignore[index]


def peek(stack: Stack) -> list[dict[str, Any]]:
    """The queue's records, left visible (``Stack.dead_letters`` hides them for 30 s)."""
    messages = stack.sqs.receive_message(
        QueueUrl=queue_url(stack), MaxNumberOfMessages=10, VisibilityTimeout=0
    ).get("Messages", [])
    return [json.loads(message["Body"]) for message in messages]


def s3_event(stack: Stack, camera_id: str, name: str, data: bytes) -> dict[str, Any]:
    """Upload as a camera and take S3's real event for it off the uploads queue (unhandled)."""
    key = stack.upload(camera_id, name, data)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for message in stack.sqs.receive_message(
            QueueUrl=stack.names["uploads_queue"], MaxNumberOfMessages=10, WaitTimeSeconds=1
        ).get("Messages", []):
            stack.sqs.delete_message(
                QueueUrl=stack.names["uploads_queue"], ReceiptHandle=message["ReceiptHandle"]
            )
            event = json.loads(message["Body"])
            if (
                unquote_plus(event.get("Records", [{}])[0].get("s3", {}).get("object", {}).get("key", ""))
                == key
            ):
                return dict(event)
    raise AssertionError(f"no S3 event for {key}")


def destination_record(
    event: dict[str, Any],
    function: str = "on_camera_upload",
    *,
    stage: str = "sandbox",
    arn: str | None = None,
) -> dict[str, Any]:
    """Lambda's on-failure destination record for ``event`` (the shape ``Stack._dead_letter`` sends)."""
    return {
        "version": "1.0",
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        "requestContext": {
            "requestId": "c0ffee00-0000-4000-8000-000000000000",
            "functionArn": arn or f"{FUNCTION_ARN_PREFIX}facegate-{stage}-{function}:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3,
        },
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorType": "ScanNotRecorded", "errorMessage": "scan could not be recorded"},
    }


def send(stack: Stack, body: object) -> str:
    """Put a message on the failed-scans queue (a dict as JSON, a string as it is); its id."""
    text = body if isinstance(body, str) else json.dumps(body)
    return str(stack.sqs.send_message(QueueUrl=queue_url(stack), MessageBody=text)["MessageId"])


def stored_seconds_ago(stack: Stack, key: str, seconds: float) -> None:
    """Back-date the ``LastModified`` the local S3 answers for every version of ``key`` (moto
    runs in this process); the clock a forged event time cannot move."""
    from datetime import UTC, datetime, timedelta

    bucket = MotoState().s3.buckets[stack.settings.camera_bucket]
    moment = (datetime.now(UTC) - timedelta(seconds=seconds)).replace(tzinfo=None)  # moto's naive UTC
    for version in bucket.keys.getlist(key):
        version.last_modified = moment
