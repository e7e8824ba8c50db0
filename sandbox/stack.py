"""The offline stack: moto's server as local AWS, the stage's resources, and an event pump.

S3 notifies an SQS queue; the pump reads it and invokes the real ``on_camera_upload``
handler (``on_enrollment_upload`` for the drop folder's keys, ``on_door_event`` for door agents'
events) with the real event body, as
Lambda's S3 triggers would; ``run_erasures`` does
the same for the erasure queue and ``erasure_worker`` (``sandbox/erasures.py``), and
``run_health_jobs`` for the gallery health queue and ``gallery_health_worker``.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from chalicelib import wiring
from chalicelib.core.config import Settings
from chalicelib.core.keys import DOOR_EVENTS_PREFIX, ENROLL_PREFIX, camera_key, enroll_key
from infra.stage import stage_variables
from sandbox.handled import HandledEvent
from sandbox.moto_internals import fix_local_aws
from sandbox.resources import complete_sandbox, deploy_template, ensure_collection

if TYPE_CHECKING:
    from sandbox.rekognition import RekognitionEndpoint

PROJECT_DIR = Path(__file__).resolve().parent.parent
LOCAL_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "sandbox",
    "AWS_SECRET_ACCESS_KEY": "sandbox",
    "AWS_SESSION_TOKEN": "sandbox",
    "AWS_DEFAULT_REGION": "us-east-1",
}
log = logging.getLogger(__name__)


def stage_environment(stage: str, overrides: Mapping[str, str]) -> dict[str, str]:
    """The stage's variables from ``.chalice/config.json``; ``FACEGATE_*`` in overrides win."""
    env = stage_variables(stage)
    env.update({k: v for k, v in overrides.items() if k.startswith("FACEGATE_")})
    return env


class SandboxError(RuntimeError):
    """The sandbox cannot start as configured; the message says what to change."""


# How long a request to a server of our own may wait on a busy machine before we give up.
PATIENCE_SECONDS = 300.0


def post_patiently(url: str, patience: float = PATIENCE_SECONDS, attempt_seconds: float = 30.0) -> None:
    """POST to a local server of our own, waiting for it up to ``patience`` seconds in all.

    On a busy machine the server (often a thread of this very process) may not answer for a
    while: one slow or refused attempt is retried, with a warning saying how long it has been;
    only a server silent for ``patience`` is an error, and its message says so.
    """
    started = time.monotonic()
    while True:
        remaining = patience - (time.monotonic() - started)
        try:
            request = urllib.request.Request(url, method="POST")
            urllib.request.urlopen(request, timeout=max(0.1, min(attempt_seconds, remaining))).close()
            return
        except urllib.error.HTTPError:
            raise  # it answered: what it said is not a matter of waiting
        except (TimeoutError, urllib.error.URLError, ConnectionError) as error:
            waited = time.monotonic() - started
            if waited >= patience:
                raise SandboxError(
                    f"{url} did not answer within {patience:.0f} s ({error}): is the machine overloaded?"
                ) from error
            log.warning(
                "%s is slow to answer (%.1f s so far: %s); waiting up to %.0f s", url, waited, error, patience
            )
            time.sleep(min(0.5, attempt_seconds))


class LocalAws:
    """moto's server on a free loopback port, shared by everything in this process."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        fix_local_aws()
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        self.resets = 0  # a stack built before the latest reset is gone
        # moto's resources live in the process, not the server: a second local AWS in one
        # process (make bench runs several stacks) would find the first one's and fail.
        self.reset()

    def reset(self) -> None:
        """Forget every resource (between tests and stacks)."""
        post_patiently(f"{self.endpoint}/moto-api/reset")
        self.resets += 1

    def stop(self) -> None:
        self._server.stop()

    def environment(self) -> dict[str, str]:
        return {**LOCAL_CREDENTIALS, "AWS_ENDPOINT_URL": self.endpoint}


@contextmanager
def patched_environ(values: Mapping[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


ASYNC_RETRIES = 2  # Lambda retries a failed asynchronous (S3) invocation twice
FUNCTION_ARN_PREFIX = "arn:aws:lambda:us-east-1:123456789012:function:"


class Stack:
    """A stage's resources in local AWS, with helpers to upload and to pump events.

    Building one sets the process's ``FACEGATE_*`` variables to the stack's resources.
    """

    def __init__(
        self, aws: LocalAws, stage: str = "sandbox", rekognition: RekognitionEndpoint | None = None
    ) -> None:
        import boto3

        self.aws = aws
        self.rekognition = rekognition  # the local Rekognition endpoint the sandbox started, if any
        self.session = boto3.session.Session()
        os.environ.update(deploy_template(self.session, stage))
        self.settings = Settings.from_env()
        self.names = complete_sandbox(self.settings, self.session)
        if self.settings.engine == "rekognition":
            ensure_collection(self.settings, self.session)
        # The API verifies tokens against this pool's keys, served by local AWS.
        pool_id = self.names["user_pool_id"]
        os.environ.update(
            {
                "FACEGATE_USER_POOL_ID": pool_id,
                "FACEGATE_USER_POOL_CLIENT_ID": self.names["user_pool_client_id"],
                "FACEGATE_JWKS_URL": f"{aws.endpoint}/{pool_id}/.well-known/jwks.json",
            }
        )
        self.settings = Settings.from_env()
        self.dynamodb = self.session.client("dynamodb")
        self.s3 = self.session.client("s3")
        self.sqs = self.session.client("sqs")
        self.cognito = self.session.client("cognito-idp")

    def token(self, group: str, username: str | None = None) -> str:
        """A bearer token for a user of ``group`` (admins or security)."""
        from sandbox.tokens import issue_token

        pool = self.names
        return issue_token(self.cognito, pool["user_pool_id"], pool["user_pool_client_id"], group, username)

    def upload(self, camera_id: str, name: str, data: bytes) -> str:
        """PUT a photo as camera ``camera_id`` would; return its key."""
        key = camera_key(camera_id, name)
        self.s3.put_object(Bucket=self.settings.camera_bucket, Key=key, Body=data)
        return key

    def drop(
        self, employee_id: str, file_name: str, data: bytes, *, consent: bool = True, **metadata: str
    ) -> str:
        """PUT a photo into the drop folder as an HR system would (metadata: name, email…),
        with the employee's consent (a paper form) unless ``consent=False``."""
        key = enroll_key(employee_id, file_name)
        if consent:
            metadata = {"consent-method": "paper", "consent-reference": f"hr-{employee_id}", **metadata}
        self.s3.put_object(Bucket=self.settings.camera_bucket, Key=key, Body=data, Metadata=metadata)
        return key

    def pump(self, expected: int, timeout: float = 300.0, workers: int = 1) -> list[HandledEvent]:
        """Deliver queued S3 events to the handler until ``expected`` were handled.

        ``workers`` > 1 handles a batch's events concurrently, as concurrent Lambda
        invocations would.
        """
        import app

        handled: list[HandledEvent] = []
        deadline = time.monotonic() + timeout
        with ThreadPoolExecutor(max_workers=workers) as pool:
            while len(handled) < expected and time.monotonic() < deadline:
                messages = self.sqs.receive_message(
                    QueueUrl=self.names["uploads_queue"], MaxNumberOfMessages=10, WaitTimeSeconds=1
                ).get("Messages", [])
                events = [json.loads(message["Body"]) for message in messages]
                # not s3:TestEvent
                deliveries = [
                    pool.submit(self._deliver, app, event) for event in events if "Records" in event
                ]
                handled += [delivery.result() for delivery in deliveries]
                for message in messages:
                    self.sqs.delete_message(
                        QueueUrl=self.names["uploads_queue"], ReceiptHandle=message["ReceiptHandle"]
                    )
        return handled

    def _deliver(self, app: Any, event: dict[str, Any]) -> HandledEvent:
        """As Lambda does for S3 events: retry a failing invocation, then dead-letter it."""
        attempt = _invoke(app, event)
        while attempt.error is not None and attempt.attempts <= ASYNC_RETRIES:
            retry = _invoke(app, event)
            attempt = HandledEvent(retry.keys, retry.error, attempt.attempts + 1)
        if attempt.error is not None:
            self._dead_letter(event, attempt)
            attempt.dead_lettered = True
        return attempt

    def _dead_letter(self, event: dict[str, Any], attempt: HandledEvent) -> None:
        """The on-failure destination record Lambda sends after the last retry."""
        url = self._dead_letter_queue()
        error_type, _, message = (attempt.error or "").partition(": ")
        record = {
            "version": "1.0",
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            "requestContext": {
                "condition": "RetriesExhausted",
                "approximateInvokeCount": attempt.attempts,
                "functionArn": f"{FUNCTION_ARN_PREFIX}facegate-{self.settings.stage}-{handler_of(event)}",
            },
            "requestPayload": event,
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "responsePayload": {"errorType": error_type, "errorMessage": message},
        }
        self.sqs.send_message(QueueUrl=url, MessageBody=json.dumps(record))

    def _dead_letter_queue(self) -> str:
        """The template's failed-scans queue, Lambda's on-failure destination once deployed."""
        name = os.environ["FACEGATE_FAILED_SCANS_QUEUE_ARN"].rsplit(":", 1)[-1]
        return str(self.sqs.get_queue_url(QueueName=name)["QueueUrl"])

    def dead_letters(self) -> list[dict[str, Any]]:
        """The events that failed every attempt, as the dead-letter queue holds them."""
        url = self._dead_letter_queue()
        messages = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(message["Body"]) for message in messages]

    def pump_until(self, stop: threading.Event) -> None:
        """Deliver events as they come, until ``stop`` is set (``sandbox up``)."""
        while not stop.is_set():
            self.pump(expected=1, timeout=1.0)
            self.run_erasures(timeout=0.0)
            self.run_health_jobs(timeout=0.0)

    def run_erasures(self, timeout: float = 60.0) -> list[HandledEvent]:
        """Deliver the erasure queue's messages to ``erasure_worker`` until none is left,
        delayed or in flight, or ``timeout`` passes (see ``sandbox.erasures``)."""
        from sandbox.erasures import run_erasures

        return run_erasures(self.sqs, self.settings.erasure_queue, timeout)

    def run_health_jobs(self, timeout: float = 60.0) -> list[HandledEvent]:
        """Deliver the gallery health queue's messages to ``gallery_health_worker`` until none
        is left, or ``timeout`` passes (each run re-queues the rest of its job)."""
        from sandbox.erasures import run_erasures

        return run_erasures(self.sqs, self.settings.health_queue, timeout, "gallery_health_worker")

    def pending_events(self) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.names["uploads_queue"], AttributeNames=["ApproximateNumberOfMessages"]
        )
        return int(attributes["Attributes"]["ApproximateNumberOfMessages"])

    def admin_notifications(self) -> list[dict[str, Any]]:
        """Every message to the administrators' topic since the last call (plain text)."""
        received: list[dict[str, Any]] = []
        url = self.names["admin_observer_queue"]
        while messages := self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            for message in messages:
                envelope = json.loads(message["Body"])
                attributes = envelope.get("MessageAttributes", {})
                received.append(
                    {
                        "subject": envelope.get("Subject"),
                        "message": envelope["Message"],
                        "attributes": {name: value["Value"] for name, value in attributes.items()},
                    }
                )
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return received

    def notifications(self) -> list[dict[str, Any]]:
        """Every notification published since the last call, as the observer queue got them."""
        received: list[dict[str, Any]] = []
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=self.names["observer_queue"], MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not messages:
                return received
            for message in messages:
                envelope = json.loads(message["Body"])
                received.append(
                    {
                        "subject": envelope.get("Subject"),
                        "body": _machine_body(envelope["Message"]),
                        "attributes": {
                            name: value["Value"]
                            for name, value in envelope.get("MessageAttributes", {}).items()
                        },
                    }
                )
                self.sqs.delete_message(
                    QueueUrl=self.names["observer_queue"], ReceiptHandle=message["ReceiptHandle"]
                )


def _machine_body(message: str) -> dict[str, Any]:
    """A decision's JSON body; a door event's plain text as ``{"text": …}``."""
    try:
        body = json.loads(message)
    except ValueError:
        return {"text": message}
    return body if isinstance(body, dict) else {"text": message}


def handler_of(event: dict[str, Any]) -> str:
    """The function whose trigger matches the event's key (S3 sends one record per event)."""
    key = unquote_plus(event["Records"][0]["s3"]["object"]["key"])
    if key.startswith(DOOR_EVENTS_PREFIX):
        return "on_door_event"
    return "on_enrollment_upload" if key.startswith(ENROLL_PREFIX) else "on_camera_upload"


def _invoke(app: Any, event: dict[str, Any]) -> HandledEvent:
    keys = [record["s3"]["object"]["key"] for record in event["Records"]]
    try:
        getattr(app, handler_of(event))(event, None)  # the decorated handler, as Lambda calls it
    except Exception as error:  # Lambda would retry; the sandbox reports it
        log.exception("handler failed for %s", keys)
        return HandledEvent(keys, f"{type(error).__name__}: {error}")
    return HandledEvent(keys, None)


@contextmanager
def running_stack(stage: str = "sandbox", overrides: Mapping[str, str] | None = None) -> Iterator[Stack]:
    """Start local AWS, set the stage's environment and create its resources.

    With the Rekognition engine and no ``AWS_ENDPOINT_URL_REKOGNITION``, the local
    Rekognition endpoint (``sandbox.rekognition``, the bundled model behind Rekognition's
    API) is started too, and the stack and its handlers are pointed at it.
    """
    overrides = os.environ if overrides is None else overrides
    env = stage_environment(stage, overrides)
    with ExitStack() as running:
        rekognition = None
        if env.get("FACEGATE_ENGINE") == "rekognition" and not os.environ.get("AWS_ENDPOINT_URL_REKOGNITION"):
            rekognition = running.enter_context(local_rekognition())
            env["AWS_ENDPOINT_URL_REKOGNITION"] = rekognition.url
        aws = LocalAws()
        running.callback(aws.stop)
        env = {**aws.environment(), **env}
        with patched_environ(env):
            wiring.reset()
            yield Stack(aws, stage, rekognition)
            wiring.reset()


@contextmanager
def local_rekognition() -> Iterator[RekognitionEndpoint]:
    """The local Rekognition endpoint on a free loopback port, stopped on exit."""
    from sandbox.rekognition import RekognitionEndpoint

    endpoint = RekognitionEndpoint(port=0)
    try:
        yield endpoint
    finally:
        endpoint.stop()
