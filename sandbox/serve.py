"""``python -m sandbox up`` and ``python -m sandbox token``: the offline stack as a service,
with the front door's reference controller reading its queue."""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

from chalicelib.core.keys import camera_key
from sandbox.stack import LOCAL_CREDENTIALS, PROJECT_DIR, SandboxError, Stack, running_stack

if TYPE_CHECKING:
    from botocore.client import BaseClient
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient
    from mypy_boto3_s3 import S3Client

    from sandbox.api_server import LocalApi

STATE_FILE = Path(os.environ.get("FACEGATE_SANDBOX_STATE", PROJECT_DIR / ".cache" / "sandbox.json"))


def write_state(
    stack: Stack, api: LocalApi, state_file: Path, lambda_endpoint: str | None = None
) -> dict[str, Any]:
    """Where the running sandbox is, for ``sandbox token`` and the CLI in another process."""
    state = {
        "stage": stack.settings.stage,
        "api_url": api.url,
        "aws_endpoint": stack.aws.endpoint,
        "bucket": stack.settings.camera_bucket,
        "user_pool_id": stack.names["user_pool_id"],
        "user_pool_client_id": stack.names["user_pool_client_id"],
    }
    if stack.rekognition is not None:
        state["rekognition_endpoint"] = stack.rekognition.url
    if lambda_endpoint is not None:  # Lambda's Invoke for `facegate dlq replay`
        state["lambda_endpoint"] = lambda_endpoint
    state_file.parent.mkdir(parents=True, exist_ok=True)
    state_file.write_text(json.dumps(state, indent=2))
    return state


def serve(port: int, state_file: Path = STATE_FILE) -> None:
    """Run local AWS, the event pump, the front door's controller and the API until interrupted."""
    from sandbox.api_server import LocalApi
    from sandbox.door import run_door
    from sandbox.lambda_invoke import LambdaEndpoint

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with running_stack() as stack:
        api = LocalApi(port)
        functions = LambdaEndpoint(stack.settings.stage)
        pump = threading.Thread(target=stack.pump_until, args=(stop,), daemon=True)
        pump.start()
        # Its clients are made here: threads must not create clients from one session at once.
        _, read_door_queue = run_door(stack, "front-door", _print_unlock)
        door = threading.Thread(target=_door_until, args=(read_door_queue, stop), daemon=True)
        door.start()
        state = write_state(stack, api, state_file, functions.url)
        print(_instructions(state, _admin_password(stack)), flush=True)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            stop.set()
        finally:
            state_file.unlink(missing_ok=True)
            pump.join(timeout=5)
            door.join(timeout=5)
            functions.stop()
            api.stop()
    print("sandbox stopped")


def _door_until(read_queue: Callable[[], list[Any]], stop: threading.Event) -> None:
    while not stop.wait(1.0):
        for verdict in read_queue():
            if not verdict.unlocked:
                print(f"door stays shut: {verdict.reason}", flush=True)


def _print_unlock(unlock: Any) -> None:
    print(f"door unlocks for {unlock.employee_id} at {unlock.camera_id}", flush=True)


def token(group: str, state_file: Path = STATE_FILE) -> str:
    """A bearer token the running sandbox accepts, for a user of ``group``."""
    from sandbox.tokens import issue_token

    state, client = _running(state_file, "cognito-idp")
    return issue_token(client, state["user_pool_id"], state["user_pool_client_id"], group)


def upload(photo: Path, camera_id: str, state_file: Path = STATE_FILE) -> str:
    """Put a photo in the running sandbox's bucket as camera ``camera_id``; return its key."""
    state, s3 = _running(state_file, "s3")
    key = camera_key(camera_id, photo.name)
    s3.put_object(Bucket=state["bucket"], Key=key, Body=photo.read_bytes())
    return key


@overload
def _running(
    state_file: Path, service: Literal["cognito-idp"]
) -> tuple[dict[str, Any], CognitoIdentityProviderClient]: ...
@overload
def _running(state_file: Path, service: Literal["s3"]) -> tuple[dict[str, Any], S3Client]: ...
def _running(state_file: Path, service: Literal["cognito-idp", "s3"]) -> tuple[dict[str, Any], BaseClient]:
    import boto3

    if not state_file.exists():
        raise SandboxError("no sandbox is running: start one with `python -m sandbox up`")
    state: dict[str, Any] = json.loads(state_file.read_text())
    client = boto3.client(
        service,
        endpoint_url=state["aws_endpoint"],
        region_name=LOCAL_CREDENTIALS["AWS_DEFAULT_REGION"],
        aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
    return state, client


ADMIN = "admin"  # the admin CLI's user in the sandbox's throwaway pool


def _admin_password(stack: Stack) -> str:
    """A new random password for the sandbox's ``admin`` (group admins), to print once."""
    from sandbox.tokens import create_user

    return create_user(stack.cognito, stack.names["user_pool_id"], ADMIN, "admins")


def _instructions(state: dict[str, Any], admin_password: str) -> str:
    url = state["api_url"]
    rekognition = state.get("rekognition_endpoint")
    engine = (
        f"\n  Rekognition: {rekognition}   (local endpoint: the bundled model's scores, not AWS's)"
        if rekognition
        else ""
    )
    return f"""facegate sandbox is up.
  API:        {url}   (try: curl {url}/health)
  local AWS:  {state["aws_endpoint"]}   (moto; bucket {state["bucket"]}){engine}
  admin CLI:  .venv/bin/facegate login --username {ADMIN}   (password: {admin_password})
              then: .venv/bin/facegate employees list   (see .venv/bin/facegate --help)
  tokens:     TOKEN=$(.venv/bin/python -m sandbox token --group admins | tail -n 1)
              then: curl -H "Authorization: Bearer $TOKEN" {url}/employees
  camera:     .venv/bin/python -m sandbox upload photo.jpg --camera front-door
  door:       the front-door controller runs here and prints what it does
  failed:     .venv/bin/facegate dlq replay --dry-run   (events that failed every attempt; then without it)
Stop with Ctrl-C."""
